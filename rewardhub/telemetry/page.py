"""The dashboard's page: its HTML around :data:`rewardhub.telemetry.page_js.APP_JS`, with plotly.js
inlined from the installed ``plotly`` package (no CDN: the page works with no network), served
live by :mod:`rewardhub.telemetry.dashboard` or written with the run's data embedded by
:mod:`rewardhub.telemetry.report`. Tested in ``tests/test_dashboard.py``."""

from __future__ import annotations

import html
import json
from functools import lru_cache
from typing import Any

from rewardhub.telemetry.page_js import APP_JS

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:20px;
color:#222;line-height:1.45}h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin-top:30px;border-bottom:1px solid
#ddd;padding-bottom:4px}.muted{color:#666;font-size:13px}.live{color:#2ca02c;font-weight:600}.chart{min-height:290px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{padding:4px 8px;border-bottom:1px solid #eee;
text-align:right;vertical-align:top}th{background:#f6f6f6}td:first-child,th:first-child{text-align:left}
.sample{border:1px solid #e3e3e3;border-radius:6px;padding:6px 10px;margin:6px 0;background:#fafafa}pre{white-space:
pre-wrap;margin:2px 0;font-size:12px;max-width:700px}.value{font-weight:600}.better{color:#2ca02c;font-weight:600}
.worse{color:#d62728;font-weight:600}#spearman-warning{color:#d62728;font-weight:600}select{font-size:14px}
"""

BODY = """
<h1>rewardhub: <code>{name}</code></h1>
<p><span id="status" class="muted">loading…</span> · <b id="step-count">0</b> records · latest step
<b id="latest-step">–</b></p>
<table><thead><tr><th>step</th><th>time</th><th>samples</th><th>total (mean)</th><th>distinct-2</th>
<th>distinct-2 so far</th></tr></thead><tbody id="step-log"></tbody></table>
<h2>Rewards over steps</h2><div id="distributions"></div>
<h2>Distribution at <select id="hist-step"><option value="latest">latest (follow)</option></select></h2>
<p class="muted">Each reward's values at one step in 20 bins. Click a bar to list its samples.</p>
<div id="histograms"></div><div id="bin-samples"></div>
<h2>Diversity</h2>
<p class="muted">Corpus distinct-n of each step's completions, and of every completion so far (a HyperLogLog
estimate, about 0.8% standard error); self-BLEU within each group, averaged over groups (higher: the answers to
one prompt look alike).</p><div id="diversity"></div>
<h2>Reward against length</h2>
<p class="muted">A reward that rises with length can be raised by writing more: the first sign of reward
hacking.</p><p id="spearman-warning"></p><p id="spearman-none" class="muted"></p><div id="spearman"></div>
<h2>Missing values, groups without spread, degenerate completions</h2>
<p class="muted">A group in which a reward does not vary gives that reward no learning signal in GRPO; it is
counted per reward (a sum would hide it).</p><div id="shares"></div>
<h2>A GRPO group at <select id="group-step"><option value="latest">latest (follow)</option></select>
<select id="group-select"></select></h2>
<p class="muted">The answers to one prompt side by side, each reward, the weighted total and the advantage.</p>
<div id="group-view"></div>
"""


@lru_cache(maxsize=1)
def plotly_js() -> str:
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        from rewardhub.config import ConfigError

        raise ConfigError("the dashboard draws with plotly: pip install 'rewardhub[telemetry]'") from None
    return get_plotlyjs()


def script_json(data: Any) -> str:
    """``data`` as JSON that is safe inside a ``<script>`` element."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False).replace("</", "<\\/").replace("<!--", "<\\!--")


def render(name: str, data: Any = None) -> str:
    """The page for run ``name``; with ``data`` (``{"steps", "samples", "written"}``) it shows that
    and listens to nothing."""
    embedded = "" if data is None else f"<script>window.RH_DATA = {script_json(data)};</script>"
    title = html.escape(f"rewardhub: {name}")
    return (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"<link rel='icon' href='data:,'><style>{STYLE}</style><script>{plotly_js()}</script></head><body>"
        f"{BODY.format(name=html.escape(name))}{embedded}<script>{APP_JS}</script></body></html>\n"
    )

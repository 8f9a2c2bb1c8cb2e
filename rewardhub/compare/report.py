"""``rewardhub report``: one self-contained HTML page about scored files or a comparison.

The page carries everything inline: plotly.js (no CDN, so it opens with no network), the
figures' data, and the styles. What it shows, in order: what was compared and how it was
produced (provenance), the comparison table with intervals drawn, each reward's distribution
(per side), how rewards correlate with each other and with response length, the spread inside
groups (or the per-prompt differences when paired), and the highest and lowest samples per
reward with their text, HTML-escaped; for one file set, its corpus metrics as a table. Every
chart shows data or is left out with the reason (:mod:`rewardhub.compare.report_charts`).
Large runs stay responsive: histograms are binned and correlations computed before they reach
the page, scatter plots show a random sample of at most 2,000 points per side, and the page
says so. Tested in ``tests/test_report.py`` (in a real headless Chromium: every chart renders
with points, no console error).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rewardhub.compare import figures, report_charts
from rewardhub.compare.report_charts import e as _e
from rewardhub.compare.report_charts import figure_html
from rewardhub.compare.result import INTERVAL_METHOD, Comparison
from rewardhub.compare.sides import Side
from rewardhub.compare.table import ARROWS, exclusions, verdict

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:24px;
color:#222;line-height:1.45}
h1{font-size:26px;margin-bottom:4px}h2{font-size:20px;margin-top:36px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;font-size:14px;margin:8px 0}td,th{padding:4px 10px;border-bottom:1px solid #eee;
text-align:right;white-space:nowrap}th{background:#f6f6f6}td:first-child,th:first-child{text-align:left;white-space:normal}.better{color:#2ca02c;
font-weight:600}.worse{color:#d62728;font-weight:600}.muted{color:#666;font-size:13px}.sample{border:1px solid #e3e3e3;
border-radius:6px;padding:8px 12px;margin:8px 0;background:#fafafa}.sample pre{white-space:pre-wrap;margin:4px 0;
font-size:13px}.value{font-weight:600}code{background:#f2f2f2;padding:1px 4px;border-radius:3px}
"""


def write_report(
    output: str | Path,
    *,
    files: Sequence[str] = (),
    comparison: Comparison | None = None,
    top: int = 5,
    block: Sequence[str] = (),
    work_dir: str | Path | None = None,
    rewards: Sequence[Any] | str | None = None,
    metrics: Sequence[Any] | str | None = None,
    config: str | Path | None = None,
    tokenize: str | None = None,
    prompt_field: str | None = None,
    response_field: str | None = None,
    log: Any = None,
    by_group: bool = False,
) -> Path:
    """Write the report to ``output`` and return its path. With ``comparison`` (from
    :func:`rewardhub.compare.compare`) the page compares its two sides; otherwise it describes
    ``files`` (scored by ``eval``, or raw: scored first, as ``compare`` does) and computes their
    ``metrics`` (as ``eval`` resolves them: every installed one by default)."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        from rewardhub.config import ConfigError

        raise ConfigError("the report draws with plotly: pip install 'rewardhub[report]'") from None
    notes: list[str] = []
    metrics_html = ""
    if comparison is not None:
        sides = list(comparison.sides or ())
        keys = list(comparison.rewards)
    else:
        from rewardhub.compare.sides import load_side
        from rewardhub.evaluation import EvalOptions, resolve_config

        run = resolve_config(
            EvalOptions(rewards=rewards, metrics=metrics, config=config, tokenize=tokenize, block=block)
        ).run
        side, keys, notes = load_side(
            list(files),
            run,
            explicit_rewards=rewards is not None or config is not None,
            work_dir=work_dir,
            prompt_field=prompt_field,
            response_field=response_field,
            block=block,
            log=log,
        )
        sides = [side]
        metrics_html = _metrics_section(side, run, by_group)
    data = [report_charts.side_data(side, keys) for side in sides]
    paired = comparison is not None and comparison.paired
    sections = [_header(sides, comparison)]
    if comparison is not None:
        sections.append(_comparison_section(comparison))
    sections += [
        metrics_html,
        report_charts.distributions(data, keys),
        report_charts.correlations(data, keys),
        report_charts.spread(data, keys, paired),
        report_charts.extremes(data, keys, top),
        _provenance(sides, notes + (comparison.notes if comparison else [])),
    ]
    body = "\n".join(s for s in sections if s)
    title = "rewardhub report" + (f": {comparison.b.label} vs {comparison.a.label}" if comparison else "")
    page = (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style><script>{get_plotlyjs()}</script></head><body>\n{body}\n</body></html>\n"
    )
    path = Path(output)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path


# -- sections ----------------------------------------------------------------------------------


def _header(sides: Sequence[Side], comparison: Comparison | None) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if comparison is not None:
        c = comparison
        how = (
            f"Samples are <b>paired by prompt</b> ({c.pairs} prompts answered by both)"
            if c.paired
            else "The sides share too few prompts to pair them: they are compared as <b>independent samples</b>"
        )
        lead = (
            f"<p>Does <b>B</b> = <code>{_e(c.b.label)}</code> ({c.b.n} samples) differ from <b>A</b> = "
            f"<code>{_e(c.a.label)}</code> ({c.a.n} samples)? {how}. Each row below gives B - A with a "
            f"{c.confidence:.0%} interval (Student's t on a jackknife over {'prompts' if c.paired else 'samples'}); "
            "an interval that excludes 0 is a difference unlikely to be noise.</p>"
        )
    else:
        lead = (
            f"<p>{sum(len(s.rows) for s in sides)} samples from {', '.join(_e(f) for s in sides for f in s.files)}.</p>"
        )
    return (
        f"<h1>rewardhub report</h1><p class='muted'>generated {now}</p>{lead}"
        "<p class='muted'>A <i>reward</i> scores each sample; a <i>metric</i> (distinct-n, self-BLEU, ...) "
        "describes a whole set of samples. ↑ marks values where higher is better, ↓ lower is better, · no "
        "direction.</p>"
    )


def _comparison_section(c: Comparison) -> str:
    rows = []
    for kind, items in (("reward", c.rewards), ("metric", c.metrics)):
        for name, item in items.items():
            mark = verdict(item.delta, item.significant(), item.higher_is_better)
            cls = "better" if mark.endswith("better") else "worse" if mark.endswith("worse") else ""
            ci = f"[{_n(item.ci[0])}, {_n(item.ci[1])}]" if item.ci else "–"
            extra = (
                f"<td>{_p(item.p)}</td><td>{'–' if item.win_rate is None else f'{item.win_rate:.0%}'}</td>"
                if kind == "reward"
                else "<td></td><td></td>"
            )
            said = [item.note] if item.note else []
            if kind == "reward" and exclusions(item, c.paired):
                said.append(exclusions(item, c.paired))
            note = "".join(f"<br><span class='muted'>{_e(x)}</span>" for x in said)
            rows.append(
                f"<tr><td>{ARROWS[item.higher_is_better]} {_e(name)} <span class='muted'>{kind}</span>{note}</td>"
                f"<td>{_n(item.a)}</td><td>{_n(item.b)}</td><td class='{cls}'>{_n(item.delta, True)}"
                f"{' *' if mark else ''}</td><td>{ci}</td>{extra}<td class='{cls}'>{mark.lstrip('* ')}</td></tr>"
            )
    table = (
        "<table><tr><th></th><th>A</th><th>B</th><th>B - A</th><th>interval</th><th>p</th><th>B wins</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
    )
    explain = (
        f"<p class='muted'>Intervals: {_e(INTERVAL_METHOD)}. "
        f"p: {_e(c.p_value_method)}. B wins: share of {'prompts' if c.paired else 'A-B sample pairs'} where B's "
        "value is better (ties count half). * the interval excludes 0.</p>"
    )
    charts = []
    for title, items in (("Rewards: B - A", c.rewards), ("Metrics: B - A", c.metrics)):
        rows_ = [
            {
                "name": name,
                "delta": item.delta,
                "lo": item.ci[0] if item.ci else None,
                "hi": item.ci[1] if item.ci else None,
                "color": _color(item),
            }
            for name, item in items.items()
            if item.delta is not None
        ]
        if rows_:
            heading = f"{title} (dot) with its {c.confidence:.0%} interval (bar); each row on its own scale, 0 marked"
            charts.append(figure_html(figures.forest(heading, rows_)))
    return f"<h2>Did anything change?</h2>{table}{explain}{''.join(charts)}"


def _metrics_section(side: Side, run: Any, by_group: bool) -> str:
    """The corpus metrics of one file set, as a table (errors in it, with their reason)."""
    from rewardhub.metrics_runner import compute_metrics

    if not run.metrics:
        return ""
    result = compute_metrics(run.metrics, [r.sample for r in side.rows], by_group=by_group, tokenize=run.tokenize)
    rows = [
        f"<tr><td>{ARROWS[result.directions.get(name)]} {_e(name)}</td><td>{value:.4g}</td></tr>"
        for name, value in result.values.items()
    ]
    rows += [
        f"<tr><td>{_e(name)}</td><td class='worse'>failed: {_e(error)}</td></tr>"
        for name, error in result.errors.items()
    ]
    asked = ", ".join(c.key for c in run.metrics)
    return (
        f"<h2>Metrics</h2><p class='muted'>Computed on all {len(side.rows)} samples ({_e(asked)}); a metric "
        "that has no value on these samples (self-BLEU of one response, say) is not listed.</p>"
        f"<table><tr><th>metric</th><th>value</th></tr>{''.join(rows)}</table>"
    )


def _provenance(sides: Sequence[Side], notes: Sequence[str]) -> str:
    parts = ["<h2>Provenance</h2>"]
    for note in notes:
        parts.append(f"<p class='muted'>note: {_e(note)}</p>")
    for side in sides:
        parts.append(f"<h3>{_e(side.label)}</h3>")
        if not side.provenance:
            parts.append("<p>Raw files with no rewards scored: no provenance sidecar.</p>")
        for path, doc in side.provenance.items():
            inputs = ", ".join(
                f"{_e(i.get('path'))} (sha256 {_e(str(i.get('sha256'))[:12])})" for i in doc.get("inputs", [])
            )
            rewards = "".join(
                f"<tr><td>{_e(r.get('as') or r.get('name'))}</td><td>{_e(r.get('name'))}</td>"
                f"<td>{_e(r.get('version'))}</td><td>{_e(json.dumps(r.get('args') or {}))}</td>"
                f"<td>{_e(r.get('distribution'))}</td></tr>"
                for r in doc.get("config", {}).get("rewards", [])
            )
            parts.append(
                f"<p><code>{_e(path)}</code>: rewardhub {_e(doc.get('rewardhub'))}, created {_e(doc.get('created'))}, "
                f"tokenizer {_e(doc.get('config', {}).get('tokenize'))}, {_e(doc.get('rows'))} rows, from {inputs}</p>"
                "<table><tr><th>reward</th><th>name</th><th>version</th><th>args</th><th>distribution</th></tr>"
                f"{rewards}</table>"
                "<details><summary>full sidecar</summary>"
                f"<pre>{_e(json.dumps(doc, indent=1, default=str))}</pre></details>"
            )
    return "".join(parts)


# -- formatting ----------------------------------------------------------------------------------


def _n(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.4g}" if signed else f"{value:.4g}"


def _p(p: float | None) -> str:
    return "–" if p is None else (f"{p:.3f}" if p >= 0.001 else f"{p:.0e}")


def _color(item: Any) -> str:
    mark = verdict(item.delta, item.significant(), item.higher_is_better)
    return figures.BETTER if mark.endswith("better") else figures.WORSE if mark.endswith("worse") else figures.NEUTRAL

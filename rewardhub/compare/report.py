"""``rewardhub report``: one self-contained HTML page about scored files or a comparison.

The page carries everything inline: plotly.js (no CDN, so it opens with no network), the
figures' data, and the styles. What it shows, in order: what was compared and how it was
produced (provenance), the comparison table with intervals drawn, each reward's distribution
(per side), how rewards correlate with each other and with response length, the spread inside
groups (or the per-prompt differences when paired), and the highest and lowest samples per
reward with their text, HTML-escaped. Large runs stay responsive: histograms are binned and
correlations computed before they reach the page, scatter plots show a random sample of at
most 2,000 points per side, and the page says so. Tested in ``tests/test_report.py`` (in a
real headless Chromium: every chart renders, no console error).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from rewardhub.compare import figures
from rewardhub.compare.result import INTERVAL_METHOD, Comparison
from rewardhub.compare.sides import Side
from rewardhub.compare.table import ARROWS, verdict

TEXT_LIMIT = 1500
PROMPT_LIMIT = 400

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
    config: str | Path | None = None,
    tokenize: str | None = None,
    prompt_field: str | None = None,
    response_field: str | None = None,
    log: Any = None,
) -> Path:
    """Write the report to ``output`` and return its path. With ``comparison`` (from
    :func:`rewardhub.compare.compare`) the page compares its two sides; otherwise it describes
    ``files`` (scored by ``eval``, or raw: scored first, as ``compare`` does)."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        from rewardhub.config import ConfigError

        raise ConfigError("the report draws with plotly: pip install 'rewardhub[report]'") from None
    notes: list[str] = []
    if comparison is not None:
        sides = list(comparison.sides or ())
        keys = list(comparison.rewards)
    else:
        from rewardhub.compare.sides import load_side
        from rewardhub.evaluation import EvalOptions, resolve_config

        run = resolve_config(EvalOptions(rewards=rewards, config=config, tokenize=tokenize, block=block)).run
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
    frames = [_frame(side, keys) for side in sides]
    sections = [_header(sides, comparison)]
    if comparison is not None:
        sections.append(_comparison_section(comparison))
    sections += [
        _distributions(sides, frames, keys),
        _correlation_section(sides, frames, keys),
        _spread_section(sides, frames, keys, comparison),
        _extremes(sides, frames, keys, top),
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


# -- data ------------------------------------------------------------------------------------


def _frame(side: Side, keys: Sequence[str]) -> Any:
    import pandas as pd

    data: dict[str, Any] = {
        key: np.array([np.nan if r.rewards.get(key) is None else r.rewards[key] for r in side.rows], dtype=float)
        for key in keys
    }
    data["length"] = np.array([len(r.sample.response) for r in side.rows], dtype=float)
    data["_prompt"] = [r.sample.prompt_text for r in side.rows]
    data["_response"] = [r.sample.response for r in side.rows]
    data["_group"] = [json.dumps(r.sample.group_key, default=str, sort_keys=True) for r in side.rows]
    return pd.DataFrame(data)


def _figure(fig: Any) -> str:
    import plotly.io as pio

    return pio.to_html(fig, include_plotlyjs=False, full_html=False, config={"displaylogo": False, "responsive": True})


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
            f"{c.confidence:.0%} interval from {c.bootstrap} resamples (seed {c.seed}); an interval that excludes 0 "
            "is a difference unlikely to be noise.</p>"
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
            note = f"<br><span class='muted'>{_e(item.note)}</span>" if getattr(item, "note", None) else ""
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
        f"<p class='muted'>Intervals: rewards, {INTERVAL_METHOD['rewards']}; metrics, {INTERVAL_METHOD['metrics']}. "
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
            charts.append(_figure(figures.forest(heading, rows_)))
    return f"<h2>Did anything change?</h2>{table}{explain}{''.join(charts)}"


def _distributions(sides: Sequence[Side], frames: Sequence[Any], keys: Sequence[str]) -> str:
    if not keys:
        return "<h2>Reward distributions</h2><p>No rewards in these files.</p>"
    charts = [
        _figure(figures.histogram(f"{key}", [(s.label, f[key].to_numpy()) for s, f in zip(sides, frames)], key))
        for key in keys
    ]
    return (
        "<h2>Reward distributions</h2><p class='muted'>Each side's values in 40 shared bins, as a share of its "
        "samples (binned over all rows before drawing).</p>" + "".join(charts)
    )


def _correlation_section(sides: Sequence[Side], frames: Sequence[Any], keys: Sequence[str]) -> str:
    if not keys:
        return ""
    names = [*keys, "length"]
    charts = []
    for side, frame in zip(sides, frames):
        matrix = frame[names].corr(method="spearman", min_periods=3).to_numpy()
        charts.append(_figure(figures.correlations(f"{side.label}: Spearman correlation", names, matrix)))
    scatter = [
        _figure(
            figures.against_length(
                f"{key} against response length",
                key,
                [(s.label, f["length"].to_numpy(), f[key].to_numpy()) for s, f in zip(sides, frames)],
            )
        )
        for key in keys
    ]
    return (
        "<h2>How rewards relate</h2><p class='muted'>Strongly correlated rewards measure much the same thing; "
        "anti-correlated ones trade off against each other when you change their weights. A reward that "
        "correlates with <b>length</b> can be raised by writing more (or less): the first sign of reward hacking. "
        f"Correlations use every row; the scatter plots show at most {figures.SCATTER_POINTS:,} random samples "
        "per side.</p>" + "".join(charts) + "".join(scatter)
    )


def _spread_section(sides: Sequence[Side], frames: Sequence[Any], keys: Sequence[str], c: Comparison | None) -> str:
    if not keys:
        return ""
    parts = ["<h2>Spread per group</h2>"]
    if c is not None and c.paired and len(frames) == 2:
        parts.append(
            "<p class='muted'>Per prompt, B's mean minus A's mean: how often and by how much B moved. A narrow peak "
            "at 0 means B rarely changed the outcome.</p>"
        )
        a, b = (f.groupby("_prompt")[list(keys)].mean() for f in frames)
        shared = a.index.intersection(b.index)
        for key in keys:
            diff = (b.loc[shared, key] - a.loc[shared, key]).to_numpy()
            parts.append(
                _figure(figures.histogram(f"{key}: B - A per prompt", [("B - A", diff)], f"{key}, B - A", "prompts"))
            )
    sized = [f.groupby("_group") for f in frames]
    if all(g.size().max() < 2 for g in sized):
        parts.append("<p>Every group holds one sample: there is no spread inside groups to show.</p>")
        return "".join(parts)
    parts.append(
        "<p class='muted'>The standard deviation of each reward inside each group (samples answering the same "
        "prompt). In GRPO a group with no spread gives no learning signal.</p>"
    )
    for key in keys:
        stds = [(s.label, g[key].std().dropna().to_numpy()) for s, g in zip(sides, sized)]
        zero = ", ".join(f"{label}: {np.mean(v <= 1e-12):.0%}" for label, v in stds if len(v))
        parts.append(
            _figure(figures.histogram(f"{key}: spread inside groups (groups with none: {zero})", stds, "std", "groups"))
        )
    return "".join(parts)


def _extremes(sides: Sequence[Side], frames: Sequence[Any], keys: Sequence[str], top: int) -> str:
    if not keys or top <= 0:
        return ""
    parts = [
        f"<h2>Highest and lowest samples</h2><p class='muted'>The {top} highest and lowest per reward and side.</p>"
    ]
    for key in keys:
        parts.append(f"<h3>{_e(key)}</h3>")
        for side, frame in zip(sides, frames):
            ranked = frame[np.isfinite(frame[key])].sort_values(key, kind="stable")
            if ranked.empty:
                continue
            for title, rows in (("highest", ranked.tail(top).iloc[::-1]), ("lowest", ranked.head(top))):
                parts.append(f"<details><summary>{_e(side.label)}: {title} {len(rows)}</summary>")
                for _, row in rows.iterrows():
                    parts.append(
                        f"<div class='sample'><span class='value'>{_e(key)} = {row[key]:.4g}</span> "
                        f"<span class='muted'>({int(row['length'])} characters)</span>"
                        f"<div class='muted'>prompt</div><pre>{_clip(row['_prompt'], PROMPT_LIMIT)}</pre>"
                        f"<div class='muted'>response</div><pre>{_clip(row['_response'], TEXT_LIMIT)}</pre></div>"
                    )
                parts.append("</details>")
    return "".join(parts)


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


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return _e(text)
    return _e(text[:limit]) + f"<span class='muted'> … ({len(text) - limit:,} more characters)</span>"


def _n(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.4g}" if signed else f"{value:.4g}"


def _p(p: float | None) -> str:
    return "–" if p is None else (f"{p:.3f}" if p >= 0.001 else f"{p:.0e}")


def _color(item: Any) -> str:
    mark = verdict(item.delta, item.significant(), item.higher_is_better)
    return figures.BETTER if mark.endswith("better") else figures.WORSE if mark.endswith("worse") else figures.NEUTRAL

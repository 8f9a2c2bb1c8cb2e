"""The chart sections of ``rewardhub report``: each reward's distribution, how rewards relate to
each other and to response length, the spread per group (or per prompt when paired), and the
highest and lowest samples.

Every chart shows data or is left out with the reason, said on the page: a reward with no
usable value on any side has no histogram and no scatter plot, a correlation needs two
columns that vary, a spread needs groups of two or more with values. Reward columns are kept
apart from the page's own columns, so a reward named ``length`` (tokens, say) is drawn as
itself, and response length is always "characters", said so. Tested in
``tests/test_report.py`` (in headless Chromium: every chart on the page has points).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rewardhub.compare import figures

TEXT_LIMIT = 1500
PROMPT_LIMIT = 400
CHARS = "length (characters)"


@dataclass
class SideData:
    """One side's rows as arrays: each reward's values (NaN: no usable value), each response's
    length in characters, and its prompt, response and group."""

    label: str
    rewards: dict[str, np.ndarray]
    chars: np.ndarray
    prompts: list[str]
    responses: list[str]
    groups: list[str]


def side_data(side: Any, keys: Sequence[str]) -> SideData:
    rows = side.rows
    rewards = {
        key: np.array([np.nan if r.rewards.get(key) is None else r.rewards[key] for r in rows], dtype=float)
        for key in keys
    }
    return SideData(
        side.label,
        rewards,
        np.array([len(r.sample.response) for r in rows], dtype=float),
        [r.sample.prompt_text for r in rows],
        [r.sample.response for r in rows],
        [json.dumps(r.sample.group_key, default=str, sort_keys=True) for r in rows],
    )


def figure_html(fig: Any) -> str:
    import plotly.io as pio

    return pio.to_html(fig, include_plotlyjs=False, full_html=False, config={"displaylogo": False, "responsive": True})


def left_out(reasons: Sequence[str]) -> str:
    """The page's note for charts not drawn."""
    if not reasons:
        return ""
    items = "".join(f"<li>{e(r)}</li>" for r in reasons)
    return f"<div class='muted'>Not drawn (nothing to show):<ul>{items}</ul></div>"


def _with_values(pairs: Sequence[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    return [(label, v) for label, v in pairs if np.isfinite(v).any()]


def distributions(sides: Sequence[SideData], keys: Sequence[str]) -> str:
    if not keys:
        return "<h2>Reward distributions</h2><p>No rewards in these files.</p>"
    charts, reasons = [], []
    for key in keys:
        series = _with_values([(s.label, s.rewards[key]) for s in sides])
        if not series:
            reasons.append(f"{key}: no usable value on any side (every row null, NaN, infinite or not a number)")
            continue
        missing = [s.label for s in sides if s.label not in {label for label, _ in series}]
        title = key + (f" (no usable value on {', '.join(missing)})" if missing else "")
        charts.append(figure_html(figures.histogram(title, series, key)))
    return (
        "<h2>Reward distributions</h2><p class='muted'>Each side's values in 40 shared bins, as a share of its "
        "samples with a value (binned over all rows before drawing).</p>" + "".join(charts) + left_out(reasons)
    )


def _varying(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return len(finite) >= 3 and float(finite.min()) != float(finite.max())


def correlations(sides: Sequence[SideData], keys: Sequence[str]) -> str:
    import pandas as pd

    if not keys:
        return ""
    charts, reasons = [], []
    for side in sides:
        columns = {key: side.rewards[key] for key in keys if _varying(side.rewards[key])}
        if _varying(side.chars):
            columns[CHARS] = side.chars
        if len(columns) < 2:
            reasons.append(f"{side.label}: correlations need two columns that vary over 3 or more rows")
            continue
        matrix = pd.DataFrame(columns).corr(method="spearman", min_periods=3).to_numpy()
        if not np.isfinite(matrix[~np.eye(len(columns), dtype=bool)]).any():
            reasons.append(f"{side.label}: no two columns have values on 3 common rows")
            continue
        charts.append(figure_html(figures.correlations(f"{side.label}: Spearman correlation", list(columns), matrix)))
    scatter = []
    for key in keys:
        series = [(s.label, s.chars, s.rewards[key]) for s in sides if np.isfinite(s.rewards[key]).any()]
        if not series:
            reasons.append(f"{key} against length: no usable value on any side")
            continue
        scatter.append(figure_html(figures.against_length(f"{key} against response length", key, series)))
    return (
        "<h2>How rewards relate</h2><p class='muted'>Strongly correlated rewards measure much the same thing; "
        "anti-correlated ones trade off against each other when you change their weights. A reward that "
        f"correlates with <b>{CHARS}</b> can be raised by writing more (or less): the first sign of reward "
        f"hacking. Correlations use every row; the scatter plots show at most {figures.SCATTER_POINTS:,} random "
        "samples per side.</p>" + "".join(charts) + "".join(scatter) + left_out(reasons)
    )


def spread(sides: Sequence[SideData], keys: Sequence[str], paired: bool) -> str:
    import pandas as pd

    if not keys:
        return ""
    parts, reasons = ["<h2>Spread per group</h2>"], []
    if paired and len(sides) == 2:
        parts.append(
            "<p class='muted'>Per prompt, B's mean minus A's mean: how often and by how much B moved. A narrow peak "
            "at 0 means B rarely changed the outcome.</p>"
        )
        a, b = (pd.DataFrame(s.rewards).groupby(s.prompts).mean() for s in sides)
        shared = a.index.intersection(b.index)
        for key in keys:
            diff = (b.loc[shared, key] - a.loc[shared, key]).to_numpy()
            if not np.isfinite(diff).any():
                reasons.append(f"{key}, B - A per prompt: no prompt has a value on both sides")
                continue
            chart = figures.histogram(f"{key}: B - A per prompt", [("B - A", diff)], f"{key}, B - A", "prompts")
            parts.append(figure_html(chart))
    grouped = [pd.DataFrame(s.rewards).groupby(s.groups) for s in sides]
    if all(len(s.groups) == len(set(s.groups)) for s in sides):
        parts.append("<p>Every group holds one sample: there is no spread inside groups to show.</p>")
        return "".join(parts) + left_out(reasons)
    parts.append(
        "<p class='muted'>The standard deviation of each reward inside each group (samples answering the same "
        "prompt) with two or more values. In GRPO a group with no spread gives no learning signal.</p>"
    )
    for key in keys:
        stds = [(s.label, g[key].std().dropna().to_numpy()) for s, g in zip(sides, grouped)]
        stds = [(label, v) for label, v in stds if len(v)]
        if not stds:
            reasons.append(f"{key}, spread inside groups: no group has two or more values")
            continue
        zero = ", ".join(f"{label}: {np.mean(v <= 1e-12):.0%}" for label, v in stds)
        title = f"{key}: spread inside groups (groups with none: {zero})"
        parts.append(figure_html(figures.histogram(title, stds, "std", "groups")))
    return "".join(parts) + left_out(reasons)


def extremes(sides: Sequence[SideData], keys: Sequence[str], top: int) -> str:
    if not keys or top <= 0:
        return ""
    parts = [
        f"<h2>Highest and lowest samples</h2><p class='muted'>The {top} highest and lowest per reward and side.</p>"
    ]
    for key in keys:
        parts.append(f"<h3>{e(key)}</h3>")
        for side in sides:
            values = side.rewards[key]
            ranked = [int(i) for i in np.argsort(values, kind="stable") if np.isfinite(values[i])]
            if not ranked:
                parts.append(f"<p class='muted'>{e(side.label)}: no usable value.</p>")
                continue
            for title, chosen in (("highest", ranked[::-1][:top]), ("lowest", ranked[:top])):
                parts.append(f"<details><summary>{e(side.label)}: {title} {len(chosen)}</summary>")
                for i in chosen:
                    parts.append(
                        f"<div class='sample'><span class='value'>{e(key)} = {values[i]:.4g}</span> "
                        f"<span class='muted'>({int(side.chars[i])} characters)</span>"
                        f"<div class='muted'>prompt</div><pre>{clip(side.prompts[i], PROMPT_LIMIT)}</pre>"
                        f"<div class='muted'>response</div><pre>{clip(side.responses[i], TEXT_LIMIT)}</pre></div>"
                    )
                parts.append("</details>")
    return "".join(parts)


def e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return e(text)
    return e(text[:limit]) + f"<span class='muted'> … ({len(text) - limit:,} more characters)</span>"

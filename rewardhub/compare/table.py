"""The comparison as tables for people (rich): one row per reward and metric, B - A with its
interval, a marker where the interval excludes 0, and which direction is better; below them,
what was left out of each reward and why, and why an interval is missing. That it fits an
80-column terminal is tested in ``tests/test_compare_cli.py``, the exclusion lines in
``tests/test_compare_exclusions.py``."""

from __future__ import annotations

from typing import Any

from rewardhub.compare.result import EXCLUSION_KINDS, Comparison

ARROWS = {True: "↑", False: "↓", None: "·"}


def verdict(delta: float | None, significant: bool, higher_is_better: bool | None) -> str:
    """``*`` where the interval excludes 0, with better/worse when the row has a direction."""
    if not significant or delta is None:
        return ""
    if higher_is_better is None:
        return "*"
    return "* better" if (delta > 0) == higher_is_better else "* worse"


def render(comparison: Comparison, console: Any) -> None:
    """Print the comparison; fits an 80-column terminal."""
    from rich.table import Table

    c = comparison
    pairs = f"{c.pairs} pair{'s' if c.pairs != 1 else ''}"
    how = f"paired by prompt, {pairs}" if c.paired else "unpaired (independent samples)"
    console.print(f"A: {c.a.label} ({c.a.n} samples)\nB: {c.b.label} ({c.b.n} samples)\n{how}")
    level = f"{c.confidence:.0%}"
    for title, items, reward_rows in (("rewards", c.rewards, True), ("metrics", c.metrics, False)):
        if not items:
            continue
        table = Table(
            title=f"{title}: B - A with its {level} interval",
            title_justify="left",
            header_style="bold underline",
            box=None,
            padding=(0, 1, 0, 0),
            pad_edge=False,
        )
        table.add_column(title[:-1], no_wrap=True)
        for column in ("A", "B", "B - A", "interval"):
            table.add_column(column, justify="right", no_wrap=True)
        if reward_rows:
            table.add_column("p", justify="right", no_wrap=True)
            table.add_column("wins", justify="right", no_wrap=True)
        for name, item in items.items():
            mark = verdict(item.delta, item.significant(), item.higher_is_better)
            style = "green" if mark.endswith("better") else "red" if mark.endswith("worse") else ""
            delta = _fmt(item.delta, True, 3) + (" *" if mark else "  ")
            row = [f"{ARROWS[item.higher_is_better]} {name}", _fmt(item.a), _fmt(item.b)]
            row += [f"[{style}]{delta}[/]" if style else delta, _interval(item.ci)]
            if reward_rows:
                row += [_fmt_p(item.p), "-" if item.win_rate is None else f"{item.win_rate:.0%}"]
            table.add_row(*row)
        console.print(table)
        console.print()
    console.print(
        f"↑ higher is better, ↓ lower is better, · no direction. * the interval excludes 0 "
        f"(green: better, red: worse). Intervals: Student's t on a jackknife over "
        f"{'prompts' if c.paired else 'samples'}. p: {c.p_value_method}, {c.permutations} permutations, seed "
        f"{c.seed}; wins: share of {'prompts' if c.paired else 'A-B sample pairs'} where B is better, ties half."
    )
    for note in c.notes:
        console.print(f"note: {note}")
    if c.tokenize.get("mismatch"):
        console.print(f"note: tokenizers differ: A {', '.join(c.tokenize['a'])}; B {', '.join(c.tokenize['b'])}")
    for name, reward in c.rewards.items():
        left = exclusions(reward, c.paired)
        if left:
            console.print(f"note: {name}: {left}")
    said: dict[str, list[str]] = {}  # one line per reason, naming every row it concerns
    for name, item in [*c.rewards.items(), *c.metrics.items()]:
        if item.note and (item.ci is None or name in c.rewards):
            said.setdefault(item.note, []).append(name)
    for note, names in said.items():
        console.print(f"note: {', '.join(names)}: {note}")


KIND_WORDS = {
    "null": "null",
    "nan": "NaN",
    "infinite": "infinite",
    "not_a_number": "not a number",
    "no_pair": "no value on the other side",
}


def exclusions(reward: Any, paired: bool) -> str:
    """``"rows left out: A 2 NaN, 1 not a number; B 1 infinite (37 prompts used)"``, or ``""``."""
    parts = []
    for side in ("a", "b"):
        counts = reward.excluded.get(side, {})
        said = [f"{counts[k]} {KIND_WORDS[k]}" for k in EXCLUSION_KINDS if counts.get(k)]
        if said:
            parts.append(f"{side.upper()} {', '.join(said)}")
    if not parts:
        return ""
    used = f"{reward.n} prompts with a value on both sides" if paired else f"at least {reward.n} samples a side"
    return f"rows left out: {'; '.join(parts)} ({used} used)"


def _interval(ci: tuple[float, float] | None) -> str:
    return "-" if ci is None else f"{_fmt(ci[0], True, 3)} .. {_fmt(ci[1], True, 3)}"


def _fmt(value: float | None, signed: bool = False, digits: int = 4) -> str:
    """Significant digits: four tell 12.23 from 12.25, and 0.0206 from 0.0162."""
    if value is None:
        return "-"
    if value == 0:
        return "0"
    return f"{value:+.{digits}g}" if signed else f"{value:.{digits}g}"


def _fmt_p(p: float | None) -> str:
    return "-" if p is None else (f"{p:.4f}" if p >= 0.001 else f"{p:.0e}")

"""Summaries of a run: per-reward statistics, the ``--json`` document and the people's table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def stats(values: Sequence[float | None]) -> dict[str, float | int | None]:
    """mean, std (sample, ddof=1; 0 for one value), min, max over present values, and missing."""
    present = [v for v in values if v is not None]
    missing = len(values) - len(present)
    if not present:
        return {"mean": None, "std": None, "min": None, "max": None, "missing": missing}
    n = len(present)
    mean = math.fsum(present) / n
    var = math.fsum((v - mean) ** 2 for v in present) / (n - 1) if n > 1 else 0.0
    return {"mean": mean, "std": math.sqrt(var), "min": min(present), "max": max(present), "missing": missing}


def render(summary: dict[str, Any], console: Any) -> None:
    """Tables for people: one row per reward (and the total), one per metric."""
    from rich.table import Table

    table = Table(title=f"{summary['n']} samples", title_justify="left")
    for column in ("reward", "mean", "std", "min", "max", "missing"):
        table.add_column(column, justify="left" if column == "reward" else "right")
    rows = dict(summary["rewards"])
    if "total" in summary:
        rows["(weighted total)"] = summary["total"]
    for name, s in rows.items():
        table.add_row(name, *(_fmt(s[k]) for k in ("mean", "std", "min", "max")), str(s["missing"]))
    if summary["rewards"]:
        console.print(table)
    if summary["metrics"]:
        metrics = Table(title="metrics", title_justify="left")
        metrics.add_column("metric")
        metrics.add_column("value", justify="right")
        for name, value in summary["metrics"].items():
            metrics.add_row(name, _fmt(value))
        console.print(metrics)
    if summary["errors"]:
        console.print(f"[yellow]{summary['errors']} errors[/yellow] (see the 'errors' field of the output rows)")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"

"""Summaries of a run: per-reward statistics, the ``--json`` document and the people's table.

:class:`SummaryBuilder` folds output rows (fresh or read back from a journal: the same dicts
that are written) into, per reward, mean/std/min/max over the present values, how many are
missing and why (``missing_reasons``: a reward's ``Score(None, {"reason": ...})``, or the
error that stopped it), the labels rewards put in their info (``toxic``/``safe``), and how many
inputs a reward says it truncated (``info["truncated"] is True``: a reward model's long samples;
the key appears only when there were some). The
weighted total is summarised only when the run has one (the user chose rewards and weights).
Values are kept as compact float arrays (8 bytes per row and reward; reasons and labels only
as counts) and summed with :func:`math.fsum`, so the order rows arrive in (a resumed run, a
distributed one) never changes the numbers. Each row is added once. :func:`render` prints it in
80 columns, with which direction is better for each reward and metric; a reward with no value
on any row is not a row of zeros and dashes but one line under the table, with why. Tested in
``tests/test_eval_trust.py`` and ``tests/test_eval_defaults.py``.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Sequence
from typing import Any

#: At most this many distinct reasons per reward; the rarer ones are counted together.
MAX_REASONS = 8
OTHER_REASONS = "other reasons"
NO_REASON = "no reason given"


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


def missing_reason(info: Any, error: str | None) -> str:
    """Why a value is missing: the reward's stated reason, else its error, else that none was given."""
    if isinstance(info, dict) and isinstance(info.get("reason"), str):
        return info["reason"]
    if error:
        first = error.splitlines()[0] if error.strip() else error
        return "error: " + (first if len(first) <= 100 else first[:97] + "...")
    return NO_REASON


class SummaryBuilder:
    """Folds scored output rows into the run's summary, each row once, in any order."""

    def __init__(
        self, keys: Sequence[str], n: int | None = None, *, with_total: bool, directions: dict[str, bool | None]
    ):
        self.keys = list(keys)
        self.n = 0  # rows added (``n`` is accepted for compatibility and not needed)
        self.with_total = with_total
        self.directions = directions
        self.values: dict[str, array] = {k: array("d") for k in self.keys}  # NaN: missing
        self.reasons: dict[str, Counter] = {k: Counter() for k in self.keys}
        self.labels: dict[str, Counter] = {k: Counter() for k in self.keys}
        self.truncated: Counter = Counter()
        self.totals = array("d")
        self.errors = 0

    def add(self, index: int, row: dict[str, Any]) -> None:
        rewards = row.get("rewards") or {}
        infos = row.get("reward_info") or {}
        errors = row.get("errors") or {}
        self.n += 1
        for key in self.keys:
            value, info = rewards.get(key), infos.get(key)
            self.values[key].append(math.nan if value is None else value)
            if value is None:
                self.reasons[key][missing_reason(info, errors.get(key))] += 1
            if not isinstance(info, dict):
                continue
            label = info.get("label")
            if isinstance(label, str):
                self.labels[key][label] += 1
            if info.get("truncated") is True:
                self.truncated[key] += 1
        total = row.get("reward")
        self.totals.append(math.nan if total is None else total)
        self.errors += len(errors)

    def result(self, metrics: dict[str, float], metric_directions: dict[str, bool | None], metric_errors: int) -> dict:
        """The summary document (the ``--json`` output)."""
        rewards = {}
        for key in self.keys:
            entry: dict[str, Any] = dict(stats(_present(self.values[key])))
            entry["missing_reasons"] = _top(self.reasons[key])
            labels = self.labels[key]
            if labels:
                entry["labels"] = dict(labels.most_common())
            if self.truncated[key]:
                entry["truncated"] = self.truncated[key]
            entry["higher_is_better"] = self.directions.get(key, True)
            rewards[key] = entry
        summary: dict[str, Any] = {"n": self.n, "rewards": rewards}
        if self.with_total and self.keys:
            summary["total"] = stats(_present(self.totals))
        summary["metrics"] = metrics
        summary["metric_directions"] = {k: metric_directions.get(k) for k in metrics}
        summary["errors"] = self.errors + metric_errors
        return summary


def _present(values: array) -> list[float | None]:
    return [None if v != v else v for v in values]  # NaN marks a missing value


def _top(reasons: Counter) -> dict[str, int]:
    common = reasons.most_common()
    if len(common) <= MAX_REASONS:
        return dict(common)
    kept = dict(common[: MAX_REASONS - 1])
    kept[OTHER_REASONS] = sum(count for _, count in common[MAX_REASONS - 1 :])
    return kept


# -- the people's table ---------------------------------------------------------------------


def _better(direction: bool | None) -> str:
    return "higher" if direction is True else "lower" if direction is False else ""


def render(summary: dict[str, Any], console: Any, metric_notes: dict[str, str] | None = None) -> None:
    """Tables for people, within 80 columns: one row per reward (and the total), one per metric,
    which direction is better for each, then why values are missing and the label rates, and
    under the metrics each metric's note (``metric_notes``: what range to expect, say)."""
    from rich.table import Table

    shown = {name: s for name, s in summary["rewards"].items() if not _all_missing(summary, s)}
    if shown:
        table = Table(title=f"{summary['n']} samples", title_justify="left", show_edge=False, pad_edge=False)
        table.add_column("reward", overflow="fold", ratio=1)
        table.add_column("better", no_wrap=True)
        for column in ("mean", "std", "min", "max", "missing"):
            table.add_column(column, justify="right", no_wrap=True)
        for name, s in shown.items():
            table.add_row(name, _better(s.get("higher_is_better", True)), *_numbers(s))
        if "total" in summary:
            table.add_row("weighted total", "higher", *_numbers(summary["total"]), style="bold")
        console.print(table)
    for line in notes(summary):
        console.print(line, highlight=False, markup=False)
    if summary["metrics"]:
        metrics = Table(title="metrics", title_justify="left", show_edge=False, pad_edge=False)
        metrics.add_column("metric", overflow="fold", ratio=1)
        metrics.add_column("better", no_wrap=True)
        metrics.add_column("value", justify="right", no_wrap=True)
        directions = summary.get("metric_directions", {})
        for name, value in summary["metrics"].items():
            metrics.add_row(name, _better(directions.get(name)), _fmt(value))
        console.print(metrics)
        for name, note in (metric_notes or {}).items():
            console.print(f"{name}: {note}", highlight=False, markup=False)
    if summary["errors"]:
        console.print(f"[yellow]{summary['errors']} errors[/yellow] (see the 'errors' field of the output rows)")
    if summary["rewards"] and "total" not in summary:
        console.print(
            "no weighted total: these are every installed reward, on unrelated scales; "
            "choose rewards and weights (--rewards a:0.5,b or --config) to get one",
            highlight=False,
        )


def _all_missing(summary: dict[str, Any], s: dict[str, Any]) -> bool:
    return summary["n"] > 0 and s.get("missing") == summary["n"]


def empty_line(summary: dict[str, Any]) -> str | None:
    """One line for the rewards with no value on any row (rather than rows of dashes), with
    the reason each gave most often; ``None`` when there are none."""
    empty = [(name, s) for name, s in summary["rewards"].items() if _all_missing(summary, s)]
    if not empty:
        return None
    parts = []
    for name, s in empty:
        reasons = s.get("missing_reasons") or {}
        reason = max(reasons, key=reasons.get) if reasons else NO_REASON
        parts.append(f"{name} ({reason})")
    return f"no value on any of the {summary['n']} rows: {'; '.join(parts)}"


def notes(summary: dict[str, Any]) -> list[str]:
    """The lines under the reward table: the rewards with no value at all (one line), why
    values are missing, and label rates (toxic)."""
    lines = []
    empty = empty_line(summary)
    if empty:
        lines.append(empty)
    for name, s in summary["rewards"].items():
        if _all_missing(summary, s):
            continue
        for reason, count in (s.get("missing_reasons") or {}).items():
            lines.append(f"{name}: {count} of {summary['n']} missing: {reason}")
        labels = s.get("labels") or {}
        labelled = sum(labels.values())
        if labelled:
            rates = ", ".join(f"{label} {count / labelled:.1%}" for label, count in labels.items())
            lines.append(f"{name}: {rates} of {labelled} labelled")
        if s.get("truncated"):
            lines.append(f"{name}: {s['truncated']} of {summary['n']} inputs truncated to the model's max_length")
    return lines


def _numbers(s: dict[str, Any]) -> list[str]:
    return [*(_fmt(s[k]) for k in ("mean", "std", "min", "max")), str(s["missing"])]


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if abs(value) < 1e5 else f"{value:.4g}"

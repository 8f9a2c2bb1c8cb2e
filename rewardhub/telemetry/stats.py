"""The numbers of one step's record: per reward, its distribution and how it behaves in groups
and against length; per step, the corpus metrics of its completions.

Every number is what its name says or ``None`` (with the reason under ``notes``): a standard
deviation needs two values, a rank correlation three pairs that vary, self-BLEU a group of two.
Tested in ``tests/test_telemetry_recorder.py``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

from rewardhub.aggregation import zero_spread_groups
from rewardhub.lazy import np

#: Histogram bins per reward and step (what the dashboard draws and a click lists).
BINS = 20
#: Quantiles kept per reward and step (the distribution over steps).
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their average rank (as Spearman's rho needs)."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    run = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.r_[first[1:], len(values)] - 1
    average = (first + last) / 2.0 + 1.0
    out = np.empty(len(values))
    out[order] = average[run]
    return out


def spearman(x: Sequence[float | None], y: Sequence[float | None]) -> tuple[float | None, str | None]:
    """Spearman's rho over the pairs where both have a value, or ``None`` and why."""
    pairs = [(a, b) for a, b in zip(x, y) if a is not None and b is not None]
    if len(pairs) < 3:
        return None, f"{len(pairs)} pairs with values; a rank correlation needs 3"
    a, b = (ranks(np.array(col, dtype=float)) for col in zip(*pairs))
    if b.std() == 0:
        return None, "every response has the same length"
    if a.std() == 0:
        return None, "every response has the same value"
    return _number(float(np.corrcoef(a, b)[0, 1])), None


def reward_stats(
    values: Sequence[float | None], groups: Sequence[Hashable], lengths: Sequence[int | None]
) -> tuple[dict[str, Any], dict[str, str]]:
    """One reward's numbers for a step (see the docs' ``steps.jsonl`` format) and its notes."""
    notes: dict[str, str] = {}
    present = np.array([v for v in values if v is not None], dtype=float)
    flat, compared = zero_spread_groups(values, groups)
    stats: dict[str, Any] = {
        "n": len(present),
        "missing": len(values) - len(present),
        "zero_std_groups": flat,
        "groups_compared": compared,
    }
    if len(present):
        counts, edges = np.histogram(present, bins=BINS)
        stats.update(
            mean=_number(present.mean()),
            std=_number(present.std(ddof=1)) if len(present) > 1 else None,
            min=_number(present.min()),
            max=_number(present.max()),
            quantiles=[_number(q) for q in np.quantile(present, QUANTILES)],
            hist={"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
        )
        if len(present) < 2:
            notes["std"] = "one value"
    else:
        stats.update(mean=None, std=None, min=None, max=None, quantiles=None, hist=None)
        notes["mean"] = "no sample has a value"
    rho, why = spearman(values, lengths)
    stats["length_spearman"] = rho
    if why:
        notes["length_spearman"] = why
    return stats, notes


def bin_members(values: Sequence[float | None], edges: Sequence[float], index: int) -> list[int]:
    """Positions of the values that fall in histogram bin ``index`` (numpy's rule: ``[lo, hi)``,
    the last bin ``[lo, hi]``)."""
    if not 0 <= index < len(edges) - 1:
        return []
    lo, hi = edges[index], edges[index + 1]
    last = index == len(edges) - 2
    return [i for i, v in enumerate(values) if v is not None and lo <= v and (v <= hi if last else v < hi)]


def rate(flags: Sequence[float | None]) -> float | None:
    """The share of 1.0 among the flags that have a value."""
    known = [f for f in flags if f is not None]
    return sum(known) / len(known) if known else None

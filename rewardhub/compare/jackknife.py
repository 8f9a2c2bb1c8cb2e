"""Confidence intervals of a comparison: Student's t on a jackknife standard error.

Every statistic of a comparison (a reward's mean, a mean over responses, distinct-n, n-gram
entropy, duplicate share, self-BLEU, a per-group metric) is a function of the *units* it is
computed on: the shared prompts when the sides are paired, the samples of each side when not.
Its interval is

    estimate +- t(df, 1 - alpha/2) * se,    se^2 = (G - 1) / G * sum_g (theta_(g) - mean)^2

where ``theta_(g)`` is the statistic recomputed with group ``g`` of the units left out: one
unit per group (the delete-1 jackknife) up to :data:`MAX_GROUPS` units, else ``MAX_GROUPS``
random groups of equal size (the delete-a-group jackknife, groups drawn from ``seed``).
Paired, the statistic is the delta B - A recomputed on the same left-out prompts (``df = G -
1``); unpaired, each side is left out on its own and the two variances add, with
Welch-Satterthwaite degrees of freedom.

Why not the bootstrap: with a few prompts a percentile bootstrap is far too narrow (3 to 10
prompts from one process on both sides: 20 to 45% of 95% intervals excluded 0), its resamples
repeat answers (which biases distinct-n down), and self-BLEU's references cannot be resampled
cheaply. The jackknife only leaves units out (so no repeated answers), its variance is never
smaller than the truth on average (the Efron-Stein inequality), and for a mean of paired
differences the interval above *is* Student's paired t interval, whose 95% level holds under
sign symmetry (Efron 1969), which is exactly what "both sides from one process" means. The
null coverage at 2 to 20 prompts, on real alpaca_eval answers, is checked in
``tests/test_compare_null_coverage.py``; agreement with the t tests in
``tests/test_compare_stats.py``.

An interval needs two groups (two prompts, or two samples on each side unpaired) and a finite
statistic with every group left out; otherwise it is ``None`` with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

#: Most groups of units left out in turn (delete-1 up to this many units).
MAX_GROUPS = 1000
#: Most weight entries (units x groups) held at once.
CHUNK_ENTRIES = 4_000_000


class Grouping:
    """Which group each of ``units`` units belongs to: the unit itself up to ``max_groups``
    units, else ``max_groups`` random groups whose sizes differ by at most one."""

    def __init__(self, units: int, rng: np.random.Generator, max_groups: int = MAX_GROUPS):
        self.units = units
        self.groups = min(units, max_groups)
        if units <= max_groups:
            self.of_unit = np.arange(units)
        else:
            self.of_unit = rng.permutation(np.arange(units) % self.groups)

    def leave_out_weights(self) -> Iterator[np.ndarray]:
        """``(units, k)`` chunks of 0/1 weights, column ``g`` zero on group ``g`` only."""
        per_chunk = max(1, CHUNK_ENTRIES // max(self.units, 1))
        for start in range(0, self.groups, per_chunk):
            stop = min(self.groups, start + per_chunk)
            w = np.ones((self.units, stop - start))
            inside = (self.of_unit >= start) & (self.of_unit < stop)
            w[np.flatnonzero(inside), self.of_unit[inside] - start] = 0.0
            yield w


def variance(leave_out: np.ndarray) -> float:
    """The jackknife variance ``(G - 1) / G * sum (theta_(g) - mean)^2`` (NaN if any value is)."""
    g = len(leave_out)
    if g < 2 or not np.all(np.isfinite(leave_out)):
        return float("nan")
    return float((g - 1) / g * np.sum((leave_out - leave_out.mean()) ** 2))


def t_quantile(df: float, confidence: float) -> float:
    from scipy import stats

    return float(stats.t.ppf(1 - (1 - confidence) / 2, df))


def interval(estimate: float, var: float, df: float, confidence: float) -> tuple[float, float] | None:
    """``estimate +- t(df) * sqrt(var)``, or None when it cannot be computed."""
    if not (np.isfinite(estimate) and np.isfinite(var) and df >= 1):
        return None
    half = t_quantile(df, confidence) * float(np.sqrt(var))
    lo, hi = estimate - half, estimate + half
    return (float(lo), float(hi)) if np.isfinite(lo) and np.isfinite(hi) else None


def welch_df(var_a: float, groups_a: int, var_b: float, groups_b: int) -> float:
    """Welch-Satterthwaite degrees of freedom of ``var_a + var_b``."""
    denominator = (var_a**2 / (groups_a - 1) if var_a else 0.0) + (var_b**2 / (groups_b - 1) if var_b else 0.0)
    if denominator == 0:
        return float(min(groups_a, groups_b) - 1)  # no spread at all: the interval has width 0
    return float((var_a + var_b) ** 2 / denominator)


def too_few(units: int, what: str) -> str | None:
    """The reason an interval cannot be given on ``units`` units, or None."""
    if units >= 2:
        return None
    there = "there is" if units == 1 else "there are"
    return f"an interval needs at least 2 {what}, {there} {units} (the spread between them is unknown)"


def means_leave_out(sums: np.ndarray, counts: np.ndarray, grouping: Grouping) -> np.ndarray:
    """A weighted mean ``sum(sums) / sum(counts)`` with each group of units left out (closed
    form: no weight matrix). Units with no count are skipped by the caller's grouping."""
    group_sums = np.bincount(grouping.of_unit, weights=sums, minlength=grouping.groups)
    group_counts = np.bincount(grouping.of_unit, weights=counts, minlength=grouping.groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums.sum() - group_sums) / (counts.sum() - group_counts)

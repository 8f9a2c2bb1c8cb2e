"""One reward's comparison: its mean on each side, the delta B - A with its interval, the
permutation p-value, the win rate of B, and what was left out and why.

- **What is used.** A row's value is used when it is a finite number. Every other row is
  counted by reason, per side: ``null`` (null or absent: the reward could not score it),
  ``nan``, ``infinite``, ``not_a_number`` (a string, a bool, a list...); paired, a row with a
  usable value whose prompt has no usable value on the other side is left out as ``no_pair``.
  The reward's ``n`` is the prompts (paired) or samples (unpaired, the smaller side) that carry
  it, never the pairs of the whole comparison.
- **Scale.** Values are divided by a power of two at least their largest magnitude before any
  sum (exact: only the exponent changes) and the results multiplied back, so values near
  1e308 give the right means, intervals, p-values and win rates instead of overflowing; a
  delta that itself exceeds the float range is None with the reason.
- **Interval**: :mod:`rewardhub.compare.jackknife` (closed form for a mean: no weight matrix).

Tested in ``tests/test_compare_exclusions.py`` and ``tests/test_compare_stats.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from rewardhub.compare import jackknife, stats
from rewardhub.compare.corpus import UnitMeans
from rewardhub.compare.result import EXCLUSION_KINDS, RewardDelta


def read_values(rows: Sequence[Any], key: str) -> tuple[np.ndarray, dict[str, int]]:
    """``key``'s values of ``rows`` (NaN where not usable) and the count of each reason."""
    values = np.full(len(rows), np.nan)
    reasons = dict.fromkeys(EXCLUSION_KINDS, 0)
    for i, row in enumerate(rows):
        reason = row.excluded.get(key) if getattr(row, "excluded", None) else None
        value = row.rewards.get(key)
        if reason is None:
            reason, value = _classify(value)
        if reason is None:
            values[i] = value
        else:
            reasons[reason] += 1
    return values, reasons


def _classify(value: Any) -> tuple[str | None, float]:
    if value is None:
        return "null", math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return "not_a_number", math.nan
    try:
        number = float(value)
    except OverflowError:
        return "infinite", math.nan
    if math.isnan(number):
        return "nan", math.nan
    if math.isinf(number):
        return "infinite", math.nan
    return None, number


def scale_exponent(*arrays: np.ndarray) -> int:
    """``e`` such that every finite magnitude in ``arrays`` divided by ``2**e`` is below 1 (0 if
    there are none): dividing by a power of two only changes the exponent, so it is exact."""
    finite = [np.abs(a[np.isfinite(a)]) for a in arrays]
    top = max((float(a.max()) for a in finite if len(a)), default=0.0)
    return math.frexp(top)[1] if top > 0 else 0


def reward_delta(
    rows_a: Sequence[Any],
    rows_b: Sequence[Any],
    key: str,
    units: tuple[np.ndarray, np.ndarray, int] | None,
    direction: bool | None,
    permutations: int,
    confidence: float,
    rng: np.random.Generator,
) -> RewardDelta:
    """``units``: ``(unit_of_a, unit_of_b, units)`` when paired by prompt, None when not."""
    va, excluded_a = read_values(rows_a, key)
    vb, excluded_b = read_values(rows_b, key)
    if units is not None:
        unit_a, unit_b, count = units
        has_a = np.bincount(unit_a[np.isfinite(va)], minlength=count) > 0
        has_b = np.bincount(unit_b[np.isfinite(vb)], minlength=count) > 0
        both = has_a & has_b
        for values, unit_of, excluded in ((va, unit_a, excluded_a), (vb, unit_b, excluded_b)):
            lost = np.isfinite(values) & ~both[unit_of]
            excluded["no_pair"] = int(lost.sum())
            values[lost] = np.nan
    else:
        unit_a, unit_b = np.arange(len(va)), np.arange(len(vb))
    exponent = scale_exponent(va, vb)
    sa, sb = np.ldexp(va, -exponent), np.ldexp(vb, -exponent)
    notes: list[str] = []
    if units is not None:
        found = _paired(sa, sb, unit_a, unit_b, units[2], direction, permutations, confidence, rng, notes)
    else:
        found = _unpaired(sa, sb, direction, permutations, confidence, rng, notes)
    mean_a, mean_b, ci, p, win, n = found
    delta = mean_b - mean_a
    out_a, out_b, out_delta = (float(np.ldexp(x, exponent)) for x in (mean_a, mean_b, delta))
    if np.isfinite(delta) and not np.isfinite(out_delta):
        notes.append("B - A exceeds the float range")
    interval = None
    if ci is not None:
        interval = (float(np.ldexp(ci[0], exponent)), float(np.ldexp(ci[1], exponent)))
        if not (np.isfinite(interval[0]) and np.isfinite(interval[1])):
            interval = None
            notes.append("the interval exceeds the float range")
    used = {"a": int(np.isfinite(va).sum()), "b": int(np.isfinite(vb).sum())}
    return RewardDelta(
        _finite(out_a),
        _finite(out_b),
        _finite(out_delta),
        interval,
        _finite(p),
        _finite(win),
        direction,
        n,
        used,
        {"a": excluded_a, "b": excluded_b},
        "; ".join(notes) or None,
    )


def _paired(sa, sb, unit_a, unit_b, count, direction, permutations, confidence, rng, notes):
    ma, mb = UnitMeans(sa, unit_a, count), UnitMeans(sb, unit_b, count)
    present = (ma.counts > 0) & (mb.counts > 0)
    n = int(present.sum())
    if n == 0:
        notes.append("no prompt has a usable value on both sides")
        return math.nan, math.nan, None, math.nan, math.nan, 0
    sums_a, counts_a, sums_b, counts_b = ma.sums[present], ma.counts[present], mb.sums[present], mb.counts[present]
    mean_a, mean_b = sums_a.sum() / counts_a.sum(), sums_b.sum() / counts_b.sum()
    ci = None
    reason = jackknife.too_few(n, "prompts")
    if reason:
        notes.append(reason)
    else:
        grouping = jackknife.Grouping(n, rng)
        leave_out = jackknife.means_leave_out(sums_b, counts_b, grouping) - jackknife.means_leave_out(
            sums_a, counts_a, grouping
        )
        ci = jackknife.interval(mean_b - mean_a, jackknife.variance(leave_out), grouping.groups - 1, confidence)
    per_a, per_b = sums_a / counts_a, sums_b / counts_b
    p = stats.sign_flip_p(per_b - per_a, permutations, rng) if permutations else None
    return mean_a, mean_b, ci, p, stats.paired_win_rate(per_a, per_b, direction), n


def _unpaired(sa, sb, direction, permutations, confidence, rng, notes):
    xa, xb = sa[np.isfinite(sa)], sb[np.isfinite(sb)]
    n = int(min(len(xa), len(xb)))
    if n == 0:
        notes.append("no usable value on " + ("either side" if not len(xa) and not len(xb) else "one side"))
        return _mean(xa), _mean(xb), None, math.nan, math.nan, 0
    mean_a, mean_b = float(np.mean(xa)), float(np.mean(xb))
    ci = None
    reason = jackknife.too_few(n, "samples on a side")
    if reason:
        notes.append(reason)
    else:
        ga, gb = jackknife.Grouping(len(xa), rng), jackknife.Grouping(len(xb), rng)
        var_a = jackknife.variance(jackknife.means_leave_out(xa, np.ones(len(xa)), ga))
        var_b = jackknife.variance(jackknife.means_leave_out(xb, np.ones(len(xb)), gb))
        df = jackknife.welch_df(var_a, ga.groups, var_b, gb.groups)
        ci = jackknife.interval(mean_b - mean_a, var_a + var_b, df, confidence)
    p = stats.label_shuffle_p(xa, xb, permutations, rng) if permutations else None
    return mean_a, mean_b, ci, p, stats.superiority(xa, xb, direction), n


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if len(x) else math.nan


def _finite(value: Any) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)

"""Corpus metrics compared: each key's value on both sides, the delta B - A and its interval.

Every metric with a reduction in :mod:`rewardhub.compare.corpus` (distinct-n, n-gram entropy,
repetition, distinct_avg, self-BLEU, and ``by_group/`` averages) is recomputed with each group
of units left out (:mod:`rewardhub.compare.jackknife`): one weight column per group, so a whole
jackknife is one sparse product per chunk of groups. Self-BLEU is the exception: each
hypothesis's references are the other responses, so leaving prompts out must remove them as
references too; it is recomputed exactly, hypotheses and references, on each of at most
:data:`SELF_BLEU_GROUPS` leave-out sets (the delete-a-group jackknife: 20 self-BLEU runs per
side on larger comparisons). A metric without a reduction gets its value on each side and the
delta, with no interval and the reason; a metric that fails is left out with a note.

Tested in ``tests/test_compare_stats.py`` and ``tests/test_compare_null_coverage.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from rewardhub.compare import jackknife
from rewardhub.compare.corpus import SideCorpus, UnitMeans, add_metric, means_statistic
from rewardhub.compare.result import MetricDelta
from rewardhub.metrics.runner import BY_GROUP_PREFIX

#: Most self-BLEU recomputations per side (leave-out groups).
SELF_BLEU_GROUPS = 20
NO_REDUCTION = "no resampling path for this metric: values and delta only"


class ExactSelfBleu:
    """Self-BLEU of one side recomputed on the responses of the units kept (hypotheses and
    references both): :func:`rewardhub.metrics.self_bleu_scores` with ``keep=`` over the side's
    one hashed chunk (the same bits as scoring the kept responses alone:
    ``tests/test_compare_stats.py``), so the side is tokenized and its n-grams counted once, and
    a leave-out costs only the clipping of the rows kept."""

    def __init__(self, metric: Any, corpus: SideCorpus, prefix: str):
        # the side's chunk, shared with the side's other n-gram statistics (compare.corpus)
        self.chunk = corpus.shared(("chunk", metric.tokenize), lambda: metric.hashed(corpus.samples))
        self.orders = metric.orders
        self.unit_of = corpus.unit_of
        self.keys = {k: f"{prefix}self_bleu_{k}" for k in self.orders}

    def scores(self, keep: np.ndarray) -> dict[int, np.ndarray]:
        """Each kept response's BLEU against the other kept ones, by order (needs two kept)."""
        from rewardhub.metrics.self_bleu import self_bleu_scores

        return self_bleu_scores(self.chunk, self.orders, keep=keep)

    def leave_out(self, of_unit: np.ndarray, groups: int) -> dict[str, np.ndarray]:
        out = {key: np.full(groups, np.nan) for key in self.keys.values()}
        for g in range(groups):
            keep = of_unit[self.unit_of] != g
            if keep.sum() < 2:
                continue
            for k, scores in self.scores(keep).items():
                out[self.keys[k]][g] = float(np.mean(scores))
        return out


def register(
    corpus_a: SideCorpus, corpus_b: SideCorpus, components: Sequence[Any], by_group: bool, notes: list[str]
) -> tuple[dict[str, bool | None], dict[str, tuple[ExactSelfBleu, ExactSelfBleu]]]:
    """Register every component's keys on both sides; returns each key's direction and the
    exact self-BLEU recomputations by key."""
    from rewardhub.metrics import SelfBleu

    directions: dict[str, bool | None] = {}
    exact: dict[str, tuple[ExactSelfBleu, ExactSelfBleu]] = {}
    for component in components:
        prefix = "" if component.key == component.config.name else f"{component.key}/"
        before = [(set(c.statistics), set(c.fixed)) for c in (corpus_a, corpus_b)]
        try:
            added = _add_metric(corpus_a, corpus_b, prefix, component.reward, by_group)
            if isinstance(component.reward, SelfBleu) and any(k in corpus_a.statistics for k in added):
                pair = tuple(ExactSelfBleu(component.reward, corpus, prefix) for corpus in (corpus_a, corpus_b))
                exact.update({key: pair for key in pair[0].keys.values()})
        except Exception as exc:  # one broken metric never takes the comparison down
            notes.append(f"metric {component.key!r} failed: {type(exc).__name__}: {exc}")
            for corpus, (statistics, fixed) in zip((corpus_a, corpus_b), before):
                corpus.statistics = {k: v for k, v in corpus.statistics.items() if k in statistics}
                corpus.fixed = {k: v for k, v in corpus.fixed.items() if k in fixed}
            continue
        for key in added:
            name = key[len(BY_GROUP_PREFIX) :] if key.startswith(BY_GROUP_PREFIX) else key
            directions[key] = component.reward.direction(name[len(prefix) :])
    return directions, exact


def metric_deltas(
    corpus_a: SideCorpus,
    corpus_b: SideCorpus,
    directions: dict[str, bool | None],
    exact: dict[str, tuple[ExactSelfBleu, ExactSelfBleu]],
    paired: bool,
    confidence: float,
    rng: np.random.Generator,
) -> dict[str, MetricDelta]:
    point_a = corpus_a.evaluate(np.ones((corpus_a.units, 1)))
    point_b = corpus_b.evaluate(np.ones((corpus_b.units, 1)))
    what = "prompts" if paired else "samples on a side"
    units = min(corpus_a.units, corpus_b.units)
    reason = jackknife.too_few(units, what)
    intervals: dict[str, tuple[tuple[float, float] | None, str | None]] = {}
    if reason is None and any(k not in corpus_a.fixed for k in directions):
        intervals = _intervals(corpus_a, corpus_b, point_a, point_b, exact, paired, confidence, rng)
    out: dict[str, MetricDelta] = {}
    for key, direction in directions.items():
        if key in corpus_a.fixed:
            a, b = corpus_a.fixed.get(key, math.nan), corpus_b.fixed.get(key, math.nan)
            out[key] = MetricDelta(_finite(a), _finite(b), _finite(b - a), None, direction, NO_REDUCTION)
            continue
        a, b = float(point_a[key][0]), float(point_b[key][0])
        ci, note = intervals.get(key, (None, reason))
        if not np.isfinite(b - a):
            ci, note = None, "the metric is undefined on a side (no response it can measure)"
        out[key] = MetricDelta(_finite(a), _finite(b), _finite(b - a), ci, direction, note)
    return out


def _intervals(corpus_a, corpus_b, point_a, point_b, exact, paired, confidence, rng) -> dict:
    """Each resampled key's interval (or None) and the reason when it is None."""
    if paired:
        grouping = jackknife.Grouping(corpus_a.units, rng)
        deltas = _stack(_delta(corpus_a.evaluate(w), corpus_b.evaluate(w)) for w in grouping.leave_out_weights())
        variances = {k: (jackknife.variance(v), grouping.groups - 1) for k, v in deltas.items()}
        sb_grouping = jackknife.Grouping(corpus_a.units, rng, SELF_BLEU_GROUPS)
        for key, (ea, eb) in exact.items():
            la = ea.leave_out(sb_grouping.of_unit, sb_grouping.groups)[key]
            lb = eb.leave_out(sb_grouping.of_unit, sb_grouping.groups)[key]
            variances[key] = (jackknife.variance(lb - la), sb_grouping.groups - 1)
    else:
        sides = []
        for corpus, index in ((corpus_a, 0), (corpus_b, 1)):
            grouping = jackknife.Grouping(corpus.units, rng)
            values = _stack(corpus.evaluate(w) for w in grouping.leave_out_weights())
            side = {k: (jackknife.variance(v), grouping.groups) for k, v in values.items()}
            sb_grouping = jackknife.Grouping(corpus.units, rng, SELF_BLEU_GROUPS)
            for key, pair in exact.items():
                side[key] = (
                    jackknife.variance(pair[index].leave_out(sb_grouping.of_unit, sb_grouping.groups)[key]),
                    sb_grouping.groups,
                )
            sides.append(side)
        variances = {
            k: (va + sides[1][k][0], jackknife.welch_df(va, ga, sides[1][k][0], sides[1][k][1]))
            for k, (va, ga) in sides[0].items()
        }
    out = {}
    for key, (var, df) in variances.items():
        delta = float(point_b[key][0] - point_a[key][0])
        ci = jackknife.interval(delta, var, df, confidence)
        left = "prompts" if paired else "samples"
        out[key] = (ci, None if ci is not None else f"undefined with some {left} left out (too few responses)")
    return out


def _delta(values_a: dict[str, np.ndarray], values_b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {key: values_b[key] - values_a[key] for key in values_a}


def _stack(chunks: Any) -> dict[str, np.ndarray]:
    parts: dict[str, list[np.ndarray]] = {}
    for chunk in chunks:
        for key, values in chunk.items():
            parts.setdefault(key, []).append(np.asarray(values, dtype=np.float64))
    return {key: np.concatenate(values) for key, values in parts.items()}


def _add_metric(corpus_a: SideCorpus, corpus_b: SideCorpus, prefix: str, metric: Any, by_group: bool) -> list[str]:
    """Register ``metric`` on both sides; returns its keys. Without a resampling path on both
    sides, its values go to ``fixed`` (computed once per side, no interval)."""
    before, fixed_before = set(corpus_a.statistics), set(corpus_a.fixed)
    if not (add_metric(corpus_a, prefix, metric) and add_metric(corpus_b, prefix, metric)):
        corpus_a.statistics = {k: v for k, v in corpus_a.statistics.items() if k in before}
        corpus_b.statistics = {k: v for k, v in corpus_b.statistics.items() if k in before}
        for corpus in (corpus_a, corpus_b):
            for name, value in metric.compute(corpus.samples).items():
                corpus.fixed[prefix + name] = _value(value)
    if by_group:
        for corpus in (corpus_a, corpus_b):
            _add_by_group(corpus, prefix, metric)
    fixed = [k for k in corpus_a.fixed if k not in fixed_before]  # this metric's keys only
    return [k for k in corpus_a.statistics if k not in before] + fixed


def _add_by_group(corpus: SideCorpus, prefix: str, metric: Any) -> None:
    """``by_group/<key>``: the metric on every group (same prompt unless the rows say ``group``),
    averaged over groups; leaving a unit out drops its groups' weight."""
    groups: dict[Any, list[int]] = {}
    for i, sample in enumerate(corpus.samples):
        groups.setdefault(sample.group_key, []).append(i)
    values: dict[str, np.ndarray] = {}
    weights = np.zeros(len(corpus.samples))
    for members in groups.values():
        result = metric.compute([corpus.samples[i] for i in members])
        for name, value in result.items():
            column = values.setdefault(name, np.full(len(corpus.samples), np.nan))
            ok = isinstance(value, (int, float)) and math.isfinite(value)
            column[members] = value if ok else np.nan
        weights[members] = 1.0 / len(members)
    for name, column in values.items():
        corpus.statistics[f"{BY_GROUP_PREFIX}{prefix}{name}"] = means_statistic(
            UnitMeans(column, corpus.unit_of, corpus.units, weights)
        )


def _value(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _finite(value: Any) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)

"""From two sides' rows to a :class:`~rewardhub.compare.result.Comparison`.

Pairing: a sample's prompt is its key; ``paired="auto"`` pairs when at least half of all the
distinct prompts (of both sides together) were answered by both sides. Paired, the units of
resampling are the shared prompts (with all their samples on each side; prompts answered by
one side only are left out and counted in the notes); unpaired, every sample is a unit and the
two sides are resampled independently. Every reward and metric is computed on the same
resamples (``bootstrap`` of them, from ``seed``), so a run is reproducible.

A reward's mean on a side is the mean of its present values over the units used (paired: the
prompts where both sides have a value). Tested in ``tests/test_compare_stats.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rewardhub.compare import stats
from rewardhub.compare.corpus import SideCorpus, UnitMeans, add_metric, means_statistic
from rewardhub.compare.result import Comparison, MetricDelta, RewardDelta, SideSummary
from rewardhub.compare.sides import ScoredRow, Side
from rewardhub.metrics_runner import BY_GROUP_PREFIX

REWARD = "reward:"


def prompt_key(row: ScoredRow) -> Any:
    return None if row.sample.prompt is None else row.sample.key(("prompt",))[0]


def pair(a: list[ScoredRow], b: list[ScoredRow], mode: str) -> tuple[bool, list, list, np.ndarray, np.ndarray, int]:
    """``(paired, rows_a, rows_b, unit_of_a, unit_of_b, units)`` for ``mode`` auto/yes/no."""
    keys_a, keys_b = [prompt_key(r) for r in a], [prompt_key(r) for r in b]
    set_a, set_b = set(keys_a) - {None}, set(keys_b) - {None}
    common = set_a & set_b
    union = set_a | set_b
    if mode == "yes" and not common:
        raise ValueError("--paired yes: the two sides share no prompt")
    paired = mode == "yes" or (mode == "auto" and len(common) >= 2 and len(common) >= 0.5 * len(union))
    if not paired:
        return False, a, b, np.arange(len(a)), np.arange(len(b)), 0
    index: dict[Any, int] = {}
    for key in keys_a:
        if key in common and key not in index:
            index[key] = len(index)
    rows_a = [r for r, k in zip(a, keys_a) if k in common]
    rows_b = [r for r, k in zip(b, keys_b) if k in common]
    unit_a = np.fromiter((index[k] for k in keys_a if k in common), dtype=np.int64, count=len(rows_a))
    unit_b = np.fromiter((index[k] for k in keys_b if k in common), dtype=np.int64, count=len(rows_b))
    return True, rows_a, rows_b, unit_a, unit_b, len(index)


def analyse(
    side_a: Side,
    side_b: Side,
    reward_keys: Sequence[str],
    reward_directions: dict[str, bool | None],
    metric_components: Sequence[Any],
    *,
    paired: str = "auto",
    bootstrap: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
    by_group: bool = False,
    notes: list[str] | None = None,
) -> Comparison:
    notes = list(notes or [])
    is_paired, rows_a, rows_b, unit_a, unit_b, units = pair(side_a.rows, side_b.rows, paired)
    left_out = len(side_a.rows) - len(rows_a) + len(side_b.rows) - len(rows_b)
    if is_paired and left_out:
        notes.append(f"{left_out} samples answer a prompt the other side did not answer: left out of the pairs")
    corpus_a = SideCorpus([r.sample for r in rows_a], unit_a, units if is_paired else len(rows_a))
    corpus_b = SideCorpus([r.sample for r in rows_b], unit_b, units if is_paired else len(rows_b))

    # rewards: per-row values, restricted (paired) to prompts with a value on both sides
    reward_units: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for key in reward_keys:
        va = np.array([_value(r.rewards.get(key)) for r in rows_a])
        vb = np.array([_value(r.rewards.get(key)) for r in rows_b])
        if is_paired:
            has_a = np.bincount(unit_a[np.isfinite(va)], minlength=units) > 0
            has_b = np.bincount(unit_b[np.isfinite(vb)], minlength=units) > 0
            both = has_a & has_b
            va = np.where(both[unit_a], va, np.nan)
            vb = np.where(both[unit_b], vb, np.nan)
        reward_units[key] = (va, vb)
        corpus_a.statistics[REWARD + key] = means_statistic(UnitMeans(va, unit_a, corpus_a.units))
        corpus_b.statistics[REWARD + key] = means_statistic(UnitMeans(vb, unit_b, corpus_b.units))

    # metrics: a resampling path where one exists, else point values only
    directions: dict[str, bool | None] = {}
    fixed_notes: dict[str, str] = {}
    for component in metric_components:
        prefix = "" if component.key == component.config.name else f"{component.key}/"
        before = [(set(c.statistics), set(c.fixed)) for c in (corpus_a, corpus_b)]
        try:
            added = _add_metric(corpus_a, corpus_b, prefix, component.reward, by_group)
        except Exception as exc:  # one broken metric never takes the comparison down
            notes.append(f"metric {component.key!r} failed: {type(exc).__name__}: {exc}")
            for corpus, (statistics, fixed) in zip((corpus_a, corpus_b), before):
                corpus.statistics = {k: v for k, v in corpus.statistics.items() if k in statistics}
                corpus.fixed = {k: v for k, v in corpus.fixed.items() if k in fixed}
            continue
        for key in added:
            name = key[len(BY_GROUP_PREFIX) :] if key.startswith(BY_GROUP_PREFIX) else key
            directions[key] = component.reward.direction(name[len(prefix) :])
            if key in corpus_a.fixed:
                fixed_notes[key] = "no resampling path for this metric: values and delta only"

    point_a = corpus_a.evaluate(np.ones((corpus_a.units, 1)))
    point_b = corpus_b.evaluate(np.ones((corpus_b.units, 1)))
    draws = _bootstrap(corpus_a, corpus_b, is_paired, bootstrap, seed)
    perm_rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))

    rewards: dict[str, RewardDelta] = {}
    for key in reward_keys:
        a, b = float(point_a[REWARD + key][0]), float(point_b[REWARD + key][0])
        delta = b - a
        ci = stats.percentile_interval(draws[REWARD + key], confidence) if np.isfinite(delta) else None
        p, win, n = _tests(
            *reward_units[key], unit_a, unit_b, units, is_paired, reward_directions.get(key), bootstrap, perm_rng
        )
        rewards[key] = RewardDelta(
            _finite(a), _finite(b), _finite(delta), ci, _finite(p), _finite(win), reward_directions.get(key), n
        )

    metrics: dict[str, MetricDelta] = {}
    for key in directions:
        if key in corpus_a.fixed:
            a, b = corpus_a.fixed.get(key, np.nan), corpus_b.fixed.get(key, np.nan)
            metrics[key] = MetricDelta(_finite(a), _finite(b), _finite(b - a), None, directions[key], fixed_notes[key])
            continue
        a, b = float(point_a[key][0]), float(point_b[key][0])
        delta = b - a
        if not np.isfinite(delta):
            ci = None
        elif key in corpus_a.half:
            ci = stats.half_sample_interval(draws[key], delta, confidence)
        else:
            ci = stats.percentile_interval(draws[key], confidence)
        note = corpus_a.notes.get(key)
        metrics[key] = MetricDelta(_finite(a), _finite(b), _finite(delta), ci, directions[key], note)
    if any(m.note and "self-BLEU" in m.note for m in metrics.values()):
        notes.append("self-BLEU intervals resample the hypotheses; each one's references stay its side's full set")
    return Comparison(
        SideSummary(side_a.label, side_a.files, len(rows_a)),
        SideSummary(side_b.label, side_b.files, len(rows_b)),
        is_paired,
        units if is_paired else 0,
        rewards,
        metrics,
        bootstrap,
        seed,
        confidence,
        notes,
        sides=(side_a, side_b),
    )


def _bootstrap(corpus_a: SideCorpus, corpus_b: SideCorpus, paired: bool, resamples: int, seed: int) -> dict:
    """Every statistic's resampled distribution of ``B - A``: bootstrap weights, or half-sample
    weights for the keys in ``half`` (the same draws for both sides when paired)."""
    out: dict[str, list[np.ndarray]] = {key: [] for key in corpus_a.statistics}
    if resamples < 1:
        return {key: np.zeros(0) for key in out}
    for half, chunks in ((False, stats.weight_chunks), (True, stats.half_sample_chunks)):
        if not any((key in corpus_a.half) == half for key in out):
            continue
        seeds = np.random.SeedSequence([seed, int(half)]).spawn(2)
        rng_a, rng_b = np.random.default_rng(seeds[0]), np.random.default_rng(seeds[1])
        for w_a in chunks(corpus_a.units, resamples, rng_a):
            k = w_a.shape[1]
            w_b = w_a if paired else np.concatenate(list(chunks(corpus_b.units, k, rng_b)), axis=1)
            values_a, values_b = corpus_a.evaluate(w_a, half), corpus_b.evaluate(w_b, half)
            for key in values_a:
                out[key].append(values_b[key] - values_a[key])
    return {key: np.concatenate(parts) if parts else np.zeros(0) for key, parts in out.items()}


def _tests(
    va: np.ndarray,
    vb: np.ndarray,
    unit_a: np.ndarray,
    unit_b: np.ndarray,
    units: int,
    paired: bool,
    direction: bool | None,
    permutations: int,
    rng: np.random.Generator,
) -> tuple[float | None, float, int]:
    """A reward's permutation p-value (None without permutations), win rate of B, and how many
    prompts (paired) or samples (unpaired, the smaller side) carried it."""
    if paired:
        ma, mb = UnitMeans(va, unit_a, units), UnitMeans(vb, unit_b, units)
        present = ma.counts > 0
        means_a, means_b = ma.sums[present] / ma.counts[present], mb.sums[present] / mb.counts[present]
        p = stats.sign_flip_p(means_b - means_a, permutations, rng) if permutations else None
        return p, stats.paired_win_rate(means_a, means_b, direction), int(present.sum())
    xa, xb = va[np.isfinite(va)], vb[np.isfinite(vb)]
    p = stats.label_shuffle_p(xa, xb, permutations, rng) if permutations else None
    return p, stats.superiority(xa, xb, direction), int(min(len(xa), len(xb)))


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
    averaged over groups; a resample weighs each group by its unit's weight."""
    import math

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
        out = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return out


def _finite(value: Any) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)

"""From two sides' rows to a :class:`~rewardhub.compare.result.Comparison`.

Pairing: a sample's prompt is its key; ``paired="auto"`` pairs when at least half of all the
distinct prompts (of both sides together) were answered by both sides. Paired, the units are
the shared prompts (with all their samples on each side; prompts answered by one side only are
left out and counted in the notes); unpaired, every sample is a unit and the two sides vary
independently. Intervals leave units out (:mod:`rewardhub.compare.jackknife`); groups of units
(above 1,000) and random permutations are drawn from ``seed``, so a run is reproducible.

Rewards: :mod:`rewardhub.compare.reward_deltas`; metrics: :mod:`rewardhub.compare.metric_deltas`.
No numpy warning reaches the caller: what cannot be computed is None with a reason.
Tested in ``tests/test_compare_stats.py`` and ``tests/test_compare_exclusions.py``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rewardhub.compare import metric_deltas
from rewardhub.compare.corpus import SideCorpus
from rewardhub.compare.result import Comparison, SideSummary
from rewardhub.compare.reward_deltas import reward_delta
from rewardhub.compare.sides import ScoredRow, Side, tokenizers


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


def quiet(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``fn`` with numpy's floating-point warnings off: what cannot be computed comes back as
    None with a reason, never as a warning on the user's terminal."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return fn(*args, **kwargs)

    return wrapper


@quiet
def analyse(
    side_a: Side,
    side_b: Side,
    reward_keys: Sequence[str],
    reward_directions: dict[str, bool | None],
    metric_components: Sequence[Any],
    *,
    paired: str = "auto",
    permutations: int = 2000,
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
    seeds = np.random.SeedSequence(seed).spawn(2)
    rng_rewards, rng_metrics = np.random.default_rng(seeds[0]), np.random.default_rng(seeds[1])

    rewards = {
        key: reward_delta(
            rows_a,
            rows_b,
            key,
            (unit_a, unit_b, units) if is_paired else None,
            reward_directions.get(key),
            permutations,
            confidence,
            rng_rewards,
        )
        for key in reward_keys
    }

    corpus_a = SideCorpus([r.sample for r in rows_a], unit_a, units if is_paired else len(rows_a))
    corpus_b = SideCorpus([r.sample for r in rows_b], unit_b, units if is_paired else len(rows_b))
    directions, exact = metric_deltas.register(corpus_a, corpus_b, metric_components, by_group, notes)
    metrics = metric_deltas.metric_deltas(corpus_a, corpus_b, directions, exact, is_paired, confidence, rng_metrics)

    used_a, used_b = tokenizers(side_a), tokenizers(side_b)
    return Comparison(
        SideSummary(side_a.label, side_a.files, len(rows_a)),
        SideSummary(side_b.label, side_b.files, len(rows_b)),
        is_paired,
        units if is_paired else 0,
        rewards,
        metrics,
        permutations,
        seed,
        confidence,
        notes,
        {"a": used_a, "b": used_b, "mismatch": len(set(used_a) | set(used_b)) > 1},
        sides=(side_a, side_b),
    )

"""How several reward components become one training signal: ``sum``, ``normalize_then_sum``, ``gdpo``.

Pure functions over per-component value lists (``None``: no value), weights, one group key per
sample and the ``missing`` policy; the engine calls :func:`advantages` after every scoring pass
(``Scorer(aggregation=...)``, ``ScoreBatch.advantages``) and telemetry calls the same functions.
The batch is what one ``score()`` call scored (a trainer's step, a ``serve`` flush).

- ``sum`` (the default): the weighted total only (:func:`rewardhub.engine.weighted_total`);
  ``advantages`` is ``None``: the trainer normalizes the total itself (GRPO: "sum, then
  normalize within the group"). :func:`grpo_advantages` gives what it computes, for display.
- ``normalize_then_sum``: group-decoupled normalization in **TRL's exact convention**
  (``GRPOConfig(multi_objective_aggregation="normalize_then_sum")``, TRL 1.16
  ``GRPOTrainer._generate_and_score_completions``): each component is normalized within its
  group, ``(r - mean) / (std + 1e-4)`` with NaN-aware mean and Bessel-corrected std; the
  normalized components are summed with the weights; that sum is normalized over the batch,
  ``(A - mean) / (std + 1e-4)`` (Bessel). This is GDPO; TRL's ``scale_rewards`` plays no part in it.
- ``gdpo``: the same algorithm in the convention of the GDPO paper (Liu et al., "GDPO: Group
  reward-Decoupled Normalization Policy Optimization", arXiv 2601.05242) as verl implements it
  (``algorithm.adv_estimator=gdpo``, ``verl.trainer.ppo.core_algos.compute_gdpo_outcome_advantage``,
  verl 0.9.1): per component and group ``(r - mean) / (std + 1e-6)`` (Bessel), the weighted sum,
  then whitening over the batch ``(A - mean) / sqrt(var + 1e-8)`` (Bessel). verl whitens over
  response *tokens* (a long response counts once per token); here every sample counts once, as
  in the paper: the two agree when every response has the same length.

So the two group-normalized modes differ only in their epsilons: pick the one named after your
trainer and rewardhub's advantages are that trainer's own (tested against TRL's and verl's code).

Edge cases, the same in both modes: a group with fewer than two values of a component gives
that component a normalized value of 0.0 for its one sample (no comparison, no signal: TRL's
``nansum`` gives the same; verl gives a lone sample its raw score, which is not used here); a
component without a value for a sample stays ``None`` and the weighted sum of the normalized
components follows the ``missing`` policy exactly as the total does (``skip``: adds nothing,
i.e. the group's mean; ``renormalize``: the present weights are scaled up to the full weight;
``propagate``: the sample's advantage is ``None``); a sample with no component at all has a
``None`` advantage (TRL hands it 0.0, an adapter fills it under its fill policy); a batch with
one usable sample gives it 0.0. Components are normalized separately, so a group in which one
component has no spread still carries the others' signal: :func:`zero_spread_groups` counts
such groups per component (summing first would hide them: SkyRL #2104).

Tested in ``tests/test_aggregation.py`` (hand-computed cases, hypothesis against TRL's and
verl's own code paths, every ``missing`` policy).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence

from rewardhub.config import AGGREGATIONS

#: ``(group epsilon, batch step)`` per group-normalized mode; see the module doc.
_CONVENTIONS = {"normalize_then_sum": (1e-4, "trl"), "gdpo": (1e-6, "whiten")}

#: TRL's epsilon in ``(r - mean) / (std + eps)`` (``GRPOTrainer``, every scale_rewards mode).
TRL_EPSILON = 1e-4

Values = Sequence["float | None"]


def weighted_total(row: Mapping[str, float | None], weights: Mapping[str, float], missing: str) -> float | None:
    """The weighted total of one sample's components ``row`` under the ``missing`` policy
    (see :class:`rewardhub.Scorer`); ``weights`` has a weight for every key of ``row``."""
    present = {k: v for k, v in row.items() if v is not None}
    if not present or (missing == "propagate" and len(present) < len(row)):
        return None
    total = sum(weights[k] * v for k, v in present.items())
    if missing == "renormalize" and len(present) < len(row):
        got = sum(weights[k] for k in present)
        total = total * sum(weights[k] for k in row) / got if got else total
    return float(total) if math.isfinite(total) else None


def check_aggregation(value: str) -> str:
    if value not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {', '.join(AGGREGATIONS)}, got {value!r}")
    return value


def group_indices(groups: Sequence[Hashable]) -> list[list[int]]:
    """Sample indices per group key, in order of first appearance."""
    found: dict[Hashable, list[int]] = {}
    for i, key in enumerate(groups):
        found.setdefault(key, []).append(i)
    return list(found.values())


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and Bessel-corrected standard deviation (std ``nan`` for fewer than two values)."""
    n = len(values)
    mean = math.fsum(values) / n
    if n < 2:
        return mean, math.nan
    return mean, math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))


def group_normalize(values: Values, groups: Sequence[Hashable], epsilon: float = TRL_EPSILON) -> list[float | None]:
    """Each value as ``(v - group mean) / (group std + epsilon)`` over the group's present values;
    ``None`` stays ``None``; a group with one value gives it 0.0."""
    out: list[float | None] = [None] * len(values)
    for members in group_indices(groups):
        present = [i for i in members if values[i] is not None]
        if not present:
            continue
        mean, std = mean_std([float(values[i]) for i in present])  # type: ignore[arg-type]
        for i in present:
            out[i] = 0.0 if math.isnan(std) else (float(values[i]) - mean) / (std + epsilon)  # type: ignore[arg-type]
    return out


def batch_normalize(values: Values, step: str = "trl") -> list[float | None]:
    """Over the whole batch's present values: ``"trl"``: ``(v - mean) / (std + 1e-4)``;
    ``"whiten"``: ``(v - mean) / sqrt(var + 1e-8)`` (both Bessel); one value: 0.0."""
    present = [float(v) for v in values if v is not None]
    if not present:
        return [None] * len(values)
    mean, std = mean_std(present)
    if math.isnan(std):
        return [None if v is None else 0.0 for v in values]
    scale = std + TRL_EPSILON if step == "trl" else math.sqrt(std * std + 1e-8)
    return [None if v is None else (float(v) - mean) / scale for v in values]


def combine(normalized: Mapping[str, Values], weights: Mapping[str, float], missing: str, n: int) -> list[float | None]:
    """Per sample, the weighted sum of its components under the ``missing`` policy."""
    return [weighted_total({k: col[i] for k, col in normalized.items()}, weights, missing) for i in range(n)]


def advantages(
    components: Mapping[str, Values],
    weights: Mapping[str, float],
    groups: Sequence[Hashable],
    *,
    aggregation: str = "sum",
    missing: str = "skip",
) -> list[float | None] | None:
    """The advantage of each sample under ``aggregation`` (``None`` for ``sum``: see the module doc).

    ``components``: ``{key: one value or None per sample}``; ``weights``: ``{key: weight}``;
    ``groups``: one hashable group key per sample (a GRPO group: the answers to one prompt).
    """
    check_aggregation(aggregation)
    if aggregation == "sum":
        return None
    epsilon, step = _CONVENTIONS[aggregation]
    n = len(groups)
    normalized = {k: group_normalize(col, groups, epsilon) for k, col in components.items()}
    summed = combine(normalized, weights, missing, n)
    return batch_normalize(summed, step)


def grpo_advantages(totals: Values, groups: Sequence[Hashable], epsilon: float = TRL_EPSILON) -> list[float | None]:
    """What a GRPO trainer makes of the weighted totals (``sum``): each total normalized within
    its group, ``(r - mean) / (std + 1e-4)`` (TRL's default ``scale_rewards="group"``)."""
    return group_normalize(totals, groups, epsilon)


def zero_spread_groups(values: Values, groups: Sequence[Hashable]) -> tuple[int, int]:
    """``(groups where every present value is the same, groups with two or more values)``."""
    flat = compared = 0
    for members in group_indices(groups):
        present = [values[i] for i in members if values[i] is not None]
        if len(present) >= 2:
            compared += 1
            flat += max(present) == min(present)  # type: ignore[type-var]
    return flat, compared


__all__ = [
    "AGGREGATIONS",
    "advantages",
    "batch_normalize",
    "check_aggregation",
    "group_normalize",
    "grpo_advantages",
    "weighted_total",
    "zero_spread_groups",
]

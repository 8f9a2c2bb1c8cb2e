"""What samples cost the served rewards, for batches closed by a budget (the batcher's part).

A reward that overrides :meth:`rewardhub.Reward.cost` (a reward model: the tokens each sample
reads) and has a budget (its ``cost_budget``, or ``serve --max-batch-tokens``) is *costed*: the
batcher asks its costs as a request arrives and never puts more than the budget's worth of
samples in one batch (:mod:`rewardhub.serve.batcher`). A ``cost`` that fails or answers
something other than one non-negative integer per sample leaves that request batched by sample
count, with one warning per reward. Tested in ``tests/test_serve_cost_batching.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rewardhub.engine import Scorer
from rewardhub.rewards import Reward
from rewardhub.types import Sample

logger = logging.getLogger("rewardhub.serve")

Costs = dict[str, list[int]]  # per costed reward, what each sample of a request costs it


class Budgets:
    """The costed rewards of a scorer and their budgets (``max_cost`` overrides; 0: none)."""

    def __init__(self, scorer: Scorer, max_cost: int | None = None):
        self.rewards: dict[str, Reward] = {}
        self.limits: dict[str, int] = {}
        self._warned: set[str] = set()
        if max_cost == 0:
            return
        for c in scorer.components:
            budget = max_cost if max_cost is not None else getattr(c.reward, "cost_budget", None)
            if _overrides_cost(c.reward) and _count(budget) and budget > 0:
                self.rewards[c.key], self.limits[c.key] = c.reward, int(budget)

    def __bool__(self) -> bool:
        return bool(self.limits)

    def ask(self, samples: Sequence[Sample]) -> Costs:
        """Per costed reward, what each sample costs; a reward whose answer is unusable is left
        out (its budget does not bind these samples)."""
        out: Costs = {}
        for key, reward in self.rewards.items():
            try:
                costs = reward.cost(samples)
            except Exception as exc:
                self._warn(key, f"its cost() failed ({type(exc).__name__}: {exc})")
                continue
            if costs is None:
                continue
            if not isinstance(costs, (list, tuple)) or len(costs) != len(samples) or not all(map(_count, costs)):
                self._warn(key, f"its cost() did not give one non-negative integer for each of {len(samples)} samples")
                continue
            out[key] = [int(c) for c in costs]
        return out

    def of(self, costs: Costs, piece: Sequence[int]) -> dict[str, int]:
        """What the samples at ``piece`` cost, per costed reward."""
        return {key: sum(values[i] for i in piece) for key, values in costs.items()}

    def over(self, spent: dict[str, int], cost: dict[str, int]) -> bool:
        """Whether adding ``cost`` to ``spent`` passes a budget."""
        return any(spent.get(key, 0) + value > self.limits[key] for key, value in cost.items())

    def full(self, spent: dict[str, int]) -> bool:
        """Whether ``spent`` has reached a budget."""
        return any(spent.get(key, 0) >= limit for key, limit in self.limits.items())

    def _warn(self, key: str, why: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            logger.warning("rewardhub serve: batching %s by sample count: %s", key, why)


def add(spent: dict[str, int], cost: dict[str, int]) -> None:
    for key, value in cost.items():
        spent[key] = spent.get(key, 0) + value


def _overrides_cost(reward: Any) -> bool:
    method = getattr(type(reward), "cost", None)
    return callable(method) and method is not Reward.cost


def _count(value: Any) -> bool:
    """A non-negative integer (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0

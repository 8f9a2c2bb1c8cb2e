"""What every endpoint scores through: the scorer, its batcher and the metrics, in one object.

The protocols (:mod:`rewardhub.serve.protocols`) turn a request body into samples, call
:meth:`Service.score`, and shape the results; none of them touches the batcher or the engine
directly, so every protocol gets the same batching, deadlines and refusals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rewardhub.engine import Scorer
from rewardhub.engine.results import ScoreBatch
from rewardhub.serve.batcher import Batcher, DeadlineExceeded, QueueFull, TooLarge
from rewardhub.serve.http import ClientError
from rewardhub.serve.prometheus import ServeMetrics
from rewardhub.types import Sample


@dataclass
class Service:
    scorer: Scorer
    batcher: Batcher
    metrics: ServeMetrics
    ready: asyncio.Event | None = None
    warmup_errors: dict[str, str] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.scorer.components]

    @property
    def missing(self) -> str:
        return self.scorer.missing

    async def score(self, samples: Sequence[Sample], deadline: float | None, endpoint: str) -> ScoreBatch:
        """Score one request's samples through the shared batcher; ``deadline`` in seconds."""
        loop = asyncio.get_running_loop()
        try:
            batch = await self.batcher.score(samples, None if deadline is None else loop.time() + deadline)
        except (QueueFull, TooLarge, DeadlineExceeded):
            raise
        except Exception as exc:  # the engine could not take these samples at all
            raise ClientError(422, f"samples: could not be scored: {type(exc).__name__}: {exc}") from exc
        self.metrics.observe_results(endpoint, batch)
        return batch

    def describe(self) -> list[dict[str, Any]]:
        """What this server serves: each reward's key, weight, version and direction."""
        out = []
        for c in self.scorer.components:
            reward = c.reward
            out.append(
                {
                    **c.describe(),
                    "key": c.key,
                    "group_aware": bool(getattr(reward, "group_aware", False)),
                    "higher_is_better": getattr(reward, "higher_is_better", True),
                }
            )
        return out

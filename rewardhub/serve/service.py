"""What every endpoint scores through: the scorer, its batcher and the metrics, in one object.

The protocols (:mod:`rewardhub.serve.protocols`) turn a request body into samples, call
:meth:`Service.score`, and shape the results; none of them touches the batcher or the engine
directly, so every protocol gets the same batching, deadlines, refusals and recording.

Under a group-normalized ``aggregation`` (``normalize_then_sum``, ``gdpo``) each request's
``ScoreBatch.advantages`` are computed over **that request's samples** (:func:`request_advantages`),
never over the flush the batcher happened to put it in, so an answer depends only on its
request. A sample whose group has no other member in the request has no advantage (``None``:
one sample cannot be normalized against anything). With ``serve --run-dir`` every scored request
goes to the telemetry hook (:mod:`rewardhub.telemetry.trainer_hook`, a step per
``--record-every`` samples), off the event loop; a failing record is logged, never the client's
problem. Tested in ``tests/test_serve_telemetry.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rewardhub.engine import Scorer
from rewardhub.engine.aggregation import advantages, group_indices
from rewardhub.engine.results import ScoreBatch
from rewardhub.serve.batcher import Batcher, DeadlineExceeded, QueueFull, TooLarge
from rewardhub.serve.http import ClientError
from rewardhub.serve.prometheus import ServeMetrics
from rewardhub.types import Sample

logger = logging.getLogger("rewardhub.serve")


def request_advantages(batch: ScoreBatch, aggregation: str, missing: str) -> list[float | None] | None:
    """The advantages of one request's samples under ``aggregation`` (``None`` for ``sum``), over
    the samples whose group has two or more members in the request; the others get ``None``."""
    if aggregation == "sum":
        return None
    groups = [s.group_key for s in batch.samples]
    usable = sorted(i for members in group_indices(groups) if len(members) > 1 for i in members)
    out: list[float | None] = [None] * len(batch)
    if usable:
        components = {k: [v[i] for i in usable] for k, v in batch.components.items()}
        found = advantages(
            components, batch.weights, [groups[i] for i in usable], aggregation=aggregation, missing=missing
        )
        for i, value in zip(usable, found or [], strict=True):
            out[i] = value
    return out


@dataclass
class Service:
    scorer: Scorer
    batcher: Batcher
    metrics: ServeMetrics
    ready: asyncio.Event | None = None
    warmup_errors: dict[str, str] = field(default_factory=dict)
    #: ``serve --run-dir``'s hook (a :class:`~rewardhub.telemetry.trainer_hook.StepTelemetry`), or None.
    telemetry: Any = None
    _record_failed: bool = False

    @property
    def aggregation(self) -> str:
        """The served config's ``aggregation`` (a replica set's: its first copy's)."""
        scorer = getattr(self.scorer, "scorers", [self.scorer])[0]
        return getattr(scorer, "aggregation", "sum")

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
        aggregation = self.aggregation
        if aggregation != "sum":
            batch = dataclasses.replace(
                batch, advantages=request_advantages(batch, aggregation, self.missing), aggregation=aggregation
            )
        if self.telemetry is not None and len(batch):
            await self._record(batch)
        return batch

    async def _record(self, batch: ScoreBatch) -> None:
        try:
            await asyncio.to_thread(self.telemetry.add, batch)
        except Exception:  # the answer is the client's; a record that fails is the operator's
            if not self._record_failed:
                logger.exception("rewardhub serve: recording into the run directory failed")
                self._record_failed = True

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

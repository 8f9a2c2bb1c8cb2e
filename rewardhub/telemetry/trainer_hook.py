"""What an adapter calls after scoring a trainer's batch: record the step, and hand the same
numbers to the trainer's own logger.

:class:`StepTelemetry` wraps a :class:`~rewardhub.telemetry.Recorder` for one adapter: it reads
the step from the trainer (TRL's ``trainer_state.global_step`` + 1: the optimizer step this batch
trains), the response lengths from the trainer's token ids, and sends every finite number of the
record to a ``log_metric(name, value)`` callback (TRL passes one to reward functions: the values
join ``rewards/<name>/mean`` in its logs, hence W&B or TensorBoard where installed). Each process
of a multi-process run records its own share, marked ``rank N`` (``$RANK``). Files are written
from the recorder's background thread; a write that fails is warned about once and never stops
the training. Tested through the
TRL adapter in ``tests/test_dashboard_grpo.py``.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rewardhub.results import ScoreBatch
from rewardhub.telemetry.recorder import RUN_DIR_ENV, Recorder
from rewardhub.types import Sample

PREFIX = "rewardhub/"


def run_dir_from(value: str | os.PathLike[str] | None) -> str | os.PathLike[str] | None:
    """``value``, else ``$REWARDHUB_RUN_DIR``, else ``None`` (no recording)."""
    return value if value is not None else (os.environ.get(RUN_DIR_ENV) or None)


def scalars(record: dict[str, Any]) -> Iterator[tuple[str, float]]:
    """The record's numbers as ``(name, value)`` for a trainer's logger, finite ones only."""
    for key, stats in record.get("rewards", {}).items():
        for field in ("length_spearman", "missing", "zero_std_groups"):
            yield f"{PREFIX}{key}/{field}", stats.get(field)
    for name, value in record.get("corpus", {}).items():
        yield f"{PREFIX}{name}", value
    for name, value in record.get("cumulative", {}).items():
        if name.startswith("distinct_"):
            yield f"{PREFIX}cumulative/{name}", value


class StepTelemetry:
    """Records each scored batch of one adapter (see the module doc)."""

    def __init__(self, run_dir: str | os.PathLike[str], source: str, **options: Any):
        rank = os.environ.get("RANK")
        options.setdefault("background", True)  # the trainer's step waits for no file write
        self.recorder = Recorder(run_dir, source=source if rank is None else f"{source} rank {rank}", **options)
        self._warned = False

    def record(
        self,
        samples: Sequence[Sample],
        batch: ScoreBatch,
        *,
        step: int | None = None,
        token_ids: Sequence[Sequence[int]] | None = None,
        log_metric: Callable[[str, float], Any] | None = None,
    ) -> dict[str, Any]:
        lengths = [len(ids) for ids in token_ids] if token_ids is not None else None
        try:
            record = self.recorder.record(samples, batch, step, response_tokens=lengths)
        except OSError as exc:  # a full disk costs the record, never the training run
            if not self._warned:
                warnings.warn(f"rewardhub telemetry: recording stopped working: {exc}", stacklevel=2)
                self._warned = True
            return {}
        if callable(log_metric):
            for name, value in scalars(record):
                if isinstance(value, (int, float)) and math.isfinite(value):
                    log_metric(name, float(value))
        return record

    def record_trl(self, samples: Sequence[Sample], batch: ScoreBatch, kwargs: dict[str, Any], completion_ids: Any):
        """A TRL reward-function call's batch: step from ``trainer_state``, lengths from
        ``completion_ids``, numbers to ``log_metric``."""
        state = kwargs.get("trainer_state")
        step = getattr(state, "global_step", None)
        return self.record(
            samples,
            batch,
            step=None if step is None else int(step) + 1,
            token_ids=completion_ids if completion_ids is not None and len(completion_ids) == len(samples) else None,
            log_metric=kwargs.get("log_metric"),
        )

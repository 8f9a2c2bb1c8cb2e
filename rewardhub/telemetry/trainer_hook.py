"""What an adapter calls after scoring a trainer's batch: record the step, and hand the same
numbers to the trainer's own logger. Every adapter (TRL, verl, OpenRLHF, ms-swift) and ``serve``
record through this one hook.

:class:`StepTelemetry` wraps a :class:`~rewardhub.telemetry.Recorder` for one adapter: it reads
the step from the trainer where it says (TRL's and ms-swift's ``trainer_state.global_step`` + 1:
the optimizer step this batch trains; else one more than the highest recorded), the response
lengths from the trainer's token ids, and sends every finite number of the record to a
``log_metric(name, value)`` callback where the trainer passes one (TRL: the values join
``rewards/<name>/mean`` in its logs, hence W&B or TensorBoard where installed). Each process of a
multi-process run records its own share, marked ``rank N`` (``$RANK``). Files are written from the
recorder's background thread; a write that fails is warned about once and never stops the training.

Trainers that score one sample per call (verl's per-sample ``compute_score``, OpenRLHF's executor,
``serve``'s requests) give each call to :meth:`StepTelemetry.add` with ``record_every=N``: a step
is recorded per N samples (exactly N: a call that crosses the line is split), and what is left
is recorded as a last, smaller step by :meth:`StepTelemetry.close` (also at interpreter exit).
Without ``record_every``, each call is one step. :func:`telemetry_for` gives the adapters one
hook per run directory and source for the life of the process (``run_dir=`` argument, else
``$REWARDHUB_RUN_DIR``; ``record_every`` argument, else ``$REWARDHUB_RECORD_EVERY``). Tested
through the TRL adapter in ``tests/test_dashboard_grpo.py``, the verl, OpenRLHF and ms-swift
adapters in ``tests/test_telemetry_adapters.py`` and ``serve`` in ``tests/test_serve_telemetry.py``.
"""

from __future__ import annotations

import atexit
import math
import os
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rewardhub.engine.results import ScoreBatch
from rewardhub.telemetry.recorder import RUN_DIR_ENV, Recorder
from rewardhub.types import Sample

PREFIX = "rewardhub/"
#: The variable giving ``record_every`` (samples per recorded step) where no argument does.
RECORD_EVERY_ENV = "REWARDHUB_RECORD_EVERY"


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


def record_every_from(value: int | str | None) -> int | None:
    """``value``, else ``$REWARDHUB_RECORD_EVERY``, as a positive int; ``None``: each call is a step."""
    value = value if value is not None else (os.environ.get(RECORD_EVERY_ENV) or None)
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise ValueError(f"rewardhub: record_every ({RECORD_EVERY_ENV}) must be a positive integer, got {value!r}")
    return number


def concat(batches: Sequence[ScoreBatch]) -> ScoreBatch:
    """One batch of several, in order (their advantages too, as each call computed them)."""
    first = batches[0]
    keys = list(first.components)
    advantages = None
    if any(b.advantages is not None for b in batches):
        advantages = [a for b in batches for a in (b.advantages or [None] * len(b))]
    return ScoreBatch(
        [s for b in batches for s in b.samples],
        {k: [v for b in batches for v in b.components.get(k, [None] * len(b))] for k in keys},
        {k: [v for b in batches for v in b.infos.get(k, [{}] * len(b))] for k in first.infos},
        [e for b in batches for e in b.errors],
        [t for b in batches for t in b.totals],
        dict(first.weights),
        advantages,
        first.aggregation,
    )


def _part(batch: ScoreBatch, start: int, stop: int) -> ScoreBatch:
    return ScoreBatch(
        batch.samples[start:stop],
        {k: v[start:stop] for k, v in batch.components.items()},
        {k: v[start:stop] for k, v in batch.infos.items()},
        batch.errors[start:stop],
        batch.totals[start:stop],
        dict(batch.weights),
        None if batch.advantages is None else batch.advantages[start:stop],
        batch.aggregation,
    )


class StepTelemetry:
    """Records each scored batch of one adapter (see the module doc)."""

    def __init__(self, run_dir: str | os.PathLike[str], source: str, record_every: int | None = None, **options: Any):
        rank = os.environ.get("RANK")
        options.setdefault("background", True)  # the trainer's step waits for no file write
        self.recorder = Recorder(run_dir, source=source if rank is None else f"{source} rank {rank}", **options)
        self.record_every = record_every
        self._warned = False
        self._lock = threading.Lock()
        self._pending: list[tuple[ScoreBatch, list[int | None] | None]] = []
        self._pending_n = 0
        self.samples_seen = 0
        if record_every is not None:
            atexit.register(self.close)

    def add(self, batch: ScoreBatch, token_ids: Sequence[Sequence[int]] | None = None) -> list[dict[str, Any]]:
        """One call's scored samples: recorded as one step without ``record_every``, else kept
        until ``record_every`` samples are in (then one step each); returns the records made."""
        lengths = [len(ids) for ids in token_ids] if token_ids is not None else None
        if self.record_every is None:
            return [r for r in [self._safe_record(batch, lengths)] if r]
        records = []
        with self._lock:
            self.samples_seen += len(batch)
            start = 0
            while start < len(batch):
                take = min(self.record_every - self._pending_n, len(batch) - start)
                part = lengths[start : start + take] if lengths is not None else None
                self._pending.append((_part(batch, start, start + take), part))
                self._pending_n += take
                start += take
                if self._pending_n >= self.record_every:
                    records.append(self._record_pending())
        return [r for r in records if r]

    def _record_pending(self) -> dict[str, Any]:
        pending, self._pending, self._pending_n = self._pending, [], 0
        merged = concat([b for b, _ in pending])
        lengths = None
        if all(part is not None for _, part in pending):
            lengths = [n for _, part in pending for n in part or []]
        return self._safe_record(merged, lengths)

    def close(self) -> None:
        """Record what :meth:`add` still holds (a last, smaller step) and wait for the files."""
        with self._lock:
            if self._pending_n:
                self._record_pending()
        try:
            self.recorder.flush()
        except OSError as exc:
            self._warn(exc)

    def _warn(self, exc: Exception) -> None:
        if not self._warned:
            warnings.warn(f"rewardhub telemetry: recording stopped working: {exc}", stacklevel=3)
            self._warned = True

    def _safe_record(
        self, batch: ScoreBatch, lengths: Sequence[int | None] | None, step: int | None = None, samples: Any = None
    ) -> dict[str, Any]:
        try:
            return self.recorder.record(
                batch.samples if samples is None else samples, batch, step, response_tokens=lengths
            )
        except OSError as exc:  # a full disk costs the record, never the training run
            self._warn(exc)
            return {}

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
        record = self._safe_record(batch, lengths, step, samples)
        if record and callable(log_metric):
            for name, value in scalars(record):
                if isinstance(value, (int, float)) and math.isfinite(value):
                    log_metric(name, float(value))
        return record

    def record_trl(self, samples: Sequence[Sample], batch: ScoreBatch, kwargs: dict[str, Any], completion_ids: Any):
        """A TRL (or ms-swift: the same keywords) reward-function call's batch: step from
        ``trainer_state``, lengths from ``completion_ids``, numbers to ``log_metric``."""
        state = kwargs.get("trainer_state")
        step = getattr(state, "global_step", None)
        return self.record(
            samples,
            batch,
            step=None if step is None else int(step) + 1,
            token_ids=completion_ids if completion_ids is not None and len(completion_ids) == len(samples) else None,
            log_metric=kwargs.get("log_metric"),
        )


_shared: dict[tuple[str, str], StepTelemetry] = {}
_shared_lock = threading.Lock()


def telemetry_for(
    run_dir: str | os.PathLike[str] | None,
    source: str,
    record_every: int | str | None = None,
    default_every: int | None = None,
    **options: Any,
) -> StepTelemetry | None:
    """The hook of ``source`` recording into ``run_dir`` (else ``$REWARDHUB_RUN_DIR``), one per
    process; ``None`` when neither names a directory (no recording). ``record_every``: see
    :func:`record_every_from`, else ``default_every``; options go to the
    :class:`~rewardhub.telemetry.Recorder` the first time."""
    where = run_dir_from(run_dir)
    if where is None:
        return None
    key = (os.path.abspath(os.fspath(where)), source)
    with _shared_lock:
        if key not in _shared:
            every = record_every_from(record_every)
            _shared[key] = StepTelemetry(where, source, record_every=every or default_every, **options)
        return _shared[key]


def forget_shared() -> None:
    """Close and forget the hooks :func:`telemetry_for` keeps (tests; a trainer that starts a new run)."""
    with _shared_lock:
        hooks = list(_shared.values())
        _shared.clear()
    for hook in hooks:
        hook.close()

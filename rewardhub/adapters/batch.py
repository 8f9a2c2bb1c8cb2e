"""What the trainer adapters share about a trainer's batch: scoring it once for all its reward
columns (:class:`BatchMemo`), the float-only rows some trainers need (:func:`float_rows`), and a
trainer's per-sample column as a list (:func:`as_column`). Where the scorer comes from is
:mod:`rewardhub.adapters.scorer`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from rewardhub.adapters.fill import TOTAL_KEY, Policy, fill_rows
from rewardhub.engine.results import ScoreBatch


class BatchMemo:
    """Scores a trainer batch once although the trainer asks once per reward column.

    TRL and ms-swift call each reward function in turn with the *same* list objects, so the
    batch is recognised by the identity of those objects. The memo keeps a reference to them,
    so their ids cannot be reused by a later batch while the result is remembered, and it
    forgets the result once every column has been read.
    """

    def __init__(self, columns: int):
        self.columns = columns
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] = ()
        self._value: Any = None
        self._reads = 0

    def _hit(self, key: tuple[Any, ...]) -> bool:
        return len(key) == len(self._key) and all(a is b for a, b in zip(key, self._key, strict=False))

    def get(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """The value for the batch identified by ``key`` (a tuple of objects), computed once."""
        with self._lock:
            if not self._hit(key):
                self._key, self._value, self._reads = key, compute(), 0
            return self._read()

    def lookup(self, key: tuple[Any, ...]) -> Any:
        """The remembered value (an awaitable, for async callers) or ``None``, counting a read."""
        with self._lock:
            return self._read() if self._hit(key) else None

    def store(self, key: tuple[Any, ...], value: Any) -> Any:
        with self._lock:
            self._key, self._value, self._reads = key, value, 0
            return self._read()

    def _read(self) -> Any:
        value = self._value
        self._reads += 1
        if self._reads >= self.columns:  # every column has its copy: let the batch go
            self._key, self._value = (), None
        return value


def float_rows(batch: ScoreBatch, fill: Policy = 0.0) -> list[dict[str, float]]:
    """Per sample ``{"score": total, <component>: value, ..., "rewardhub_missing": n}``, floats only.

    For trainers that need a number everywhere (verl, OpenRLHF, slime, NeMo-Gym): a component
    or total without a value becomes what the ``fill`` policy says (:mod:`rewardhub.adapters.fill`:
    0.0 by default, a number, ``"group_mean"`` or ``"raise"``), and ``rewardhub_missing``
    counts the components filled. Every row has the same keys, as batch loggers require.
    """
    rows = [
        {TOTAL_KEY: batch.totals[i], **{name: column[i] for name, column in batch.components.items()}}
        for i in range(len(batch))
    ]
    reasons = ["; ".join(f"{k}: {e}" for k, e in errors.items()) for errors in batch.errors]
    return fill_rows(rows, [s.group_key for s in batch.samples], fill, reasons)


def as_column(value: Any, n: int) -> list[Any]:
    """A trainer's per-sample column as a list of length ``n`` (numpy arrays and tuples
    included; ``None``: a column of ``None``)."""
    if value is None:
        return [None] * n
    items = list(value.tolist() if hasattr(value, "tolist") and not isinstance(value, (str, bytes)) else value)
    if len(items) != n:
        raise ValueError(f"expected {n} values, got {len(items)}")
    return items

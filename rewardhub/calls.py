"""How the engine calls one reward's ``score()``: safely, boundedly, one at a time where needed.

Promises (tested in ``tests/test_engine_calls.py``):

- a reward with ``thread_safe = False`` is never called concurrently: not by two threads of one
  run, not by concurrent ``score``/``ascore`` calls, and not while a call of it that timed out
  is still running in its abandoned thread (the lock is released by the thread that ran the
  call, when the call really ends);
- with a ``timeout``, a call that runs longer fails with ``timed out after Xs (batch of N)``
  for exactly the samples of that call. Python cannot stop a thread, so the call keeps running
  in the background: that is reported (a :class:`RewardTimeoutWarning` and a count in
  :attr:`RewardCaller.timeouts`), and until it ends the reward is not called again: its next
  batches fail at once with a clear error, so threads and models never pile up;
- an *isolated* reward (``pure_python`` and isolated by the scorer: see
  :mod:`rewardhub.isolation`) runs in worker processes instead, where the timeout holds even
  for a call that never lets go of the GIL: the call is stopped (its process killed), not
  abandoned; if it cannot run in a process it stays in this thread path, with a warning;
- the output may be any sequence of the right length (a list, a tuple, a numpy array, a
  1-d tensor), not a string or a mapping;
- a timeout is a positive, finite number of seconds or ``None`` (:func:`check_timeout`, the
  one check for ``Scorer``, ``eval --timeout`` and ``serve --timeout``).
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Sequence
from typing import Any

from rewardhub.isolation import MAX_PROCESSES, ProcessPool, WorkerUnavailable, recipes
from rewardhub.types import Sample


def check_timeout(value: Any, name: str = "timeout") -> float | None:
    """``value`` as a timeout in seconds (``None``: no limit); ``ValueError`` unless it is a
    positive, finite number (0 would fail every call, a negative one would wait forever)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(value, bool) or not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"{name} must be a positive number of seconds, got {value}")
    return seconds


class RewardTimeoutWarning(RuntimeWarning):
    """A reward's call timed out and its thread, which cannot be stopped, is still running."""


class RewardBusyError(RuntimeError):
    """The reward was not called: an earlier call that timed out is still running."""


class RewardCaller:
    """Calls one reward (``key`` names it in messages) under the promises in the module doc.

    ``isolate``: ``None`` runs a ``pure_python`` reward in worker processes while a timeout is
    set, ``True`` always, ``False`` never; ``build`` says how a worker builds the reward again
    when it cannot be pickled (see :func:`rewardhub.isolation.recipes`).
    """

    def __init__(
        self,
        key: str,
        reward: Any,
        timeout: float | None,
        isolate: bool | None = False,
        build: dict[str, Any] | None = None,
    ):
        self.key, self.reward, self.timeout = key, reward, check_timeout(timeout)
        self.lock = None if getattr(reward, "thread_safe", True) else threading.Lock()
        self.isolate, self.build = isolate, build
        self.timeouts = 0  # calls that timed out (in a thread; the pool counts its own)
        self._abandoned: list[threading.Thread] = []
        self._state = threading.Lock()
        self._pool: ProcessPool | None = None
        self._unavailable = False  # no worker process can run this reward: threads it is

    @property
    def isolated(self) -> bool:
        """Whether calls run in worker processes (see the class doc)."""
        if self._unavailable or not getattr(self.reward, "pure_python", False) or self.isolate is False:
            return False
        return self.isolate is True or self.timeout is not None

    @property
    def timed_out(self) -> int:
        """Calls that timed out, in threads or in worker processes."""
        return self.timeouts + (self._pool.timeouts if self._pool is not None else 0)

    def close(self) -> None:
        """Stop this reward's worker processes, if it has any."""
        if self._pool is not None:
            self._pool.close()

    def running_abandoned(self) -> int:
        """How many timed-out calls of this reward are still running."""
        with self._state:
            self._abandoned = [t for t in self._abandoned if t.is_alive()]
            return len(self._abandoned)

    def call(self, batch: Sequence[Sample]) -> list[Any]:
        """``reward.score(batch)`` checked to give one entry per sample, as a list."""
        if self.isolated:
            try:
                return self._call_isolated(batch)
            except WorkerUnavailable as exc:
                self._unavailable = True
                warnings.warn(
                    f"reward {self.key!r} runs in a thread, not a worker process ({exc}): a timeout "
                    "cannot stop a call of it that holds the GIL",
                    RewardTimeoutWarning,
                    stacklevel=2,
                )
        if self.running_abandoned():
            raise RewardBusyError(
                f"not called: an earlier call of {self.key!r} timed out and is still running "
                "(a reward is never called again while it runs)"
            )
        if self.timeout is None:
            if self.lock is None:
                return as_list(self.reward.score(batch), len(batch))
            with self.lock:
                return as_list(self.reward.score(batch), len(batch))
        return self._call_with_timeout(batch, self.timeout)

    def _call_isolated(self, batch: Sequence[Sample]) -> list[Any]:
        with self._state:
            if self._pool is None:
                size = MAX_PROCESSES if self.lock is None else 1
                self._pool = ProcessPool(self.key, recipes(self.reward, self.build), size)
            pool = self._pool
        return as_list(pool.call(batch, self.timeout), len(batch))

    def _call_with_timeout(self, batch: Sequence[Sample], timeout: float) -> list[Any]:
        lock = self.lock
        if lock is not None and not lock.acquire(timeout=timeout):
            raise TimeoutError(
                f"timed out after {timeout:g}s waiting for another call of {self.key!r} (not thread safe) to end"
            )
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["out"] = self.reward.score(batch)
            except BaseException as exc:  # re-raised in the caller's thread
                box["exc"] = exc
            finally:
                if lock is not None:
                    lock.release()  # only when the call really ends, even if abandoned

        worker = threading.Thread(target=target, daemon=True, name=f"rewardhub-{self.key}")
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            with self._state:
                self._abandoned.append(worker)
                self.timeouts += 1
            warnings.warn(
                f"reward {self.key!r}: a call timed out after {timeout:g}s (batch of {len(batch)}); "
                "its thread cannot be stopped and keeps running, and the reward is not called "
                "again until it ends",
                RewardTimeoutWarning,
                stacklevel=2,
            )
            raise TimeoutError(f"timed out after {timeout:g}s (batch of {len(batch)})")
        if "exc" in box:
            raise box["exc"]
        return as_list(box["out"], len(batch))


def as_list(out: Any, n: int) -> list[Any]:
    """A reward's output as a list of ``n`` entries; any sequence type is accepted (a numpy
    array or a tensor too), a string, bytes or mapping is not."""
    if isinstance(out, list):
        values = out
    elif isinstance(out, (str, bytes, dict)) or not hasattr(out, "__len__") or not hasattr(out, "__iter__"):
        raise ValueError(f"score() returned {type(out).__name__}, expected a sequence of {n} values")
    else:
        if getattr(out, "ndim", 1) != 1:
            raise ValueError(f"score() returned an array of shape {tuple(out.shape)}, expected ({n},)")
        values = list(out)
    if len(values) != n:
        raise ValueError(f"score() returned {len(values)} values for {n} samples")
    return values

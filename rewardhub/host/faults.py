"""Telling the user's Ctrl-C apart from plugin code that raises ``KeyboardInterrupt``.

Plugin code (at import, in a hook, inside ``score()``) may raise ``SystemExit`` or
``KeyboardInterrupt``; that is the plugin's failure, recorded like any other error, and the run
goes on. A real Ctrl-C must still stop the run. :func:`watching_sigint` counts the SIGINTs that
arrive while it is active (chaining to whatever handler was installed, so the usual
``KeyboardInterrupt`` is still raised), and :func:`is_user_interrupt` says whether a caught
``KeyboardInterrupt`` came from one. Only the main thread receives signals: off it, a
``KeyboardInterrupt`` is always the code's own.

A plugin's failure is reported in one line, ``Type: message``, by :func:`describe`: the one
formatter of the registry (a plugin that fails to load: also where), the engine (a reward that
fails on a batch or a sample, in this process or in a worker, :class:`WorkerRaised`) and the
metrics runner. Tested in ``tests/test_plugin_faults.py``.
"""

from __future__ import annotations

import signal
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

#: Exceptions plugin code may raise that a plain ``except Exception`` would let end the run.
PLUGIN_EXITS = (SystemExit, KeyboardInterrupt)

_arrived = 0  # SIGINTs seen by the watcher in this process


def sigints() -> int:
    """How many SIGINTs the watcher has seen so far (compare before and after a call)."""
    return _arrived


@contextmanager
def watching_sigint() -> Iterator[None]:
    """Count SIGINTs while active, then restore the previous handler. A no-op off the main
    thread, or when SIGINT is ignored or handled by non-Python code."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous) or getattr(previous, "_rewardhub_watcher", False):
        yield  # ignored / default C handler, or already watched by an outer block
        return

    def watcher(signum: int, frame: FrameType | None) -> Any:
        global _arrived
        _arrived += 1
        return previous(signum, frame)

    watcher._rewardhub_watcher = True  # type: ignore[attr-defined]
    signal.signal(signal.SIGINT, watcher)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def is_user_interrupt(exc: BaseException, seen_before: int) -> bool:
    """Whether ``exc`` is a real Ctrl-C (a SIGINT arrived since ``seen_before``), which must
    propagate, rather than a ``KeyboardInterrupt``/``SystemExit`` raised by plugin code."""
    return isinstance(exc, KeyboardInterrupt) and _arrived != seen_before


class WorkerRaised(Exception):
    """An exception raised in a worker process: its type's name (``kind``) and its text."""

    def __init__(self, kind: str, text: str):
        super().__init__(text)
        self.kind, self.text = kind, text

    def __reduce__(self) -> Any:
        return (WorkerRaised, (self.kind, self.text))

    def __str__(self) -> str:
        return self.text


def describe(exc: BaseException, *, where: bool = False) -> str:
    """``Type: message`` for a plugin's failure (a worker process's exception under its own
    type's name); with ``where``, also the file and line it was raised at."""
    kind = exc.kind if isinstance(exc, WorkerRaised) else type(exc).__name__
    text = f"{kind}: {exc}"
    if where and exc.__traceback__ is not None:
        last = traceback.extract_tb(exc.__traceback__)[-1]
        text += f" (at {last.filename}:{last.lineno})"
    return text

"""Progress of a run, for people: the phases ``eval`` reports, and a hook plugin code may call.

A run reports ``progress(phase, done, total)`` (:data:`Progress`; ``total`` is ``None`` where
it is not known) as it goes. The phases of :func:`rewardhub.evaluation.evaluate_files`, in
order (counts in rows unless said otherwise):

- ``reading``: counting the input's rows (files), then, where rewards need whole groups, the
  pass that finds where each group ends;
- ``loading models``: the first chunk, while rewards load their models lazily;
- ``scoring``: rows scored (the metrics fold each chunk in on the way);
- ``metrics pass N``: a metric's further pass over the input (self-BLEU's second pass);
- ``metrics``: metrics finished, of how many (``done`` and ``total`` count metrics);
- ``metric NAME``: the metric at work, under the phase: named (``0, None``) as it folds a
  chunk in and counted when its code reports (below).

**The hook.** A metric (or a reward running in the caller's thread) whose work takes a while
may say how far it is by calling :func:`report` from inside that work::

    from rewardhub.progress import report

    def result(self):
        for i, batch in enumerate(batches):
            ...
            report(i + 1, len(batches))

It is optional and costs nothing when nobody listens (a Python API call, ``--quiet``): the call
returns at once. The listener is held in a :class:`~contextvars.ContextVar`, so it reaches
code running in the thread (and context) that set it, never another run's. Tested in
``tests/test_eval_progress.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: ``progress(phase, done, total)``: see the module doc for the phases.
Progress = Callable[[str, int, "int | None"], None]
#: What :func:`report` calls: ``listener(done, total)``.
Listener = Callable[[int, "int | None"], None]

_listener: ContextVar[Listener | None] = ContextVar("rewardhub_progress_listener", default=None)


def report(done: int, total: int | None = None) -> None:
    """Say that ``done`` of ``total`` units of the current work are done (a no-op when nobody
    listens). Call it from a metric's ``add``/``result`` (or ``compute``) as the work advances."""
    listener = _listener.get()
    if listener is not None:
        listener(int(done), None if total is None else int(total))


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send :func:`report` calls made inside the block (in this context) to ``listener``."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def silent(phase: str, done: int, total: int | None) -> None:
    """A :data:`Progress` that shows nothing."""


__all__ = ["Listener", "Progress", "listening", "report", "silent"]

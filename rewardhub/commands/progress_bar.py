"""The progress bar of ``rewardhub eval``: :mod:`rewardhub.progress` calls drawn with rich.

One line for the run's phase (its counts, the time it has taken and an ETA, both restarted
when the phase changes, so the estimate is the phase's own), and under it, while a metric
reports its own progress (:func:`rewardhub.progress.report`), a second line for that metric.
It is drawn on stderr, and only when stderr is a terminal: ``--quiet`` turns it off, and
stdout (``--json``) never carries it. Tested in ``tests/test_eval_progress.py`` (through a
pseudo-terminal).
"""

from __future__ import annotations

from typing import Any

#: How each phase is labelled on the bar (others show as they are named).
LABELS = {
    "reading": "reading input",
    "loading models": "loading models",
    "scoring": "scoring rows",
    "metrics": "metrics",
}
METRIC_PREFIX = "metric "


def columns() -> tuple[Any, ...]:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )


class PhaseBar:
    """A :data:`rewardhub.progress.Progress` that updates a ``rich.progress.Progress``."""

    def __init__(self, bar: Any):
        self.bar = bar
        self.phase = "reading"
        self.task = bar.add_task(LABELS["reading"], total=None)
        self.metric: str | None = None
        self.metric_task: Any = None

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if phase.startswith(METRIC_PREFIX):
            self._metric(phase[len(METRIC_PREFIX) :], done, total)
            return
        self._end_metric()
        if phase != self.phase:  # a new phase: its own clock and its own speed estimate
            self.phase = phase
            self.bar.reset(self.task, total=total, completed=done, description=LABELS.get(phase, phase))
        else:
            self.bar.update(self.task, total=total, completed=done)

    def _metric(self, name: str, done: int, total: int | None) -> None:
        if name != self.metric:
            self._end_metric()
            self.metric = name
            self.metric_task = self.bar.add_task(f"  {name}", total=total)
        self.bar.update(self.metric_task, total=total, completed=done)

    def _end_metric(self) -> None:
        if self.metric_task is not None:
            self.bar.remove_task(self.metric_task)
        self.metric, self.metric_task = None, None

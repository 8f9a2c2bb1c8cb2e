"""What a backend is: the :class:`Backend` protocol, and the error of one that cannot run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rewardhub.evaluate.plan import RunPlan
    from rewardhub.evaluate.sink import RunSink
    from rewardhub.evaluate.source import RowSource
    from rewardhub.host.progress import Progress
    from rewardhub.metrics.runner import MetricsAccumulator

class BackendError(RuntimeError):
    """A backend that cannot run (Ray not installed, a cluster that cannot be reached)."""


class Backend(Protocol):
    """Where a run's rows are scored (see the module doc)."""

    name: str

    def check(self, paths: Sequence[str], resume: bool) -> None:
        """Refuse now (a :class:`~rewardhub.config.ConfigError` or :class:`BackendError`) what
        this backend cannot run: called before any work and before the output is locked."""

    def run(
        self,
        plan: RunPlan,
        source: RowSource,
        sink: RunSink,
        metrics: MetricsAccumulator,
        progress: Progress,
        total: int | None,
    ) -> None:
        """Score every row of ``source`` into ``sink`` and fold the samples into ``metrics``
        (every pass they need), reporting each phase to ``progress`` (``total``: the rows
        expected at most, ``None`` when unknown)."""

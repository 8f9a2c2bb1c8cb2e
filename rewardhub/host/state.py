"""Mergeable metric state: how a corpus metric folds in a stream of chunks and merges with
another worker's state, so ``eval`` never holds the whole run and Ray can split it.

The contract every corpus metric meets (built-ins natively, third-party ones through the
adapter at the bottom of this module):

- ``metric.state()`` returns a fresh :class:`MetricState`;
- ``state.add(samples)`` folds one chunk in (any chunking of the same samples in the same
  order gives the same result);
- ``state.merge(other)`` folds in another state of the same metric, built from other samples
  (another chunk, another worker); merging in stream order gives the same result as one
  state fed everything, and ``merge`` is how a distributed run combines its workers;
- ``state.result()`` returns ``{name: float}``, exactly what ``metric.compute(samples)``
  returns for the same samples;
- a metric that needs two passes over the data (self-BLEU: global n-gram statistics, then
  each hypothesis against them) sets ``passes = 2``. The runner feeds every chunk to pass 0
  (``add(samples)``), merges the pass-0 states, calls :meth:`MetricState.start_pass` with 1
  on the merged state, hands a copy of that state to each worker, feeds every chunk again with
  ``add(samples, pass_=1)``, and merges the copies: ``merge`` during pass 1 combines only what
  pass 1 accumulates, never the frozen pass-0 statistics twice.

States are compact: token and n-gram ids or 64-bit hashes in numpy arrays, counts, sums;
never the samples' strings (the adapter for ``compute``-only metrics is the documented
exception). States are picklable, since a distributed run ships them between processes.
Tested in ``tests/test_metric_state.py``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rewardhub.host.kinds import Metric
    from rewardhub.types import Sample


class MetricState:
    """The running state of one corpus metric over a stream of samples (see the module doc)."""

    #: How many passes over the data this metric needs (1, or 2 for self-BLEU).
    passes: int = 1

    def __init__(self) -> None:
        self.current_pass = 0

    def add(self, samples: Sequence[Sample], pass_: int = 0) -> None:
        """Fold one chunk of samples into pass ``pass_``."""
        raise NotImplementedError

    def merge(self, other: MetricState) -> None:
        """Fold in ``other``, a state of the same metric over other samples, at the same pass."""
        raise NotImplementedError

    def start_pass(self, pass_: int) -> None:
        """Called on the merged state once pass ``pass_ - 1`` has seen every sample."""
        self.current_pass = pass_

    def result(self) -> dict[str, float]:
        """The metric's values over everything folded in (after the last pass)."""
        raise NotImplementedError

    def copy(self) -> MetricState:
        """An independent copy (what each worker of a later pass starts from)."""
        return copy.deepcopy(self)

    def split_pass(self) -> MetricState:
        """In a pass after the first: a state holding only what this pass added since the last
        split (what a worker ships to the driver after each chunk, without the frozen pass-0
        statistics), leaving this state as the pass started. Metrics with ``passes > 1``
        implement it to run distributed."""
        raise NotImplementedError(f"{type(self).__name__} has {self.passes} passes but no split_pass()")


def run_state(state: MetricState, samples: Sequence[Sample]) -> dict[str, float]:
    """Feed ``samples`` through every pass of ``state`` and return the result: what
    ``compute(samples)`` means for a metric defined by its state."""
    for pass_ in range(state.passes):
        if pass_:
            state.start_pass(pass_)
        state.add(samples, pass_)
    return state.result()


class CollectingState(MetricState):
    """The adapter for metrics that only implement ``compute(samples)`` (third-party metrics
    written before states existed): it keeps the samples it is fed and calls ``compute`` once,
    in :meth:`result`. Correct, but its memory grows with the run: O(rows), unlike native
    states. Write a native :class:`MetricState` for metrics meant for large runs."""

    def __init__(self, metric: Metric):
        super().__init__()
        self.metric = metric
        self.samples: list[Any] = []

    def add(self, samples: Sequence[Sample], pass_: int = 0) -> None:
        self.samples.extend(samples)

    def merge(self, other: MetricState) -> None:
        assert isinstance(other, CollectingState)
        self.samples.extend(other.samples)

    def result(self) -> dict[str, float]:
        return self.metric.compute(self.samples)

    def __getstate__(self) -> dict[str, Any]:
        # shipped to be merged: the receiving state has its own metric (which may hold a model)
        return {**self.__dict__, "metric": None}

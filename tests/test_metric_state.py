"""The mergeable metric-state contract (rewardhub.host.state): adapters in both directions."""

from __future__ import annotations

import pickle

import pytest

from rewardhub import Metric, Sample
from rewardhub.host.state import CollectingState, MetricState, run_state


class CountWords(Metric):
    """compute-only: the total number of words."""

    name = "count_words"

    def compute(self, samples):
        return {"words": float(sum(len(s.response.split()) for s in samples))}


class _WordsState(MetricState):
    def __init__(self):
        super().__init__()
        self.words = 0

    def add(self, samples, pass_=0):
        self.words += sum(len(s.response.split()) for s in samples)

    def merge(self, other):
        self.words += other.words

    def result(self):
        return {"words": float(self.words)}


class CountWordsByState(Metric):
    """state-only: the same metric defined by its mergeable state."""

    name = "count_words_state"

    def state(self):
        return _WordsState()


SAMPLES = [Sample("a b c"), Sample("d e"), Sample(""), Sample("f")]


def test_compute_only_metric_gets_a_collecting_state_that_merges():
    metric = CountWords()
    left, right = metric.state(), metric.state()
    assert isinstance(left, CollectingState)
    left.add(SAMPLES[:2])
    right.add(SAMPLES[2:])
    left.merge(pickle.loads(pickle.dumps(right)))
    assert left.result() == metric.compute(SAMPLES) == {"words": 6.0}


def test_state_only_metric_computes_through_its_state():
    metric = CountWordsByState()
    assert metric.compute(SAMPLES) == {"words": 6.0}
    assert run_state(metric.state(), SAMPLES) == {"words": 6.0}


def test_a_metric_with_neither_says_so():
    class Nothing(Metric):
        name = "nothing"

    with pytest.raises(NotImplementedError, match="neither compute"):
        Nothing().compute(SAMPLES)

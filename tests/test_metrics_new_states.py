"""The mergeable-state contract for ead, compression_ratio, ngram_diversity_score,
self_repetition_score and length: any chunking, states built apart, pickled and merged in
stream order (two passes where the metric needs them), gives what ``compute`` gives on all."""

from __future__ import annotations

import pickle
import re
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardhub import Metric
from rewardhub.metrics import CompressionRatio, Ead, Length, NgramDiversityScore, SelfRepetitionScore
from rewardhub.metrics.package_split import UntokenizableText
from rewardhub.metrics.state import MetricState

WORDS = ["a", "b", "c", "the", "cat", "", "x.", "y!", "\n", "  ", "猫"]
texts = st.lists(st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join), max_size=12)


def chunked(metric: Metric, samples: list[str], cuts: list[int]) -> dict[str, float]:
    """What a distributed run does: one state per chunk, shipped (pickled) and merged in order;
    for a second pass every chunk goes again through a copy of the merged state."""
    bounds = sorted({0, len(samples), *(c % (len(samples) + 1) for c in cuts)})
    chunks = [samples[lo:hi] for lo, hi in pairwise(bounds)] or [[]]

    def merged(states: list[MetricState]) -> MetricState:
        total = pickle.loads(pickle.dumps(states[0]))
        for state in states[1:]:
            total.merge(pickle.loads(pickle.dumps(state)))
        return total

    states = [metric.state() for _ in chunks]
    for state, chunk in zip(states, chunks):
        state.add(chunk)
    total = merged(states)
    for pass_ in range(1, total.passes):
        total.start_pass(pass_)
        copies = [total.copy() for _ in chunks]
        for state, chunk in zip(copies, chunks):
            state.add(chunk, pass_)
        total = merged(copies)
    return total.result()


METRICS = {
    "ead": Ead(n=(1, 2, 3)),
    "compression_ratio": CompressionRatio(),
    "ngram_diversity_score": NgramDiversityScore(num_n=3),
    "ngram_diversity_score_tokenized": NgramDiversityScore(num_n=2, tokenize="zh"),
    "self_repetition_score": SelfRepetitionScore(n=2),
    "length": Length(),
}


@pytest.mark.parametrize("name", sorted(METRICS))
@settings(max_examples=60, deadline=None)
@given(samples=texts, cuts=st.lists(st.integers(0, 12), max_size=4))
def test_chunked_and_merged_equals_compute(name, samples, cuts):
    metric = METRICS[name]
    try:
        whole = metric.compute(samples)
    except UntokenizableText as refused:  # CJK text under the package's whitespace split
        with pytest.raises(UntokenizableText, match=re.escape(str(refused))):
            chunked(metric, samples, cuts)
        return
    parts = chunked(metric, samples, cuts)
    assert parts.keys() == whole.keys()
    for key, value in whole.items():
        assert parts[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key


def test_adding_chunk_by_chunk_equals_one_add():
    samples = ["the cat sat", "", "on  the mat.", "the cat sat", "x y z x y z"]
    for metric in METRICS.values():
        state = metric.state()
        if state.passes > 1:
            continue
        for sample in samples:
            state.add([sample])
        assert state.result() == metric.compute(samples)

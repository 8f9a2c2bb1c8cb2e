"""Built-in metrics as mergeable states: any chunking, any merge shape, pickled or not, gives
exactly what one state fed everything gives, and what ``compute`` gave before states."""

from __future__ import annotations

import itertools
import pickle
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardhub.host.state import run_state
from rewardhub.io import read_samples
from rewardhub.metrics import Distinct, DistinctAverage, NgramEntropy, Repetition, SelfBleu
from rewardhub.metrics.hash_sets import TopCounts
from tests.conftest import EVALDATA
from tests.oracles.ngrams import NgramCorpus, distinct, distinct_per_response, ngram_entropy, self_bleu_scores, seq_rep

METRICS = [
    Distinct(tokenize="whitespace"),
    DistinctAverage(tokenize="whitespace"),
    NgramEntropy(tokenize="whitespace"),
    Repetition(tokenize="whitespace"),
    SelfBleu(n=[2, 3, 4, 5], tokenize="whitespace"),
    SelfBleu(n=3, sample=3, seed=5, tokenize="whitespace"),
]
responses = st.lists(
    st.lists(st.sampled_from("a b c d e f".split()), max_size=9).map(" ".join), min_size=0, max_size=14
)


def _cuts(size: int, rnd: random.Random) -> list[tuple[int, int]]:
    edges = sorted({0, size, *(rnd.randrange(size + 1) for _ in range(rnd.randrange(4)))})
    return list(itertools.pairwise(edges)) or [(0, 0)]


def _merge_in_order(states, rnd: random.Random):
    """Merge adjacent states in a random tree shape, keeping stream order (each via pickle,
    as a distributed run ships them)."""
    states = list(states)
    while len(states) > 1:
        i = rnd.randrange(len(states) - 1)
        states[i].merge(pickle.loads(pickle.dumps(states.pop(i + 1))))
    return states[0]


def _chunked(metric, texts, rnd):
    """Every pass of ``metric`` over ``texts`` cut into random chunks, states merged as a
    distributed run would: pass 0 per chunk, merged; pass 1 per chunk from copies, merged."""
    merged = metric.state()
    for pass_ in range(merged.passes):
        if pass_:
            merged.start_pass(pass_)
        parts = []
        for start, end in _cuts(len(texts), rnd):
            part = merged.copy() if pass_ else metric.state()
            part.add(texts[start:end], pass_)
            parts.append(part)
        merged = _merge_in_order(parts, rnd)
    return merged.result()


@settings(max_examples=25, deadline=None)
@given(responses, st.integers(0, 2**32 - 1))
def test_any_chunking_and_merge_shape_gives_exactly_one_state_fed_everything(texts, seed):
    rnd = random.Random(seed)
    for metric in METRICS:
        whole = run_state(metric.state(), texts)
        got = _chunked(metric, texts, rnd)
        assert got.keys() == whole.keys()
        for key, value in whole.items():
            assert got[key] == value or (np.isnan(value) and np.isnan(got[key])), (metric, key)


@settings(max_examples=25, deadline=None)
@given(responses)
def test_states_give_what_the_whole_corpus_functions_give(texts):
    tokens = [t.split() for t in texts]
    corpus = NgramCorpus(tokens)
    got = {}
    for metric in METRICS[:4]:
        got.update(metric.compute(texts))
    for k in (1, 2, 3, 4):
        assert got[f"distinct_{k}"] == pytest.approx(distinct(corpus, k), abs=1e-12)
        avg = float(np.mean(distinct_per_response(corpus, k))) if texts else 0.0
        assert got[f"distinct_avg_{k}"] == pytest.approx(avg, abs=1e-12)
        assert got[f"ent_{k}"] == pytest.approx(ngram_entropy(corpus, k), abs=1e-12)
    for k in (2, 3, 4):
        rep = float(np.mean(seq_rep(corpus, k))) if texts else 0.0
        assert got[f"seq_rep_{k}"] == pytest.approx(rep, abs=1e-12)
    if len(texts) >= 2:  # the per-hypothesis scores, and so the mean, are the same bits
        expected = self_bleu_scores(tokens, [2, 3, 4, 5])
        bleu = METRICS[4].compute(texts)
        for k in (2, 3, 4, 5):
            assert bleu[f"self_bleu_{k}"] == float(np.mean(expected[k]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(1, 4)), max_size=30), st.integers(0, 2**32 - 1))
def test_top_counts_merge_like_one_table(rows, seed):
    """TopCounts: per key, the top count, how many rows hold it and the next count below."""
    rnd = random.Random(seed)
    keys = np.array([k for k, _ in rows], dtype=np.uint64)
    counts = np.array([c for _, c in rows], dtype=np.int64)
    tables = []
    for start, end in _cuts(len(rows), rnd):
        table = TopCounts()
        table.add(keys[start:end], counts[start:end])
        tables.append(table)
    rnd.shuffle(tables)  # this table does not depend on order at all
    merged = tables[0]
    for table in tables[1:]:
        merged.merge(table)
    merged.compact()
    for key in set(keys.tolist()):
        mine = sorted((c for k, c in rows if k == key), reverse=True)
        got = [int(v[0]) for v in merged.lookup(np.array([key], dtype=np.uint64))]
        top = mine[0]
        assert got == [top, mine.count(top), next((c for c in mine if c < top), 0)]


def test_real_responses_merge_exactly_across_chunks():
    texts = [s.response for s in read_samples(EVALDATA / "chat_en.jsonl")]
    for metric in (Distinct(), DistinctAverage(), NgramEntropy(), Repetition(), SelfBleu()):
        assert _chunked(metric, texts, random.Random(1)) == run_state(metric.state(), texts)

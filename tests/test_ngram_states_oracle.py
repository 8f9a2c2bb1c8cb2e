"""The one n-gram representation (hashed chunks folded into sorted tables) against the dense-id
oracles of tests/oracles/ngrams.py and NLTK: standalone states, the tables a run shares between
metrics, a distributed run's pickled and merged accumulators, compare's resampling statistics and
the public names kept for users (NgramCorpus, self_bleu_scores, distinct...)."""

from __future__ import annotations

import itertools
import pickle
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from rewardhub.compare.corpus import SideCorpus, add_metric
from rewardhub.io import read_samples
from rewardhub.metrics import Distinct, Ead, NgramCorpus, NgramEntropy, Repetition, SelfBleu
from rewardhub.metrics import self_bleu_scores as public_self_bleu_scores
from rewardhub.metrics.distinct import distinct as hashed_distinct
from rewardhub.metrics.hashed import HashedChunk
from rewardhub.metrics.ngram_tables import NgramTables
from rewardhub.metrics.runner import MetricsAccumulator
from rewardhub.types import Sample
from tests.conftest import EVALDATA
from tests.oracles import ngrams as oracle

NAMES = ["distinct", "distinct_avg", "ngram_entropy", "repetition", "self_bleu", "ead"]
texts_st = st.lists(st.lists(st.sampled_from("a b c d e the cat".split()), max_size=9).map(" ".join), max_size=14)


def _accumulator(tokenize: str = "whitespace") -> MetricsAccumulator:
    return MetricsAccumulator([{"name": n, "args": {"tokenize": tokenize}} for n in NAMES])


def _cuts(size: int, rnd: random.Random) -> list[tuple[int, int]]:
    edges = sorted({0, size, *(rnd.randrange(size + 1) for _ in range(rnd.randrange(4)))})
    return list(itertools.pairwise(edges)) or [(0, 0)]


def _run(texts: list[str], rnd: random.Random | None = None) -> dict[str, float]:
    """All passes of an accumulator over ``texts``; with ``rnd``, as a distributed run does it:
    one accumulator per random chunk, pickled and merged in stream order, then the second pass
    from copies of the merged one, each shipping only what the pass added (``split_pass``)."""
    samples = [Sample(response=t) for t in texts]
    if rnd is None:
        run = _accumulator()
        for pass_ in range(run.passes):
            if pass_:
                run.start_pass(pass_)
            run.add(samples, pass_)
        return run.result().values
    cuts = _cuts(len(samples), rnd)
    total = _accumulator()
    for a, b in cuts:
        part = _accumulator()
        part.add(samples[a:b], 0)
        total.merge(pickle.loads(pickle.dumps(part)))
    total.start_pass(1)
    frozen = pickle.dumps(total)
    for a, b in cuts:
        worker = pickle.loads(frozen)
        worker.add(samples[a:b], 1)
        total.merge(pickle.loads(pickle.dumps(worker.split_pass())))
    return total.result().values


def _oracle(texts: list[str]) -> dict[str, float]:
    tokens = [t.split() for t in texts]
    corpus = oracle.NgramCorpus(tokens)
    out: dict[str, float] = {}
    for k in (1, 2, 3, 4):
        out[f"distinct_{k}"] = oracle.distinct(corpus, k)
        out[f"distinct_avg_{k}"] = float(np.mean(oracle.distinct_per_response(corpus, k))) if texts else 0.0
        out[f"ent_{k}"] = oracle.ngram_entropy(corpus, k)
    for k in (2, 3, 4):
        out[f"seq_rep_{k}"] = float(np.mean(oracle.seq_rep(corpus, k))) if texts else 0.0
    out["duplicate_share"] = 1.0 - len(set(texts)) / len(texts) if texts else 0.0
    if len(texts) >= 2:
        out["self_bleu_4"] = float(np.mean(oracle.self_bleu_scores(tokens, 4)[4]))
    return out


@settings(max_examples=40, deadline=None)
@given(texts_st, st.integers(0, 2**32 - 1))
def test_shared_tables_chunked_and_merged_equal_the_dense_oracle(texts, seed):
    whole = _run(texts)
    merged = _run(texts, random.Random(seed))
    assert merged == whole  # the same bits however the run was cut, shipped and merged
    for key, want in _oracle(texts).items():
        assert whole[key] == pytest.approx(want, abs=1e-12), key
    if len(texts) >= 2:  # per-hypothesis scores are the same bits, hence the mean
        assert whole["self_bleu_4"] == _oracle(texts)["self_bleu_4"]
    alone = {}
    for name in NAMES:  # each metric with tables of its own gives what the shared tables give
        alone.update(
            MetricsAccumulator([{"name": name, "args": {"tokenize": "whitespace"}}]).states[name].metric.compute(texts)
        )
    assert {k: v for k, v in alone.items() if np.isfinite(v)} == whole


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from("abcd"), max_size=8), min_size=2, max_size=12), st.integers(0, 2**32 - 1))
def test_self_bleu_state_fed_in_chunks_equals_nltk(token_lists, seed):
    """Self-BLEU's two-pass state, the chunks cut at random (the path ``eval`` takes), against
    NLTK's sentence_bleu of every response against all the others."""
    rnd = random.Random(seed)
    texts = [" ".join(t) for t in token_lists]
    metric = SelfBleu(n=[2, 3, 4, 5], tokenize="whitespace")
    state = metric.state()
    for pass_ in range(2):
        if pass_:
            state.start_pass(1)
        for a, b in _cuts(len(texts), rnd):
            state.add(texts[a:b], pass_)
    got = state.result()
    for n in (2, 3, 4, 5):
        weights = tuple(1.0 / n for _ in range(n))
        nltk = [
            sentence_bleu(
                token_lists[:i] + token_lists[i + 1 :], hyp, weights, smoothing_function=SmoothingFunction().method1
            )
            for i, hyp in enumerate(token_lists)
        ]
        assert got[f"self_bleu_{n}"] == pytest.approx(float(np.mean(nltk)), abs=1e-9)


def test_a_run_keeps_one_set_of_tables_for_the_ngram_metrics_of_a_tokenizer():
    texts = [s.response for s in read_samples(EVALDATA / "chat_en.jsonl")] * 2
    names = ["distinct", "ngram_entropy", "ead", "self_bleu"]
    run = MetricsAccumulator(names)
    run.add([Sample(response=t) for t in texts], 0)
    tables = {id(run.states[n].ngrams) for n in names}
    assert len(tables) == 1 and isinstance(run.states["distinct"].ngrams, NgramTables)
    together = len(pickle.dumps(run))
    apart = 0
    for name in names:
        alone = MetricsAccumulator([name])
        alone.add([Sample(response=t) for t in texts], 0)
        apart += len(pickle.dumps(alone))
    assert together < 0.6 * apart  # one key array per order instead of four


def test_the_tables_do_not_grow_with_repeated_rows():
    texts = [s.response for s in read_samples(EVALDATA / "chat_en.jsonl")]
    sizes = []
    for times in (2, 4):
        run = _accumulator("auto")
        for _ in range(times):
            run.add([Sample(response=t) for t in texts], 0)
        sizes.append(len(pickle.dumps(run)))
    assert sizes[1] <= sizes[0] * 1.02  # only the length histogram and totals move


def test_compare_resamples_the_hashed_chunk_and_its_self_bleu_point_is_the_metric():
    responses = [s.response for s in read_samples(EVALDATA / "chat_en.jsonl")]
    side = SideCorpus(responses, np.arange(len(responses)), len(responses))
    for metric in (Distinct(), NgramEntropy(), Repetition(), SelfBleu(n=[2, 4])):
        assert add_metric(side, "", metric)
    assert isinstance(side.built[("chunk", "auto")], HashedChunk)
    got = side.evaluate(np.ones((len(responses), 1)))
    want = SelfBleu(n=[2, 4]).compute(responses)
    for n in (2, 4):  # a weighted mean of the same per-hypothesis scores
        assert got[f"self_bleu_{n}"][0] == pytest.approx(want[f"self_bleu_{n}"], abs=1e-15)


def test_the_public_names_still_work_over_the_hashed_chunk():
    token_lists = [t.split() for t in ["a b a b c", "b c d", "a b c d e", "e e e"]]
    corpus = NgramCorpus(token_lists)
    assert isinstance(corpus, HashedChunk)
    dense = oracle.NgramCorpus(token_lists)
    for k in (1, 2, 3):
        assert hashed_distinct(corpus, k) == pytest.approx(oracle.distinct(dense, k))
        _, responses, counts = corpus.counts_per_response(k, repeated_only=True)
        _, dense_responses, dense_counts = dense.counts_per_response(k, repeated_only=True)
        assert sorted(zip(responses.tolist(), counts.tolist())) == sorted(
            zip(dense_responses.tolist(), dense_counts.tolist())
        )
    ours, theirs = public_self_bleu_scores(corpus, [2, 3]), oracle.self_bleu_scores(token_lists, [2, 3])
    for n in (2, 3):
        assert ours[n].tolist() == theirs[n].tolist()
    assert Ead(n=2, tokenize="whitespace").compute([" ".join(t) for t in token_lists])["ead_2"] > 0

"""Self-BLEU against NLTK's sentence_bleu, the Texygen definition, response by response."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from rewardhub import Sample
from rewardhub.metrics import SelfBleu, self_bleu_scores
from rewardhub.metrics.self_bleu import closest_other_length

METHOD1 = SmoothingFunction().method1

# few token types, so n-grams repeat across and inside responses; lengths from 0 (empty) up
corpora = st.lists(st.lists(st.sampled_from("abcd"), max_size=9), min_size=2, max_size=16)


def nltk_self_bleu(token_lists: list[list[str]], n: int) -> list[float]:
    """Texygen's loop: each response against all the others, NLTK sentence_bleu + method1."""
    weights = tuple(1.0 / n for _ in range(n))
    return [
        sentence_bleu(token_lists[:i] + token_lists[i + 1 :], hyp, weights, smoothing_function=METHOD1)
        for i, hyp in enumerate(token_lists)
    ]


@settings(max_examples=150, deadline=None)
@given(corpora, st.integers(min_value=2, max_value=5))
def test_each_response_equals_nltk(token_lists, n):
    ours = self_bleu_scores(token_lists, n)[n]
    np.testing.assert_allclose(ours, nltk_self_bleu(token_lists, n), rtol=0, atol=1e-9)


@pytest.mark.parametrize("size", range(2, 17))
def test_every_group_size_matches_nltk_on_sentences(size):
    words = "the cat sat on a mat while the dog sat on the cat".split()
    rng = np.random.default_rng(size)
    token_lists = [list(rng.choice(words, rng.integers(1, 12))) for _ in range(size)]
    token_lists[0] = ["cat"]  # shorter than every order
    metric = SelfBleu(n=[2, 3, 4, 5], tokenize="whitespace")
    got = metric.compute([Sample(" ".join(t)) for t in token_lists])
    for n in (2, 3, 4, 5):
        assert got[f"self_bleu_{n}"] == pytest.approx(np.mean(nltk_self_bleu(token_lists, n)), abs=1e-9)


def test_corner_cases_follow_nltk():
    token_lists = [[], ["a"], ["a", "b"], ["b", "a", "b"], ["a", "b"]]
    for n in (2, 3, 4, 5):
        ours = self_bleu_scores(token_lists, n)[n]
        assert ours[0] == 0.0  # an empty hypothesis has no unigram match: NLTK returns 0
        np.testing.assert_allclose(ours, nltk_self_bleu(token_lists, n), rtol=0, atol=1e-12)


def test_identical_responses_score_one_and_disjoint_zero():
    assert SelfBleu(tokenize="whitespace").compute(["a b c d e"] * 3) == {"self_bleu_4": pytest.approx(1.0)}
    assert SelfBleu(tokenize="whitespace").compute(["a b c d", "e f g h"]) == {"self_bleu_4": 0.0}


@given(st.lists(st.integers(min_value=0, max_value=6), min_size=2, max_size=12))
def test_closest_other_length_is_nltks_rule(lengths):
    got = closest_other_length(np.array(lengths, dtype=np.int64))
    for i, hyp_len in enumerate(lengths):
        others = lengths[:i] + lengths[i + 1 :]
        assert got[i] == min(others, key=lambda r: (abs(r - hyp_len), r))


def test_fewer_than_two_responses_is_nan_not_a_crash():
    metric = SelfBleu(n=[2, 4])
    for samples in ([], [Sample("only one answer")]):
        values = metric.compute(samples)
        assert set(values) == {"self_bleu_2", "self_bleu_4"}
        assert all(math.isnan(v) for v in values.values())


def test_sample_scores_the_chosen_hypotheses_against_all_others():
    texts = [f"answer number {i} is {'yes' if i % 3 else 'no'} today" for i in range(12)]
    token_lists = [t.split() for t in texts]
    full = np.array(nltk_self_bleu(token_lists, 4))
    first = SelfBleu(sample=5, seed=7, tokenize="whitespace").compute(texts)["self_bleu_4"]
    assert first == SelfBleu(sample=5, seed=7, tokenize="whitespace").compute(texts)["self_bleu_4"]
    chosen = np.random.default_rng(7).choice(12, 5, replace=False)
    assert first == pytest.approx(full[chosen].mean(), abs=1e-12)
    assert SelfBleu(sample=50, tokenize="whitespace").compute(texts)["self_bleu_4"] == pytest.approx(full.mean())


def test_chinese_is_scored_per_character_by_default():
    texts = ["我喜欢吃苹果", "我喜欢吃香蕉", "他不喜欢水果"]
    got = SelfBleu(n=2).compute(texts)["self_bleu_2"]
    assert got == pytest.approx(np.mean(nltk_self_bleu([list(t) for t in texts], 2)), abs=1e-9)


@pytest.mark.parametrize("bad", [1, 6, [2, 7], 0])
def test_orders_outside_2_to_5_are_refused(bad):
    with pytest.raises(ValueError, match="orders"):
        SelfBleu(n=bad)


@pytest.mark.realdata
def test_texygen_sample_matches_nltk(realdata):
    path = realdata / "texygen" / "mle.txt"
    token_lists = [line.split() for line in path.read_text().splitlines()[:400]]
    scores = self_bleu_scores(token_lists, [2, 3, 4, 5])
    for n in (2, 3, 4, 5):
        weights = tuple(1.0 / n for _ in range(n))
        for i in range(0, 400, 40):
            others = token_lists[:i] + token_lists[i + 1 :]
            expected = sentence_bleu(others, token_lists[i], weights, smoothing_function=METHOD1)
            assert scores[n][i] == pytest.approx(expected, abs=1e-9)

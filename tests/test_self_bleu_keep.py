"""``self_bleu_scores(chunk, n, keep=mask)``: self-BLEU of a subset of one hashed chunk (what
compare's leave-out recomputations call, ``rewardhub/compare/metric_deltas.py``) is the same bits
as self-BLEU of the kept responses alone, and agrees with the dense-id oracle and NLTK."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from rewardhub.metrics import self_bleu_scores
from rewardhub.metrics.hashed import HashedChunk
from tests.oracles import ngrams as oracle

token_lists_st = st.lists(st.lists(st.sampled_from("a b c d e the cat".split()), max_size=9), min_size=2, max_size=16)


@settings(max_examples=80, deadline=None)
@given(token_lists_st, st.data())
def test_a_kept_subset_is_the_same_bits_as_the_subset_alone(token_lists, data):
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=len(token_lists), max_size=len(token_lists))))
    if keep.sum() < 2:
        keep[:2] = True
    kept = [t for t, k in zip(token_lists, keep) if k]
    chunk = HashedChunk(token_lists)
    got = self_bleu_scores(chunk, (2, 3, 4), keep=keep)
    alone = self_bleu_scores(kept, (2, 3, 4))
    dense = oracle.self_bleu_scores(kept, (2, 3, 4))
    for k in (2, 3, 4):
        np.testing.assert_array_equal(got[k], alone[k])
        np.testing.assert_allclose(got[k], dense[k], rtol=0, atol=1e-12)
    # NLTK, one hypothesis against the other kept ones
    smooth = SmoothingFunction().method1
    for i, hyp in enumerate(kept):
        others = kept[:i] + kept[i + 1 :]
        expected = sentence_bleu(others, hyp, weights=(0.25,) * 4, smoothing_function=smooth)
        assert got[4][i] == pytest.approx(expected, abs=1e-12)


def test_the_chunk_is_counted_once_and_reused_by_every_subset():
    rng = np.random.default_rng(1)
    token_lists = [list(rng.choice(list("abcdefgh"), rng.integers(0, 30))) for _ in range(40)]
    chunk = HashedChunk(token_lists)
    self_bleu_scores(chunk, 4, keep=np.arange(40) % 3 != 0)
    rows = {k: chunk.counts_per_response(k) for k in range(1, 5)}
    self_bleu_scores(chunk, 4, keep=np.arange(40) % 3 != 1)
    assert all(chunk.counts_per_response(k) is rows[k] for k in range(1, 5))


def test_a_keep_mask_of_the_wrong_size_or_too_few_responses_is_a_clear_error():
    chunk = HashedChunk([["a", "b"], ["a", "c"], ["b", "c"]])
    with pytest.raises(ValueError, match="mask of the 3 responses"):
        self_bleu_scores(chunk, 2, keep=np.array([True, True]))
    with pytest.raises(ValueError, match="at least two responses, got 1"):
        self_bleu_scores(chunk, 2, keep=np.array([True, False, False]))

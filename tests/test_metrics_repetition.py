"""seq-rep-n and the duplicate share against straightforward reference code."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardhub.metrics import Repetition
from rewardhub.metrics.ngrams import ngram_list

texts = st.lists(st.lists(st.sampled_from("ab"), max_size=8).map(" ".join), max_size=10)


def seq_rep(tokens: list[str], n: int) -> float:
    grams = ngram_list(tokens, n)
    return 1.0 - len(set(grams)) / len(grams) if grams else 0.0


@settings(max_examples=200, deadline=None)
@given(texts)
def test_matches_reference(responses):
    token_lists = [r.split() for r in responses]
    expected = {
        f"seq_rep_{n}": sum(seq_rep(t, n) for t in token_lists) / len(token_lists) if token_lists else 0.0
        for n in (2, 3, 4)
    }
    expected["duplicate_share"] = 1 - len(set(responses)) / len(responses) if responses else 0.0
    assert Repetition(tokenize="whitespace").compute(responses) == pytest.approx(expected)


def test_known_values():
    got = Repetition(n=2, tokenize="whitespace").compute(["a b a b a b", "x y z", "x y z", "x y z"])
    # "a b a b a b": 5 bigrams, 2 distinct -> 0.6; the others repeat nothing
    assert got == {"seq_rep_2": pytest.approx(0.6 / 4), "duplicate_share": pytest.approx(2 / 4)}


def test_empty_and_single_inputs_are_defined():
    assert Repetition().compute([]) == {"seq_rep_2": 0.0, "seq_rep_3": 0.0, "seq_rep_4": 0.0, "duplicate_share": 0.0}
    assert Repetition(n=2).compute([""]) == {"seq_rep_2": 0.0, "duplicate_share": 0.0}


def test_chinese_repeats_are_seen_per_character():
    assert Repetition(n=2).compute(["哈哈哈哈"])["seq_rep_2"] == pytest.approx(1 - 1 / 3)

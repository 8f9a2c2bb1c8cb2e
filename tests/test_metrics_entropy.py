"""Ent-n against a straightforward reference."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardhub.metrics import NgramEntropy
from rewardhub.metrics.ngrams import ngram_list

texts = st.lists(st.lists(st.sampled_from("abcd"), max_size=8).map(" ".join), max_size=10)


def entropy(token_lists: list[list[str]], n: int) -> float:
    counts = Counter(g for tokens in token_lists for g in ngram_list(tokens, n))
    total = sum(counts.values())
    return -sum(c / total * math.log(c / total) for c in counts.values()) if total else 0.0


@settings(max_examples=200, deadline=None)
@given(texts)
def test_matches_reference(responses):
    token_lists = [r.split() for r in responses]
    expected = {f"ent_{n}": entropy(token_lists, n) for n in (1, 2, 3, 4)}
    assert NgramEntropy(tokenize="whitespace").compute(responses) == pytest.approx(expected, abs=1e-12)


def test_uniform_distribution_has_log_entropy_in_nats():
    assert NgramEntropy(n=1, tokenize="whitespace").compute(["a b", "c d"]) == {"ent_1": pytest.approx(math.log(4))}


def test_empty_single_and_chinese():
    assert NgramEntropy().compute([]) == {f"ent_{n}": 0.0 for n in (1, 2, 3, 4)}
    assert NgramEntropy(n=1).compute(["same same same"]) == {"ent_1": 0.0}
    assert NgramEntropy(n=1).compute(["你好"]) == {"ent_1": pytest.approx(math.log(2))}

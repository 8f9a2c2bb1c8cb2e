"""``diversity_bonus`` by sparse incidence products gives exactly (the same float bits) what the
pairwise definition gave: the implementation before it, kept here as the oracle."""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewardhub import Sample
from rewardhub.metrics import jaccard
from rewardhub.metrics.diversity_rewards import DiversityBonus
from rewardhub.metrics.jaccard import mean_jaccard_distances
from rewardhub.metrics.ngrams import ngram_list


def oracle_group_bonus(token_lists: list[list[str]], n: int) -> list[float]:
    """``DiversityBonus.group_bonus`` as it was (commit b3cc6bc): every pair with Python sets."""
    grams = [set(ngram_list(tokens, n)) for tokens in token_lists]
    distance = np.zeros((len(grams), len(grams)))
    for i, j in combinations(range(len(grams)), 2):
        a, b = grams[i], grams[j]
        union = len(a | b)
        distance[i, j] = distance[j, i] = 1.0 - len(a & b) / union if union else 0.0
    return [float(v) for v in distance.sum(axis=1) / (len(grams) - 1)]


# Few distinct words, so responses share n-grams; empty and one-token responses included.
token_lists = st.lists(st.lists(st.sampled_from("a b c d e f g h i j".split()), max_size=30), min_size=2, max_size=40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups=token_lists, n=st.integers(1, 4), block=st.sampled_from([1, 7, 64, 1 << 22]), share=st.floats(0, 1))
def test_the_same_bits_as_the_pairwise_definition(groups, n, block, share):
    expected = oracle_group_bonus(groups, n)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jaccard, "DENSE_SHARE", share)  # the dense/sparse split anywhere
        patch.setattr(jaccard, "PAIRWISE_WORK", 0)  # the products, however small the group
        assert mean_jaccard_distances(groups, n, block_elements=block).tolist() == expected
        patch.setattr(jaccard, "PAIRWISE_WORK", float("inf"))  # the small-group path
        assert mean_jaccard_distances(groups, n).tolist() == expected


def test_empty_responses_count_as_identical_to_each_other(monkeypatch):
    monkeypatch.setattr(jaccard, "PAIRWISE_WORK", 0)
    assert mean_jaccard_distances([[], [], ["a", "b"]], 2).tolist() == oracle_group_bonus([[], [], ["a", "b"]], 2)
    assert mean_jaccard_distances([[], []], 2).tolist() == [0.0, 0.0]


def test_a_group_of_one_is_refused():
    with pytest.raises(ValueError, match="at least two"):
        mean_jaccard_distances([["a"]], 1)


def test_real_answers_in_one_large_group_agree_bit_for_bit(realdata):
    """630 alpaca_eval answers of seven models as one group (their long, shared n-grams), whole
    and in row blocks."""
    texts = []
    for path in sorted((realdata / "alpaca_eval").glob("*.jsonl")):
        texts += [json.loads(line)["output"] for line in path.read_text().splitlines()[:90]]
    reward = DiversityBonus()
    assert jaccard.PAIRWISE_WORK < 630 * 629 // 2  # (the products run here)
    expected = oracle_group_bonus([reward.tokens(t) for t in texts], 2)
    assert reward.score([Sample(t, prompt="one prompt") for t in texts]) == expected
    assert mean_jaccard_distances([reward.tokens(t) for t in texts], 2, block_elements=50_000).tolist() == expected
    assert len(set(expected)) > 600 and all(0.0 < v <= 1.0 for v in expected)


def test_groups_in_one_call_are_computed_apart_with_the_definition_per_group():
    reward = DiversityBonus(ngram_size=1)
    samples = [Sample("a b c", group=1), Sample("a b d", group=1), Sample("x y", group=2), Sample("x y", group=2)]
    values = reward.score(samples)
    assert values[:2] == oracle_group_bonus([["a", "b", "c"], ["a", "b", "d"]], 1)
    assert values[2:] == [0.0, 0.0]

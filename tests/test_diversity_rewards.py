"""repetition_penalty (ms-swift's definition) and the group-aware diversity_bonus."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardhub import Sample, Score, Scorer
from rewardhub.host.registry import registry
from rewardhub.metrics import DiversityBonus, RepetitionPenalty
from rewardhub.types import ALONE_IN_GROUP

words = st.lists(st.sampled_from(["a", "b", "A", "c"]), max_size=10).map(" ".join)


def swift_repetition(completion: str, ngram_size: int, max_penalty: float) -> float:
    """ms-swift's RepetitionPenalty ORM, restated: lowercase, whitespace n-grams."""
    tokens = completion.lower().split()
    if completion == "" or len(tokens) < ngram_size:
        return 0.0
    grams = list(zip(*[tokens[i:] for i in range(ngram_size)]))
    return (1 - len(set(grams)) / len(grams)) * max_penalty


@settings(max_examples=200, deadline=None)
@given(st.lists(words, min_size=1, max_size=8), st.integers(1, 4), st.sampled_from([-1.0, -0.5]))
def test_repetition_penalty_is_ms_swifts(responses, n, max_penalty):
    reward = RepetitionPenalty(ngram_size=n, max_penalty=max_penalty, tokenize="whitespace")
    got = reward.score([Sample(r) for r in responses])
    assert got == pytest.approx([swift_repetition(r, n, max_penalty) for r in responses])


def test_repetition_penalty_values_and_arguments():
    reward = RepetitionPenalty()
    # "go go go go go": 3 trigrams, 1 distinct
    got = reward.score([Sample("go go go go go"), Sample("one two three"), Sample("")])
    assert got == pytest.approx([-2 / 3, 0.0, 0.0])
    assert RepetitionPenalty(ngram_size=1).score([Sample("哈哈哈哈")]) == [pytest.approx(-0.75)]
    with pytest.raises(ValueError):
        RepetitionPenalty(max_penalty=1.0)
    with pytest.raises(ValueError):
        RepetitionPenalty(ngram_size=0)


def reference_bonus(responses: list[str], n: int) -> list[float]:
    sets = [{tuple(r.split()[i : i + n]) for i in range(len(r.split()) - n + 1)} for r in responses]

    def distance(a: set, b: set) -> float:
        return 1 - len(a & b) / len(a | b) if a | b else 0.0

    others = len(sets) - 1
    return [sum(distance(a, b) for j, b in enumerate(sets) if j != i) / others for i, a in enumerate(sets)]


@settings(max_examples=150, deadline=None)
@given(st.lists(words, min_size=2, max_size=6), st.integers(1, 3))
def test_diversity_bonus_matches_reference(responses, n):
    reward = DiversityBonus(ngram_size=n, tokenize="whitespace")
    assert reward.score([Sample(r, group="g") for r in responses]) == pytest.approx(reference_bonus(responses, n))


def test_diversity_bonus_scores_each_group_separately():
    samples = [
        Sample("the cat sat", prompt="p1"),
        Sample("a dog ran", prompt="p2"),
        Sample("the cat sat", prompt="p1"),
        Sample("the cat ran", prompt="p1"),
        Sample("alone here", prompt="p3"),
    ]
    got = DiversityBonus(tokenize="whitespace").score(samples)
    p1 = reference_bonus(["the cat sat", "the cat sat", "the cat ran"], 2)
    assert [got[0], got[2], got[3]] == pytest.approx(p1)
    # p2 and p3 are alone in their groups: nothing to compare with, so no value (not 0.0)
    assert got[1] == got[4] == Score(None, {"reason": ALONE_IN_GROUP})


def test_a_group_of_one_has_no_value_and_says_why_through_the_engine():
    batch = Scorer(["diversity_bonus"]).score([Sample("only answer", prompt="q"), Sample("another", prompt="r")])
    assert batch.components["diversity_bonus"] == [None, None]
    assert batch.infos["diversity_bonus"] == [{"reason": ALONE_IN_GROUP}] * 2
    assert batch.errors == [{}, {}] and batch.totals == [None, None]


def test_registered_and_scored_by_the_engine_with_whole_groups():
    loaded = registry()
    assert loaded.rewards["diversity_bonus"].obj is DiversityBonus
    assert loaded.rewards["repetition_penalty"].obj is RepetitionPenalty
    assert {"distinct", "distinct_avg", "self_bleu", "repetition", "ngram_entropy"} <= set(loaded.metrics)
    samples = [Sample(f"answer {i % 2} again and again", group=i // 4) for i in range(12)]
    batch = Scorer(
        [{"name": "diversity_bonus", "args": {"ngram_size": 1}}, "repetition_penalty"], tokenize="whitespace"
    ).score(samples)
    assert not any(batch.errors)
    expected = [v for g in range(3) for v in reference_bonus([samples[i].response for i in range(4 * g, 4 * g + 4)], 1)]
    assert batch.components["diversity_bonus"] == pytest.approx(expected)
    assert batch.components["repetition_penalty"] == [0.0] * 12


def test_identical_responses_are_scored_once_but_bonus_sees_duplicates():
    samples = [Sample("same words here", group="g"), Sample("same words here", group="g"), Sample("other", group="g")]
    batch = Scorer(["diversity_bonus", "repetition_penalty"]).score(samples)
    assert batch.components["diversity_bonus"][0] == pytest.approx(0.5)  # one twin, one stranger
    assert DiversityBonus.group_aware and not RepetitionPenalty.group_aware

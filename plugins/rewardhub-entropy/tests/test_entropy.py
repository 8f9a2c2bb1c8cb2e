"""rewardhub-entropy, tested on its own: the definition, Chinese text, and the host path."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from rewardhub_entropy import Entropy, normalized_entropy

import rewardhub
from rewardhub.cli import cli

EVALDATA = Path(__file__).resolve().parents[3] / "evaldata"


def test_definition_on_hand_computed_cases():
    assert normalized_entropy([]) == 0.0
    assert normalized_entropy(["a"]) == 0.0
    assert normalized_entropy(["a", "a", "a"]) == 0.0
    assert normalized_entropy(["a", "b", "c", "d"]) == 1.0
    # a a b: H = -(2/3 ln 2/3 + 1/3 ln 1/3), divided by ln 3
    expected = -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3)) / math.log(3)
    assert math.isclose(normalized_entropy(["a", "a", "b"]), expected)


@given(st.lists(st.sampled_from("abcdefg"), max_size=40))
def test_bounded_and_maximal_only_without_repeats(tokens):
    value = normalized_entropy(tokens)
    assert 0.0 <= value <= 1.0 + 1e-12
    if len(tokens) >= 2 and len(set(tokens)) == len(tokens):
        assert math.isclose(value, 1.0)


def _textbook(tokens: list[str]) -> float:
    total = len(tokens)
    if total < 2:
        return 0.0
    entropy = -sum(c / total * math.log(c / total) for c in Counter(tokens).values())
    return entropy / math.log(total)


@given(st.lists(st.sampled_from("abcdefghij"), max_size=300) | st.lists(st.sampled_from("ab"), max_size=9000))
def test_agrees_with_the_textbook_formula(tokens):
    assert abs(normalized_entropy(tokens) - min(1.0, max(0.0, _textbook(tokens)))) < 1e-13


def test_counts_past_the_lookup_table():
    tokens = ["a"] * 5000 + ["b"] * 3000 + ["c"]
    assert abs(normalized_entropy(tokens) - _textbook(tokens)) < 1e-13


def test_chinese_is_tokenized_per_character_not_as_one_token():
    reward = Entropy()
    varied, repeated = reward.score([rewardhub.Sample("我爱北京天安门"), rewardhub.Sample("早点睡早点睡早点睡")])
    assert math.isclose(varied, 1.0)
    assert 0.0 < repeated < 0.6
    whole = Entropy(tokenize="whitespace").score([rewardhub.Sample("我爱北京天安门")])
    assert whole == [0.0]  # what a whitespace split would do: one token


def test_monotonous_replies_score_lower_through_the_scorer():
    result = rewardhub.Scorer(["entropy"]).score(
        [
            rewardhub.Sample("Unplug the router, wait thirty seconds and plug it back in."),
            rewardhub.Sample("Please restart. Please restart. Please restart. Please restart."),
        ]
    )
    varied, monotonous = result.components["entropy"]
    assert varied > 0.95 > 0.6 > monotonous


def test_discovered_as_its_own_distribution_and_scores_evaldata():
    listed = json.loads(CliRunner().invoke(cli, ["plugins", "--json"]).output)
    assert any(p["distribution"] == "rewardhub-entropy" and p["rewards"] == ["entropy"] for p in listed)
    result = CliRunner().invoke(cli, ["eval", str(EVALDATA / "chat_zh.jsonl"), "--rewards", "entropy", "--json"])
    summary = json.loads(result.stdout)
    assert summary["n"] == 11 and summary["rewards"]["entropy"]["missing"] == 0
    assert summary["rewards"]["entropy"]["min"] < 0.5 < summary["rewards"]["entropy"]["max"]

"""``pairs`` says how its preferences go with length (issue 16.11): the Spearman correlation of
the margin (chosen - rejected) with the length difference in tokens, each pair read both ways,
printed and in ``--json``, with a warning past |rho| = 0.3; on alpaca_eval the rewards
``entropy,repetition_penalty,toxicity`` prefer the shorter answer and are warned about."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

from rewardhub.adapters.pairs import LENGTH_BIAS, PairStats, Scored, length_bias, make_pairs
from rewardhub.cli import cli
from rewardhub.types import Sample


def _scored(prompt: str, words: int, reward: float, i: int) -> Scored:
    return Scored(Sample(" ".join(["word"] * words), prompt=prompt, id=i), reward)


def _write(path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _rows(score_of) -> list[dict]:
    rows = []
    for p in range(12):
        for words in (3 + p, 10 + 2 * p, 25 + 3 * p):
            rows.append({"prompt": f"question {p}", "response": " ".join(["w"] * words), "reward": score_of(p, words)})
    return rows


def test_rewards_that_follow_length_are_warned_about(tmp_path):
    scored, prefs = tmp_path / "scored.jsonl", tmp_path / "pairs.jsonl"
    _write(scored, _rows(lambda p, words: -float(words)))  # a length penalty: the margin is the length gap
    result = CliRunner().invoke(cli, ["pairs", str(scored), "-o", str(prefs)])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert any(line.startswith("rewardhub: length: Spearman rho") and "-1.00 over 12 pairs" in line for line in lines)
    assert any("chosen is longer in 0" in line for line in lines)
    warnings = [line for line in lines if line.startswith("rewardhub: warning:")]
    assert len(warnings) == 1 and "prefer shorter responses" in warnings[0]

    document = json.loads(CliRunner().invoke(cli, ["pairs", str(scored), "-o", str(prefs), "--json"]).stdout)
    assert document["length_rho"] == pytest.approx(-1.0) and document["chosen_longer"] == 0
    assert "prefer shorter" in document["length_warning"]


def test_rewards_independent_of_length_are_not_warned_about(tmp_path):
    scored, prefs = tmp_path / "scored.jsonl", tmp_path / "pairs.jsonl"
    # a binary reward that prefers the longer of two answers to half the prompts, the shorter
    # to the other half, the two always 10 words apart
    rows = []
    for p in range(12):
        for words in (5 + p, 15 + p):
            wins = (words == 15 + p) == (p % 2 == 0)
            rows.append({"prompt": f"question {p}", "response": " ".join(["w"] * words), "reward": float(wins)})
    _write(scored, rows)
    result = CliRunner().invoke(cli, ["pairs", str(scored), "-o", str(prefs), "--json"])
    document = json.loads(result.stdout)
    assert document["length_rho"] == pytest.approx(0.0) and document["length_warning"] is None
    assert document["chosen_longer"] == 6
    assert "warning" not in result.stderr


def test_too_few_pairs_give_no_correlation():
    stats = PairStats()
    make_pairs([_scored("a", 3, 1.0, 0), _scored("a", 9, 0.0, 1)], stats=stats)
    assert stats.pairs == 1 and stats.length_rho is None and stats.length_warning() is None
    assert "too few to correlate" in stats.describe_length()


pairs_strategy = st.lists(
    st.tuples(st.integers(1, 60), st.integers(1, 60), st.floats(0.01, 5.0, allow_nan=False)), min_size=3, max_size=40
)


@settings(max_examples=60, deadline=None)
@given(pairs_strategy)
def test_rho_is_spearman_of_the_pairs_read_both_ways(triples):
    picked = [(_scored("p", a, margin, 0), _scored("p", b, 0.0, 1)) for a, b, margin in triples]
    rho, longer = length_bias(picked)
    margins = [m for _, _, m in triples]
    diffs = [a - b for a, b, _ in triples]
    assert longer == sum(d > 0 for d in diffs)
    if not any(diffs):
        assert rho is None
        return
    expected = spearmanr(margins + [-m for m in margins], diffs + [-d for d in diffs]).statistic
    assert rho == pytest.approx(expected)
    # reversing which side is longer reverses the sign: the measure sees direction, not only size
    flipped, _ = length_bias([(_scored("p", b, m, 0), _scored("p", a, 0.0, 1)) for a, b, m in triples])
    assert flipped == pytest.approx(-rho)


@pytest.mark.realdata
def test_alpaca_eval_rewards_that_prefer_short_answers_are_warned_about(realdata, tmp_path):
    files = sorted(str(p) for p in (realdata / "alpaca_eval").glob("*.jsonl"))
    scored, prefs = tmp_path / "scored.jsonl", tmp_path / "pairs.jsonl"
    rewards = "entropy,repetition_penalty,toxicity"
    done = CliRunner().invoke(cli, ["eval", *files, "--rewards", rewards, "--metrics", "none", "-o", str(scored), "-q"])
    assert done.exit_code == 0, done.output
    result = CliRunner().invoke(cli, ["pairs", str(scored), "-o", str(prefs), "--json"])
    document = json.loads(result.stdout)
    chosen = Counter(json.loads(line)["generator_chosen"] for line in prefs.read_text().splitlines())
    assert chosen.most_common(1)[0] == ("alpaca-7b", 564)  # the shortest answers win
    assert document["length_rho"] < -LENGTH_BIAS and document["chosen_longer"] < document["pairs"] / 4
    assert "prefer shorter responses" in document["length_warning"]
    assert "rewardhub: warning: the scores prefer shorter responses" in result.stderr

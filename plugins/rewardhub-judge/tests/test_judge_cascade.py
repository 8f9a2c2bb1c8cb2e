"""``cascade``: math_accuracy (rewardhub-verify, built through the host's registry) decides where
it can; the judge scores the rest, and only the rest reaches the endpoint; counts in the summary."""

from __future__ import annotations

import json
import uuid

import pytest
from click.testing import CliRunner

from rewardhub import Sample
from rewardhub.cli import cli

pytest.importorskip("rewardhub_verify")


def samples() -> list[Sample]:
    tag = uuid.uuid4().hex
    return [
        Sample(rf"The answer is \boxed{{4}} <<reply:[[9]]>> {tag}", prompt="2+2?", reference="4"),
        Sample(rf"The answer is \boxed{{5}} <<reply:[[2]]>> {tag}", prompt="2+2?", reference="4"),
        Sample(
            f"Paris <<reply:[[10]]>> {tag}",
            prompt="Capital of France?",
            reference="the capital city of France is Paris",
        ),
        Sample(f"Paris <<reply:[[7]]>> {tag}", prompt="Capital of France? (no reference)"),
    ]


def cascade(endpoint, **args):
    from rewardhub_judge import Cascade

    judge = {"name": "llm_judge", "args": {"base_url": endpoint.url("ok"), "model": "fake-judge", "cache": False}}
    return Cascade(first="math_accuracy", then=judge, **args)


def test_the_rule_decides_where_it_can_and_the_judge_gets_the_rest(fake_endpoint):
    reward = cascade(fake_endpoint)
    mark = fake_endpoint.mark()
    try:
        scores = reward.score(samples())
        stats = reward.run_stats()
        provenance = reward.provenance
    finally:
        reward.close()
    assert [s.value for s in scores] == [1.0, 0.0, 0.0, pytest.approx(6 / 9)]
    assert [s.info["decided_by"] for s in scores] == ["rule", "rule", "rule", "judge"]
    assert scores[3].info["rule_reason"] == "no reference" and scores[3].info["info"]["verdict"] == 7.0
    assert len(fake_endpoint.requests("ok", since=mark)) == 1  # only what the rule left
    assert stats["by_rule"] == 3 and stats["to_judge"] == 1 and stats["judge_requests"] == 1
    assert provenance["first"]["name"] == "math_accuracy" and provenance["first"]["distribution"] == "rewardhub-verify"
    assert provenance["then"]["resolved"]["model"] == "fake-judge"


def test_judge_zero_also_sends_the_rules_zeros(fake_endpoint):
    reward = cascade(fake_endpoint, judge_zero=True)
    mark = fake_endpoint.mark()
    try:
        scores = reward.score(samples())
        stats = reward.run_stats()
    finally:
        reward.close()
    assert [s.value for s in scores] == [1.0, pytest.approx(1 / 9), 1.0, pytest.approx(6 / 9)]
    assert [s.info["decided_by"] for s in scores] == ["rule", "judge", "judge", "judge"]
    assert scores[1].info["rule_reason"] == "scored 0"
    assert len(fake_endpoint.requests("ok", since=mark)) == 3
    assert (stats["by_rule"], stats["to_judge"]) == (1, 3)


def test_a_judge_that_fails_leaves_the_sample_missing_with_its_reason(fake_endpoint):
    from rewardhub_judge import Cascade

    judge = {"name": "llm_judge", "args": {"base_url": fake_endpoint.url("refuse"), "model": "m", "cache": False}}
    reward = Cascade(first="math_accuracy", then=judge)
    try:
        scores = reward.score(samples())
    finally:
        reward.close()
    assert scores[0].value == 1.0
    assert scores[3].value is None and scores[3].info["reason"] == "judge: refused"


def test_the_summary_says_how_many_went_to_the_judge(fake_endpoint, tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_text(
        "".join(
            json.dumps({"prompt": s.prompt, "response": s.response, "reference": s.reference}) + "\n" for s in samples()
        )
    )
    config = tmp_path / "c.yaml"
    judge = {"name": "llm_judge", "args": {"base_url": fake_endpoint.url("ok"), "model": "fake-judge", "cache": False}}
    config.write_text(
        json.dumps(
            {
                "rewards": [{"name": "cascade", "as": "checked", "args": {"first": "math_accuracy", "then": judge}}],
                "metrics": [],
            }
        )
    )
    result = CliRunner().invoke(cli, ["eval", str(data), "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)["rewards"]["checked"]["stats"]
    assert stats["by_rule"] == 3 and stats["to_judge"] == 1 and stats["judge_requests"] == 1
    table = CliRunner().invoke(cli, ["eval", str(data), "--config", str(config)])
    assert "checked: by_rule 3, to_judge 1" in " ".join(table.output.split())


def test_bad_inner_rewards_are_config_errors():
    from rewardhub_judge import Cascade

    with pytest.raises(ValueError, match="cascade: .*no_such_reward"):
        Cascade(first="no_such_reward", then="math_accuracy")
    with pytest.raises(ValueError, match="judge_zero must be"):
        Cascade(first="math_accuracy", then="math_accuracy", judge_zero="yes")

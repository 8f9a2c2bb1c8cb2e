"""``llm_pairwise_judge``: both orders asked; agreeing verdicts count, a position-biased judge
gives ties, a verdict in one order only is missing, not a half answer."""

from __future__ import annotations

import uuid

import pytest
from rewardhub_judge import PairwiseJudge

from rewardhub import Sample


def make(endpoint, mode="ok", **args) -> PairwiseJudge:
    args.setdefault("cache", False)
    return PairwiseJudge(base_url=endpoint.url(mode), model="fake-judge", **args)


def pair(candidate: str, baseline: str) -> Sample:
    tag = uuid.uuid4().hex
    return Sample(f"{candidate} {tag}", prompt=f"q {tag}", meta={"baseline": f"{baseline} {tag}"})


def test_both_orders_are_asked_and_agreeing_verdicts_count(fake_endpoint):
    mark = fake_endpoint.mark()
    reward = make(fake_endpoint)
    try:
        better, worse, tie = reward.score(
            [pair("good <<better>>", "plain"), pair("plain", "good <<better>>"), pair("plain", "plain too")]
        )
    finally:
        reward.close()
    assert (better.value, worse.value, tie.value) == (1.0, 0.0, 0.5)
    assert better.info["baseline_first"]["verdict"] == better.info["candidate_first"]["verdict"] == "candidate"
    assert better.info["consistent"] and worse.info["consistent"] and tie.info["consistent"]
    assert len(fake_endpoint.requests("ok", since=mark)) == 6


def test_a_judge_that_follows_the_position_gives_ties(fake_endpoint):
    reward = make(fake_endpoint, "first")
    try:
        (score,) = reward.score([pair("good <<better>>", "plain")])
    finally:
        reward.close()
    assert score.value == 0.5 and score.info["consistent"] is False
    assert score.info["baseline_first"]["verdict"] == "baseline"
    assert score.info["candidate_first"]["verdict"] == "candidate"


@pytest.mark.parametrize(("mode", "reason"), [("refuse", "judge: refused"), ("garbage", "judge: malformed response")])
def test_no_verdict_in_either_order_is_missing(fake_endpoint, mode, reason):
    reward = make(fake_endpoint, mode)
    try:
        (score,) = reward.score([pair("a", "b")])
    finally:
        reward.close()
    assert score.value is None and score.info["reason"] == reason


def test_a_sample_without_a_baseline(fake_endpoint):
    reward = make(fake_endpoint)
    try:
        (score,) = reward.score([Sample("alone", prompt="q")])
        assert reward.missing_input([Sample("x")]) == "needs 'baseline'"
    finally:
        reward.close()
    assert score.value is None and score.info["reason"] == "judge: no baseline answer (meta.baseline)"


def test_pairwise_templates(fake_endpoint):
    template = (
        "{prompt}\n[The Start of Assistant A's Answer]\n{answer_a}\n[The End of Assistant A's Answer]\n\n"
        "[The Start of Assistant B's Answer]\n{answer_b}\n[The End of Assistant B's Answer]"
    )
    reward = make(fake_endpoint, rubric=template)
    try:
        (score,) = reward.score([pair("good <<better>>", "plain")])
    finally:
        reward.close()
    assert score.value == 1.0
    with pytest.raises(ValueError, match="answer_a"):
        make(fake_endpoint, rubric="{prompt} {response}")

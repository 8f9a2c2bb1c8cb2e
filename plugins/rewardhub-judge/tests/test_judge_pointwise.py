"""``llm_judge``: values on 0..1 with the verdict in info, repeats and their aggregates,
``min_valid``, the reference, and args checked at construction (one-line errors)."""

from __future__ import annotations

import uuid

import pytest
from rewardhub_judge import LLMJudge

from rewardhub import Sample, Scorer


def make(endpoint, mode="ok", **args) -> LLMJudge:
    args.setdefault("cache", False)
    return LLMJudge(base_url=endpoint.url(mode), model="fake-judge", **args)


def sample(reply: str, **fields) -> Sample:
    return Sample(f"answer {uuid.uuid4().hex} <<reply:{reply}>>", prompt=f"q {uuid.uuid4().hex}", **fields)


def test_values_are_scaled_and_the_verdict_and_explanation_kept(fake_endpoint):
    reward = make(fake_endpoint)
    try:
        scores = reward.score([sample('{"explanation": "great", "score": 10}'), sample("Fair. Rating: [[4]]")])
    finally:
        reward.close()
    assert scores[0].value == 1.0
    assert scores[0].info == {"cached": False, "verdict": 10.0, "explanation": "great", "read": "json"}
    assert scores[1].value == pytest.approx(3 / 9)
    assert scores[1].info["read"] == "pattern" and scores[1].info["explanation"] == "Fair. Rating:"


def test_an_unreadable_reply_keeps_what_the_judge_said(fake_endpoint):
    reward = make(fake_endpoint)
    try:
        (score,) = reward.score([sample("It is pretty good, 8/10")])
    finally:
        reward.close()
    assert score.value is None
    assert score.info["reason"] == "judge: unparseable verdict"
    assert score.info["explanation"] == "It is pretty good, 8/10"


@pytest.mark.parametrize(
    ("aggregate", "replies", "verdict"),
    [
        ("mean", ["[[2]]", "[[4]]", "[[9]]"], 5.0),
        ("median", ["[[2]]", "[[4]]", "[[9]]"], 4.0),
        ("majority", ["[[7]]", "[[7]]", "[[1]]"], 7.0),
    ],
)
def test_repeats_are_aggregated(fake_endpoint, aggregate, replies, verdict):
    reward = make(fake_endpoint, samples=3, aggregate=aggregate, temperature=0.7)
    try:
        (score,) = reward.score([sample("|||".join(replies))])
    finally:
        reward.close()
    assert score.info["verdict"] == verdict
    assert score.value == pytest.approx((verdict - 1) / 9)
    assert sorted(score.info["verdicts"]) == sorted(float(r.strip("[]")) for r in replies)


def test_a_tie_between_verdicts_is_no_majority(fake_endpoint):
    reward = make(fake_endpoint, samples=2, aggregate="majority", temperature=1.0)
    try:
        (score,) = reward.score([sample("[[3]]|||[[8]]")])
    finally:
        reward.close()
    assert score.value is None and score.info["reason"] == "judge: no majority"


def test_min_valid_counts_readable_verdicts(fake_endpoint):
    replies = "[[6]]|||no idea|||[[8]]"
    lenient = make(fake_endpoint, samples=3, temperature=0.7, min_valid=2)
    strict = make(fake_endpoint, samples=3, temperature=0.7, min_valid=3)
    try:
        (kept,) = lenient.score([sample(replies)])
        (dropped,) = strict.score([sample(replies)])
    finally:
        lenient.close()
        strict.close()
    assert kept.info["verdict"] == 7.0 and kept.info["reasons"].count("judge: unparseable verdict") == 1
    assert dropped.value is None and dropped.info["reason"] == "judge: unparseable verdict"


def test_correctness_needs_a_reference_and_says_so(fake_endpoint):
    reward = make(fake_endpoint, rubric="correctness")
    mark = fake_endpoint.mark()
    try:
        with_ref, without = reward.score([sample('{"score": 1}', reference="4"), sample('{"score": 1}')])
        assert reward.missing_input([Sample("x")]) == "needs 'reference'"
        assert make(fake_endpoint).missing_input([Sample("x")]) is None
    finally:
        reward.close()
    assert with_ref.value == 1.0
    assert without.value is None and without.info["reason"] == "judge: no reference"
    assert len(fake_endpoint.requests("ok", since=mark)) == 1  # no call without a reference


def test_through_the_scorer_missing_values_stay_missing(fake_endpoint):
    with Scorer(
        [{"name": "llm_judge", "args": {"base_url": fake_endpoint.url("refuse"), "model": "m", "cache": False}}]
    ) as scorer:
        batch = scorer.score([sample("[[9]]")])
    assert batch.components["llm_judge"] == [None]
    assert batch.infos["llm_judge"][0]["reason"] == "judge: refused"
    assert batch.totals == [None]  # never 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"base_url": "localhost:8000"}, "base_url must be an http"),
        ({"model": ""}, "model is required"),
        ({"rubric": "kindness"}, "neither a built-in name"),
        ({"samples": 3}, "at temperature 0 repeat one verdict"),
        ({"samples": 0}, "samples must be an integer"),
        ({"aggregate": "max"}, "aggregate must be one of"),
        ({"samples": 2, "temperature": 1.0, "min_valid": 3}, "min_valid must be an integer from 1 to samples"),
        ({"max_tokens": 0}, "max_tokens must be an integer"),
        ({"timeout": 0}, "timeout must be a number > 0"),
        ({"requests_per_minute": -5}, "requests_per_minute must be a number > 0"),
        ({"structured": "xml"}, "structured must be one of"),
        ({"cache": True}, "cache must be a file path"),
        ({"api_key_env": "REWARDHUB_TEST_NOT_SET_ANYWHERE"}, "which is not set"),
    ],
)
def test_bad_args_are_one_line_errors(args, message):
    base = {"base_url": "http://127.0.0.1:9/v1", "model": "m", "cache": False}
    with pytest.raises(ValueError, match=message) as caught:
        LLMJudge(**{**base, **args})
    assert "\n" not in str(caught.value) and str(caught.value).startswith("llm_judge: ")


def test_nothing_connects_or_starts_before_the_first_score(fake_endpoint):
    import threading

    before = {t.name for t in threading.enumerate()}
    reward = make(fake_endpoint)
    assert reward.provenance is None and reward.run_stats() is None
    assert "rewardhub-judge" not in {t.name for t in threading.enumerate()} - before
    reward.close()

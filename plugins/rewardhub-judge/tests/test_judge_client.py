"""The judge's client against a real local server that misbehaves on purpose (fake_endpoint.py):
every failure is ``None`` with a countable reason, never 0; retries, ``Retry-After``, the
deadline, the structured-output fallback, the limits and the budget, seen from the server."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from rewardhub_judge import LLMJudge
from rewardhub_judge.rubrics import resolve
from rewardhub_judge.wire import worst_case_tokens

from rewardhub import Sample


def judge(endpoint, mode: str, **args) -> LLMJudge:
    args.setdefault("cache", False)
    args.setdefault("backoff", 0.05)
    return LLMJudge(base_url=endpoint.url(mode), model="fake-judge", **args)


def fresh(n: int = 1, reply: str | None = None) -> list[Sample]:
    """Samples no other test sends (the server counts retries per distinct body)."""
    tag = uuid.uuid4().hex
    suffix = f" <<reply:{reply}>>" if reply else ""
    return [Sample(f"answer {tag} {i}{suffix}", prompt=f"question {tag} {i}") for i in range(n)]


@pytest.mark.parametrize(
    ("mode", "args", "reason", "requests"),
    [
        ("http500", {"retries": 2}, "judge: HTTP 500 after 3 tries", 3),
        ("badrequest", {"structured": "none"}, "judge: HTTP 400", 1),
        ("echokey", {}, "judge: HTTP 401", 1),
        ("garbage", {}, "judge: malformed response", 1),
        ("nochoices", {}, "judge: malformed response", 1),
        ("refuse", {}, "judge: refused", 1),
        ("refusal", {}, "judge: refused", 1),
        ("cut", {}, "judge: unparseable verdict (cut at max_tokens)", 1),
        ("ok", {}, "judge: unparseable verdict", 1),  # the reply below is not a verdict
        ("drip", {"timeout": 2}, "judge: no answer within 2s", 1),
    ],
)
def test_every_failure_is_none_with_its_reason(fake_endpoint, mode, args, reason, requests):
    mark = fake_endpoint.mark()
    reward = judge(fake_endpoint, mode, **args)
    try:
        (score,) = reward.score(fresh(reply="I liked it, 8 out of 10" if mode == "ok" else None))
        stats = reward.run_stats()
    finally:
        reward.close()
    assert score.value is None  # never a 0 that reads as a bad answer
    assert score.info["reason"] == reason
    assert len(fake_endpoint.requests(mode, since=mark)) == requests
    assert stats["requests"] == requests


def test_a_server_that_is_not_there_is_a_connection_failure(unused_port):
    reward = LLMJudge(base_url=f"http://127.0.0.1:{unused_port}/v1", model="m", cache=False, retries=2, backoff=0.01)
    try:
        (score,) = reward.score(fresh())
    finally:
        reward.close()
    assert score.value is None and score.info["reason"] == "judge: connection failed after 3 tries"


def test_5xx_is_retried_until_it_answers(fake_endpoint):
    mark = fake_endpoint.mark()
    reward = judge(fake_endpoint, "flaky", retries=3)
    try:
        (score,) = reward.score(fresh(reply='{"score": 10}'))
        stats = reward.run_stats()
    finally:
        reward.close()
    assert score.value == 1.0
    assert [r["status"] for r in fake_endpoint.requests("flaky", since=mark)] == [500, 500, 200]
    assert stats["retries"] == 2 and stats["answers"] == 1


@pytest.mark.parametrize("mode", ["ratelimit", "ratelimit-date"])
def test_429_waits_for_retry_after(fake_endpoint, mode):
    mark = fake_endpoint.mark()
    reward = judge(fake_endpoint, mode)
    try:
        (score,) = reward.score(fresh(reply='{"score": 1}'))
        stats = reward.run_stats()
    finally:
        reward.close()
    assert score.value == 0.0  # a real verdict of 1 on 1..10 is the lowest grade, not a failure
    first, second = fake_endpoint.requests(mode, since=mark)
    assert (first["status"], second["status"]) == (429, 200)
    assert second["start"] - first["t"] >= 0.9  # Retry-After: 1 s (a backoff of 0.05 s alone would not wait)
    assert stats["rate_limited"] == 1


def test_an_endpoint_without_response_format_gets_plain_requests(fake_endpoint):
    mark = fake_endpoint.mark()
    reward = judge(fake_endpoint, "noformat", max_concurrency=1)
    try:
        scores = reward.score(fresh(3, reply='{"score": 4}'))
        used = reward.provenance["structured_output"]
    finally:
        reward.close()
    assert [s.value for s in scores] == [pytest.approx(1 / 3)] * 3
    seen = [(r["status"], r["response_format"]) for r in fake_endpoint.requests("noformat", since=mark)]
    assert seen == [(400, "json_schema"), (200, None), (200, None), (200, None)]
    assert used == "none"


def test_structured_modes_reach_the_endpoint(fake_endpoint):
    for structured, expected in (("json_object", "json_object"), ("json_schema", "json_schema"), ("none", None)):
        mark = fake_endpoint.mark()
        reward = judge(fake_endpoint, "ok", structured=structured)
        try:
            reward.score(fresh())
        finally:
            reward.close()
        assert [r["response_format"] for r in fake_endpoint.requests("ok", since=mark)] == [expected]


def test_never_more_requests_in_flight_than_max_concurrency(fake_endpoint):
    mark = fake_endpoint.mark()
    reward = judge(fake_endpoint, "slow", max_concurrency=3)
    try:
        scores = reward.score(fresh(12))
    finally:
        reward.close()
    assert all(s.value is not None for s in scores)
    seen = fake_endpoint.requests("slow", since=mark)
    assert len(seen) == 12
    events = sorted([(r["start"], 1) for r in seen] + [(r["t"], -1) for r in seen], key=lambda e: (e[0], e[1]))
    in_flight = peak = 0
    for _, step in events:
        in_flight += step
        peak = max(peak, in_flight)
    assert peak <= 3


def test_requests_per_minute_spaces_requests(fake_endpoint):
    mark = fake_endpoint.mark()
    reward = judge(fake_endpoint, "ok", requests_per_minute=60, max_concurrency=4)
    try:
        reward.score(fresh(4))
        waited = reward.run_stats()["waited_s"]
    finally:
        reward.close()
    starts = sorted(r["start"] for r in fake_endpoint.requests("ok", since=mark))
    assert len(starts) == 4
    # 60 a minute: one a second (no burst), so 3 s from the first to the fourth as sent, where
    # without the limit all four leave at once; the server's clock adds network delays, so its
    # span is checked loosely
    assert starts[-1] - starts[0] >= 2.2
    assert waited >= 1 + 2 + 3 - 0.2  # the three later requests waited their turns


def test_the_token_budget_is_never_overspent(fake_endpoint):
    samples = fresh(12)
    rubric = resolve("helpfulness")
    worst = worst_case_tokens(rubric.messages(prompt=samples[0].prompt_text, response=samples[0].response), 64)
    budget = int(worst * 2.5)
    mark = fake_endpoint.mark()
    reward = judge(fake_endpoint, "ok", max_total_tokens=budget, max_tokens=64, max_concurrency=1)
    try:
        scores = reward.score(samples)
        stats = reward.run_stats()
    finally:
        reward.close()
    spent = [s for s in scores if s.value is None]
    assert spent and all(s.info["reason"] == "judge: token budget spent" for s in spent)
    assert stats["total_tokens"] <= budget  # what the endpoint reported, all requests together
    assert stats["budget_refused"] == len(spent)
    assert len(fake_endpoint.requests("ok", since=mark)) == stats["answers"] == len(scores) - len(spent) >= 2


def test_missing_usage_counts_the_worst_case(fake_endpoint):
    reward = judge(fake_endpoint, "nousage", max_tokens=32)
    samples = fresh()
    try:
        (score,) = reward.score(samples)
        stats = reward.run_stats()
    finally:
        reward.close()
    assert score.value is not None
    worst = worst_case_tokens(
        resolve("helpfulness").messages(prompt=samples[0].prompt_text, response=samples[0].response), 32
    )
    assert stats["usage_missing"] == 1 and stats["total_tokens"] == worst


def test_ascore_from_another_event_loop(fake_endpoint):
    reward = judge(fake_endpoint, "ok")
    try:
        scores = asyncio.run(reward.ascore(fresh(3, reply='{"score": 10}')))
    finally:
        reward.close()
    assert [s.value for s in scores] == [1.0, 1.0, 1.0]

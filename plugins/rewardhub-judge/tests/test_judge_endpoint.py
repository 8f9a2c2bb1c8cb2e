"""Against a real model: ``transformers serve`` with SmolLM2-135M-Instruct on CPU (conftest.py).

A 135M model is no judge: most of its replies hold no readable verdict. What is checked is
that every result is a value in 0..1 with the verdict it came from, or ``None`` with one of
the stated reasons (never a 0), that the tokens the endpoint reports are counted, that a
re-run reaches the server zero times (its own access log says so), that the cascade sends
only the rule's leftovers, and that the budget holds with real token counts."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from rewardhub_judge import Cascade, LLMJudge, PairwiseJudge
from rewardhub_judge.client import BUDGET_SPENT, MALFORMED
from rewardhub_judge.pairwise import NO_BASELINE
from rewardhub_judge.verdicts import CUT, OUT_OF_SCALE, REFUSED, UNPARSEABLE

from rewardhub import Sample
from rewardhub.cli import cli

pytestmark = pytest.mark.slow

#: Every reason a judge may give on this endpoint, and the prefixes of the HTTP ones.
KNOWN = {UNPARSEABLE, CUT, REFUSED, OUT_OF_SCALE, MALFORMED, BUDGET_SPENT, NO_BASELINE, "judge: no majority"}
KNOWN_PREFIXES = ("judge: HTTP ", "judge: connection failed after ", "judge: no answer within ")
QUESTIONS = [
    ("What is 2 + 2?", "2 + 2 = 4."),
    ("Name a primary colour.", "Red is a primary colour."),
    ("What is the capital of France?", "The capital of France is Paris."),
    ("Give a synonym of 'happy'.", "Joyful."),
]


def known(reason: str) -> bool:
    return reason in KNOWN or reason.startswith(KNOWN_PREFIXES)


def endpoint_args(endpoint, tmp_path, **more) -> dict:
    return {
        "base_url": endpoint.url,
        "model": endpoint.model,
        "max_tokens": 48,
        "timeout": 300,
        "cache": str(tmp_path / "judge.sqlite3"),
        **more,
    }


def test_eval_with_a_real_judge_then_again_from_the_cache(smollm_endpoint, tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps({"prompt": q, "response": a}) + "\n" for q, a in QUESTIONS))
    config = tmp_path / "judge.yaml"
    args = endpoint_args(smollm_endpoint, tmp_path)
    config.write_text(json.dumps({"rewards": [{"name": "llm_judge", "args": args}], "metrics": []}))
    runs = []
    for _ in range(2):
        before = smollm_endpoint.completions()
        out = tmp_path / f"out{len(runs)}.jsonl"
        result = CliRunner().invoke(cli, ["eval", str(data), "--config", str(config), "--json", "-q", "-o", str(out)])
        assert result.exit_code == 0, result.output
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        runs.append((smollm_endpoint.completions() - before, json.loads(result.output)["rewards"]["llm_judge"], rows))
    (asked, summary, rows), (asked_again, summary_again, rows_again) = runs
    assert asked == len(QUESTIONS) == summary["stats"]["requests"]
    assert summary["stats"]["prompt_tokens"] > 0 and summary["stats"]["completion_tokens"] > 0  # as reported
    for row in rows:
        value, info = row["rewards"]["llm_judge"], row["reward_info"]["llm_judge"]
        if value is None:
            assert known(info["reason"]), info
        else:
            assert 0 <= value <= 1 and info["verdict"] == pytest.approx(1 + 9 * value)
    assert sum(summary["missing_reasons"].values()) == summary["missing"]
    assert all(known(reason) for reason in summary["missing_reasons"])
    # the second run: nothing reached the server, the same values came back
    assert asked_again == 0 and summary_again["stats"]["cache_hits"] == len(QUESTIONS)
    assert summary_again["stats"].get("requests", 0) == 0
    assert [r["rewards"] for r in rows_again] == [r["rewards"] for r in rows]


def test_pairwise_on_a_real_model(smollm_endpoint, tmp_path):
    reward = PairwiseJudge(**endpoint_args(smollm_endpoint, tmp_path, cache=False, max_concurrency=4))
    samples = [Sample(a, prompt=q, meta={"baseline": "I do not know."}) for q, a in QUESTIONS[:2]]
    before = smollm_endpoint.completions()
    try:
        scores = reward.score(samples)
        stats = reward.run_stats()
    finally:
        reward.close()
    assert smollm_endpoint.completions() - before == stats["requests"] == 4  # both orders, each pair
    for score in scores:
        if score.value is None:
            assert known(score.info["reason"])
        else:
            assert score.value in (0.0, 0.5, 1.0) and isinstance(score.info["consistent"], bool)


def test_cascade_sends_only_the_rules_leftovers_to_the_model(smollm_endpoint, tmp_path):
    pytest.importorskip("rewardhub_verify")
    judge = {"name": "llm_judge", "args": endpoint_args(smollm_endpoint, tmp_path, cache=False)}
    reward = Cascade(first="math_accuracy", then=judge)
    samples = [
        Sample(r"\boxed{4}", prompt="2+2?", reference="4"),
        Sample(r"\boxed{5}", prompt="2+2?", reference="4"),
        Sample("Paris.", prompt="What is the capital of France?"),
    ]
    before = smollm_endpoint.completions()
    try:
        scores = reward.score(samples)
        stats = reward.run_stats()
    finally:
        reward.close()
    assert [s.value for s in scores[:2]] == [1.0, 0.0]
    assert scores[2].info["decided_by"] == "judge"
    assert scores[2].value is not None or known(scores[2].info["reason"])
    assert smollm_endpoint.completions() - before == 1
    assert (stats["by_rule"], stats["to_judge"], stats["judge_requests"]) == (2, 1, 1)


def test_the_budget_holds_with_real_token_counts(smollm_endpoint, tmp_path):
    from rewardhub_judge.rubrics import resolve
    from rewardhub_judge.wire import worst_case_tokens

    samples = [Sample(a, prompt=q) for q, a in QUESTIONS]
    worst = max(
        worst_case_tokens(resolve("helpfulness").messages(prompt=s.prompt, response=s.response), 48) for s in samples
    )
    budget = int(worst * 1.5)
    reward = LLMJudge(
        **endpoint_args(smollm_endpoint, tmp_path, cache=False, max_total_tokens=budget, max_concurrency=1)
    )
    before = smollm_endpoint.completions()
    try:
        scores = reward.score(samples)
        stats = reward.run_stats()
    finally:
        reward.close()
    refused = [s for s in scores if s.value is None and s.info["reason"] == BUDGET_SPENT]
    assert refused and stats["budget_refused"] == len(refused)
    assert stats["total_tokens"] <= budget
    assert smollm_endpoint.completions() - before == stats["requests"] == len(samples) - len(refused)

"""Reading verdicts (JSON first, MT-Bench's [[ ]] pattern second, nothing else) and rubrics."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rewardhub_judge import rubrics
from rewardhub_judge.verdicts import CUT, OUT_OF_SCALE, REFUSED, UNPARSEABLE, read_score, read_winner, refused

SCALE = (1.0, 10.0)


@given(
    score=st.integers(1, 10) | st.floats(1, 10, allow_nan=False),
    explanation=st.text(max_size=80),
    before=st.sampled_from(["", "Here is my verdict:\n", "```json\n"]),
    after=st.sampled_from(["", "\n```", "\nThanks."]),
)
def test_a_json_verdict_reads_back_wherever_it_sits(score, explanation, before, after):
    reply = before + json.dumps({"explanation": explanation, "score": score}) + after
    verdict = read_score(reply, "stop", SCALE)
    assert verdict.reason is None
    assert verdict.value == float(score)
    assert verdict.read == "json"
    assert verdict.explanation == (explanation.strip() or None)


def test_mt_bench_pattern_is_the_fallback():
    verdict = read_score("The answer is accurate and complete. Rating: [[8]]", "stop", SCALE)
    assert (verdict.value, verdict.read, verdict.reason) == (8.0, "pattern", None)
    assert verdict.explanation == "The answer is accurate and complete. Rating:"
    assert read_score("[[7.5]]", "stop", SCALE).value == 7.5


@pytest.mark.parametrize(
    "reply",
    [
        "I would give this an 8/10.",
        "Score: 8",
        "yes",
        '{"explanation": "no score here"}',
        '{"score": "eight"}',
        '{"score": true}',
        "",
    ],
)
def test_free_text_is_not_a_verdict(reply):
    verdict = read_score(reply, "stop", SCALE)
    assert verdict.value is None and verdict.reason == UNPARSEABLE


def test_a_reply_cut_at_max_tokens_says_so():
    assert read_score("The response is helpful and I would", "length", SCALE).reason == CUT


def test_out_of_scale_is_its_own_reason():
    verdict = read_score('{"score": 11}', "stop", SCALE)
    assert verdict.reason == OUT_OF_SCALE and verdict.value == 11.0
    assert read_score("[[0]]", "stop", SCALE).reason == OUT_OF_SCALE


@pytest.mark.parametrize(
    "reply", ["I'm sorry, but I can't help with that.", "As an AI, I cannot judge this.", "I cannot evaluate"]
)
def test_refusals_are_told_apart_from_unreadable_replies(reply):
    assert read_score(reply, "stop", SCALE).reason == REFUSED
    assert read_winner(reply, "stop").reason == REFUSED


def test_endpoint_refusals():
    assert refused("I can't help with that.", "stop")
    assert refused(None, "content_filter")
    assert not refused(None, "stop") and not refused("", "stop")


@pytest.mark.parametrize(
    ("reply", "winner"),
    [
        ('{"explanation": "x", "winner": "A"}', "A"),
        ('{"winner": "b"}', "B"),
        ('{"winner": "Tie"}', "tie"),
        ("Assistant B is more detailed. [[B]]", "B"),
        ("Both are equal. [[C]]", "tie"),
        ("[[tie]]", "tie"),
    ],
)
def test_pairwise_verdicts(reply, winner):
    verdict = read_winner(reply, "stop")
    assert verdict.reason is None and verdict.value == winner


@pytest.mark.parametrize("reply", ['{"winner": "both"}', "A is better", "I prefer B", '{"winner": 1}'])
def test_pairwise_free_text_is_not_a_verdict(reply):
    assert read_winner(reply, "stop").reason == UNPARSEABLE


def test_builtin_rubrics_and_their_scales():
    assert rubrics.resolve("helpfulness").scale == (1.0, 10.0)
    assert rubrics.resolve("correctness").needs_reference
    assert rubrics.resolve("safety").scale == (0.0, 1.0)
    with pytest.raises(ValueError, match="scale is fixed"):
        rubrics.resolve("helpfulness", [0, 5])


def test_a_template_keeps_other_braces_and_fills_only_its_placeholders():
    template = 'Judge {response} to {prompt}. Example: {"score": 3}. {unknown_word'
    rubric = rubrics.resolve(template, [0, 5])
    messages = rubric.messages(prompt="P?", response="R!", reference="")
    user = messages[-1]["content"]
    assert user.startswith('Judge R! to P?. Example: {"score": 3}. {unknown_word')
    assert "a number from 0 to 5" in user
    assert rubric.scale == (0.0, 5.0) and rubric.name == "template" and len(rubric.version) == 12
    assert rubrics.resolve(template + " ").version != rubric.version  # another text, another cache key


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("no placeholder at all", "neither a built-in name"),
        ("{prompt} only", "neither a built-in name"),
        ("{response} {answer_a}", "may use"),
    ],
)
def test_bad_templates_are_one_line_errors(template, message):
    with pytest.raises(ValueError, match=message):
        rubrics.resolve(template)


def test_pairwise_templates_need_both_answers():
    assert rubrics.resolve("{prompt} {answer_a} {answer_b}", pairwise=True).pairwise
    with pytest.raises(ValueError, match=r"\{answer_a\} and \{answer_b\}"):
        rubrics.resolve("{prompt} {answer_a}", pairwise=True)


@pytest.mark.parametrize("scale", [[5, 1], [1], "1-10", [True, 2]])
def test_bad_scales(scale):
    with pytest.raises(ValueError, match="scale must be"):
        rubrics.resolve("{response}", scale)

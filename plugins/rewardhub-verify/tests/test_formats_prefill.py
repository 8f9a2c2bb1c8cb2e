"""Formats as trainers render them: a ``<think>`` the chat template prefills counts as the
turn's opening (TRL issue 6966), and ``soft_overlong`` takes TRL's ``cache_length=0``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from rewardhub_verify import RegexFormat, SoftOverlong, ThinkFormat
from rewardhub_verify.formats import OPEN_R1_FORMAT

from rewardhub import Sample, Scorer

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

#: What DeepSeek-R1's template renders before the model speaks (the generation prompt).
R1_PROMPT = "<｜begin▁of▁sentence｜><｜User｜>What is 2 + 2?<｜Assistant｜><think>\n"
#: A well-formed response under that template: it starts inside the think block.
R1_RESPONSE = "2 plus 2 is 4.\n</think>\nThe answer is 4."


def trl_think_format(texts: list[str]) -> list[float]:
    rewards = pytest.importorskip("trl.rewards")
    return rewards.think_format_reward([[{"role": "assistant", "content": t}] for t in texts])


def test_a_prefilled_think_counts_as_the_opening_tag():
    samples = [
        Sample(R1_RESPONSE, prompt=R1_PROMPT),
        Sample(R1_RESPONSE, prompt="What is 2 + 2?"),  # no prefill: the tag really is missing
        Sample("no closing tag at all", prompt=R1_PROMPT),
        Sample("<think>again</think> 4", prompt=R1_PROMPT),  # the turn now opens twice
        Sample("<think>\n4\n</think>\n4", prompt="<|im_start|>assistant\n"),  # Qwen3: the model opens it
    ]
    assert ThinkFormat().score(samples) == [1.0, 0.0, 0.0, 0.0, 1.0]
    assert trl_think_format([R1_RESPONSE]) == [0.0]  # TRL's reward on the same response


def test_prefill_none_is_trls_reward_bit_for_bit():
    texts = [R1_RESPONSE, "<think>a</think>b", "<think>a"]
    reward = ThinkFormat(prefill=None)
    assert reward.inputs == ("response",)
    assert reward.score([Sample(t, prompt=R1_PROMPT) for t in texts]) == trl_think_format(texts)


def test_chat_prompts_a_final_assistant_message_is_the_prefill():
    from rewardhub_verify.formats import prefilled

    continued = [{"role": "user", "content": "2 + 2?"}, {"role": "assistant", "content": "<think>\n"}]
    plain = [{"role": "user", "content": "2 + 2?"}]
    multimodal = [{"role": "assistant", "content": [{"type": "text", "text": "<think>"}]}]
    samples = [Sample(R1_RESPONSE, prompt=p) for p in (continued, plain, multimodal)]
    assert ThinkFormat().score(samples) == [1.0, 0.0, 1.0]
    assert prefilled(continued, "<think>") == "<think>\n"  # whitespace after the tag is kept
    assert prefilled(plain, "<think>") == ""


def test_the_engine_scores_the_same_response_apart_under_different_prompts():
    samples = [Sample(R1_RESPONSE, prompt=R1_PROMPT), Sample(R1_RESPONSE, prompt="What is 2 + 2?")]
    with Scorer(["think_format"]) as scorer:
        assert scorer.score(samples).components["think_format"] == [1.0, 0.0]


def test_regex_format_takes_the_same_prefill_when_asked():
    response = "2 plus 2\n</think>\n<answer>\n4\n</answer>"
    assert RegexFormat().score([Sample(response, prompt=R1_PROMPT)]) == [0.0]  # off by default
    assert RegexFormat(OPEN_R1_FORMAT, prefill="<think>").score([Sample(response, prompt=R1_PROMPT)]) == [1.0]
    with pytest.raises(ValueError, match="prefill"):
        RegexFormat(prefill="  ")


@pytest.mark.slow
def test_a_chat_prompt_rendered_by_the_policys_chat_template(tmp_path):
    pytest.importorskip("transformers")
    sys.path.insert(0, str(EXAMPLES))
    try:
        from tiny_model import CHAT_TEMPLATE, build_tokenizer
    finally:
        sys.path.remove(str(EXAMPLES))
    thinking = build_tokenizer()
    thinking.chat_template = CHAT_TEMPLATE.replace("'<|im_start|>assistant\n'", "'<|im_start|>assistant\n<think>\n'")
    thinking.save_pretrained(tmp_path / "r1")
    build_tokenizer().save_pretrained(tmp_path / "chatml")  # its generation prompt opens nothing
    messages = [{"role": "user", "content": "What is 2 + 2?"}]
    sample = Sample(R1_RESPONSE, prompt=messages)
    assert ThinkFormat(chat_template=str(tmp_path / "r1")).score([sample]) == [1.0]
    assert ThinkFormat(chat_template=f"hf:{tmp_path / 'chatml'}").score([sample]) == [0.0]
    assert ThinkFormat().score([sample]) == [0.0]  # without the template the generation prompt is unknown


# -- soft_overlong: cache_length=0 is TRL's hard cut-off ---------------------------------------


def test_soft_overlong_with_no_cache_is_trls_hard_cut_off():
    rewards = pytest.importorskip("trl.rewards")
    lengths = [0, 5, 99, 100, 101, 150]
    expected = rewards.get_soft_overlong_punishment(max_completion_len=100, soft_punish_cache=0)(
        [[1] * n for n in lengths]
    )
    reward = SoftOverlong(max_length=100, cache_length=0, tokenize="whitespace")
    got = reward.score([Sample(" ".join(["w"] * n)) for n in lengths])
    assert [s.value for s in got] == expected == [0.0, 0.0, 0.0, 0.0, -1.0, -1.0]
    with pytest.raises(ValueError, match="cache_length"):
        SoftOverlong(max_length=100, cache_length=-1)

"""The RM's own rendering: its chat template (never the policy's), pair encoding without one, a
``template`` over both; truncation flagged and counted, in ``info``, the summary and the sidecar."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from rewardhub_rm import RewardModel
from rewardhub_rm.rendering import Renderer, chat_messages, prompt_as_text

from rewardhub import Sample
from rewardhub.cli import cli


def tokenizer_of(path: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def test_chat_template_of_the_rm_renders_prompt_and_response(decoder_rm):
    renderer = Renderer(tokenizer_of(decoder_rm), None, 256)
    assert renderer.rule == "chat" and not renderer.add_special_tokens
    text = renderer.text(Sample("Four.", prompt="Count to four."))
    assert text == "<|im_start|>user\nCount to four.<|im_end|>\n<|im_start|>assistant\nFour.<|im_end|>\n"
    chat = Sample("Four.", prompt=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Count."}])
    assert renderer.text(chat).startswith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nCount.")
    (encoded,) = renderer.encode([Sample("Four.", prompt="Count to four.")])
    tokenizer = renderer.tokenizer
    assert (
        encoded.input_ids
        == tokenizer.apply_chat_template(chat_messages("Count to four.", "Four."), tokenize=True, return_dict=True)[
            "input_ids"
        ]
    )  # what apply_chat_template(tokenize=True) gives: no special token added twice


def test_message_parts_and_missing_prompts():
    parts = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "Look"}, {"type": "image"}, {"type": "text", "text": " here"}],
        }
    ]
    assert chat_messages(parts, "ok") == [
        {"role": "user", "content": "Look here"},
        {"role": "assistant", "content": "ok"},
    ]
    assert chat_messages(None, "ok")[0] == {"role": "user", "content": ""}
    assert prompt_as_text(None) == "" and prompt_as_text([{"role": "user", "content": "q"}]) == "q"
    two = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert prompt_as_text(two) == "user: q\nassistant: a"


def test_pair_encoding_without_a_chat_template(minilm_rm):
    renderer = Renderer(tokenizer_of(minilm_rm), None, 512)
    assert renderer.rule == "pair"
    (encoded,) = renderer.encode([Sample("it is blue", prompt="why is the sky blue")])
    expected = renderer.tokenizer(["why is the sky blue"], ["it is blue"])
    assert encoded.input_ids == expected["input_ids"][0]
    assert encoded.token_type_ids == expected["token_type_ids"][0] and 1 in encoded.token_type_ids
    assert renderer.describe()["shape"] == "[CLS] { prompt } [SEP] { response } [SEP]"


def test_template_overrides_both(decoder_rm, minilm_rm, reference):
    template = "Question: {prompt}\nAnswer: {response}"
    for path in (decoder_rm, minilm_rm):
        renderer = Renderer(tokenizer_of(path), template, 256)
        assert renderer.rule == "template" and renderer.add_special_tokens
        assert renderer.text(Sample("blue", prompt="sky?")) == "Question: sky?\nAnswer: blue"
    forced_pair = Renderer(tokenizer_of(decoder_rm), "pair", 256)
    assert forced_pair.rule == "pair"
    with pytest.raises(ValueError, match="no chat template"):
        Renderer(tokenizer_of(minilm_rm), "chat", 512)


def test_a_template_that_refuses_a_conversation_fails_that_sample_only(make_decoder_rm):
    strict = (
        "{% for m in messages %}{% if m['role'] == 'system' %}"
        "{{ raise_exception('system turns are not supported') }}{% endif %}"
        "{{ m['role'] + ': ' + m['content'] + '\n' }}{% endfor %}"
    )
    path = make_decoder_rm(chat_template=strict)
    reward = RewardModel(model=path, device="cpu")
    ok, refused = reward.score([Sample("a", prompt="q"), Sample("a", prompt=[{"role": "system", "content": "s"}])])
    assert ok.value is not None
    assert isinstance(refused, ValueError) and "system turns are not supported" in str(refused)


def test_truncation_is_flagged_and_scores_what_was_read(minilm_rm, decoder_rm, reference):
    long = Sample("the sea and the moon " * 40, prompt="Describe the sea.")
    short = Sample("calm", prompt="Describe the sea.")
    for path in (minilm_rm, decoder_rm):
        reward = RewardModel(model=path, device="cpu", max_length=48)
        cut, whole = reward.score([long, short])
        assert cut.info["truncated"] is True and cut.info["tokens"] == 48 and cut.info["tokens_full"] > 48
        assert whole.info["truncated"] is False and "tokens_full" not in whole.info
        expected = reference(path, [long, short], max_length=48)
        assert [cut.value, whole.value] == pytest.approx(expected, abs=1e-4)
        assert reward.provenance["stats"]["truncated"] == 1


def test_eval_counts_truncation_and_records_the_rendering(tmp_path, decoder_rm):
    data = tmp_path / "in.jsonl"
    rows = [
        {"prompt": "Describe the sea.", "response": f"{i} " + "the sea and the moon " * (40 if i % 3 == 0 else 1)}
        for i in range(9)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = tmp_path / "rm.yaml"
    config.write_text(
        f"rewards:\n  - name: reward_model\n    args: {{model: {decoder_rm}, max_length: 40, device: cpu}}\n"
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["eval", str(data), "--config", str(config), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["rewards"]["reward_model"]["truncated"] == 3
    assert summary["rewards"]["reward_model"]["missing"] == 0
    sidecar = json.loads((tmp_path / "out.meta.json").read_text())
    (entry,) = sidecar["config"]["rewards"]
    rendering = entry["resolved"]["rendering"]
    assert rendering["rule"] == "chat_template" and rendering["max_length"] == 40
    assert rendering["shape"] == "<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n{response}<|im_end|>\n"
    assert entry["resolved"]["stats"]["truncated"] == 3 and entry["resolved"]["stats"]["sequences"] == 9
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["reward_info"]["reward_model"]["truncated"] for row in lines] == [i % 3 == 0 for i in range(9)]

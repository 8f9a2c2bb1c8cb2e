"""The OpenRLHF adapter, called as OpenRLHF 0.11 calls a ``--remote_rm_url file.py`` reward.

Reconstructed from OpenRLHF 0.11.2's source:

- ``openrlhf/utils/agent.py::SingleTurnAgentExecutor`` loads the file with
  ``spec_from_file_location("reward_func", path)`` and calls ``reward_func(queries, prompts,
  labels)`` positionally, one query per call, in a worker thread; the query is
  ``tokenizer.decode(prompt_ids + response_ids, skip_special_tokens=False)``;
- ``openrlhf/trainer/ppo_utils/samples_generator.py::_process_response_into_experience`` reads
  ``rewards``, ``scores`` and ``extra_logs`` and wraps each value as ``torch.tensor([value])``
  (tensors in ``extra_logs`` through ``value.flatten()[0].item()``).

Queries are built from real chat templates (TRL ships them) rendered by transformers. The test
that needs ``openrlhf`` drives its real executor and is skipped when it is not installed.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import pytest

from rewardhub.adapters import openrlhf as adapter
from rewardhub.adapters.openrlhf import extract_response, reward_func, strip_stop_tokens

# template file in trl/chat_templates, and the token a generation of that model ends with
TEMPLATES = {
    "qwen2_5": "<|im_end|>",
    "llama3_1": "<|eot_id|>",
    "phi3": "<|end|>",
    "gemma": "<end_of_turn>",
    "deepseekv3": "<｜end▁of▁sentence｜>",
    "gptoss": "<|return|>",
}
RESPONSES = ["Hello! How can I help?", "Line one.\n\nLine two:\n- a\n- b", "  spaced  ", "数学很有趣。"]


def render_prompt(template: str, content: str) -> str:
    """The templated prompt OpenRLHF puts in ``prompts`` (apply_chat_template, generation prompt)."""
    trl = pytest.importorskip("trl")
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>")), bos_token="<s>", eos_token="</s>"
    )
    tokenizer.chat_template = (Path(trl.__file__).parent / "chat_templates" / f"{template}.jinja").read_text()
    messages = [{"role": "user", "content": content}]
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


@pytest.mark.slow  # renders templates with transformers
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_response_recovered_from_real_chat_template_queries(template):
    prompt = render_prompt(template, "Say hello, please.")
    stop = TEMPLATES[template]
    for response in RESPONSES:
        assert extract_response(prompt + response + stop, prompt) == response.rstrip()
        padded = prompt + response + stop + "<|endoftext|>" * 3  # right padding decoded with the query
        assert extract_response(padded, prompt) == response.rstrip()


@pytest.mark.slow
def test_left_truncated_prompt_is_still_found():
    prompt = render_prompt("qwen2_5", "A long question " * 20)
    query = prompt[150:] + "The answer." + "<|im_end|>"
    assert extract_response(query, prompt) == "The answer."


def test_prompt_not_found_scores_zero_with_every_component_missing(monkeypatch):
    monkeypatch.setenv("REWARDHUB_CONFIG", "token_entropy,repetition_penalty")
    out = reward_func(["something else entirely"], ["<|im_start|>user\nhi<|im_end|>\n"], [None])
    assert out["rewards"].tolist() == [0.0]
    assert out["extra_logs"]["rewardhub_missing"].tolist() == [2.0]


def test_stop_tokens_from_the_environment(monkeypatch):
    monkeypatch.setenv("REWARDHUB_STOP_TOKENS", "<|my_eos|>")
    assert strip_stop_tokens("done<|my_eos|><|endoftext|>", adapter.stop_tokens()) == "done"


def test_batch_shape_and_values(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("REWARDHUB_CONFIG", "token_entropy,repetition_penalty:0.5")
    prompt = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    responses = ["one two three four", "go go go go go go go go"]
    out = reward_func([prompt + r + "<|im_end|>" for r in responses], [prompt] * 2, ["four", None])
    assert set(out) == {"rewards", "scores", "extra_logs"}
    assert isinstance(out["rewards"], torch.Tensor) and out["rewards"].shape == (2,)
    assert set(out["extra_logs"]) == {"token_entropy", "repetition_penalty", "rewardhub_missing"}
    token_entropy, penalty = out["extra_logs"]["token_entropy"], out["extra_logs"]["repetition_penalty"]
    assert token_entropy[0] == pytest.approx(1.0) and token_entropy[1] == 0.0
    assert torch.allclose(out["rewards"], token_entropy + 0.5 * penalty)

    single = reward_func([prompt + responses[0] + "<|im_end|>"], [prompt], [None])  # OpenRLHF's one-query call
    assert torch.tensor([single["rewards"]]).flatten().tolist() == pytest.approx([1.0])  # samples_generator.py
    assert {k: torch.tensor([v.flatten()[0].item()]).item() for k, v in single["extra_logs"].items()} == pytest.approx(
        {"token_entropy": 1.0, "repetition_penalty": 0.0, "rewardhub_missing": 0.0}
    )


def test_file_loads_as_openrlhf_loads_it(monkeypatch):
    monkeypatch.setenv("REWARDHUB_CONFIG", "token_entropy")
    spec = importlib.util.spec_from_file_location("reward_func", adapter.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.reward_func(["Q: hi\nA: a b c</s>"], ["Q: hi\nA: "], ["x"])
    assert [round(float(v), 6) for v in out["rewards"]] == [1.0]


@pytest.mark.slow
def test_against_the_installed_openrlhf_executor(monkeypatch):
    """OpenRLHF's own executor loads the file and calls it (skipped without openrlhf)."""
    pytest.importorskip("openrlhf")
    agent = pytest.importorskip("openrlhf.utils.agent")
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("REWARDHUB_CONFIG", "token_entropy")
    executor = agent.SingleTurnAgentExecutor(remote_rm_url=adapter.__file__)
    prompt = render_prompt("qwen2_5", "Count to four.")
    results = asyncio.run(executor._fetch_rewards_via_func([prompt + "one two three four<|im_end|>"], [prompt], ["4"]))
    reward = results[0]["rewards"]
    assert torch.tensor([reward]).flatten().tolist() == pytest.approx([1.0])

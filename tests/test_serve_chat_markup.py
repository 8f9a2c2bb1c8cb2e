"""Chat-template markup read back into messages (:mod:`rewardhub.serve.chat_markup`) and what
``/get_reward`` makes of OpenRLHF's ``--apply_chat_template`` prompts
(:func:`rewardhub.serve.protocols.openrlhf.to_samples`).

Each template is rendered by transformers' ``apply_chat_template`` (a tokenizer carrying it):
the real templates TRL ships (``trl/chat_templates/*.jinja``: Qwen2.5, Qwen3, Llama 3/3.1/3.2,
Gemma, Gemma 3, Phi-3/3.5, DeepSeek-V3, DeepSeek-R1 distills) where TRL is installed, and
known families written here as Jinja strings (Mistral v0.1, v0.3 and v7, Llama 2, ChatML,
Phi-4). Conversation -> rendered prompt (with the generation header) -> parsed back -> the same
messages; the prompt plus a response as OpenRLHF's query -> the same response.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardhub.serve import chat_markup
from rewardhub.serve.protocols import openrlhf

pytest.importorskip("tokenizers")
transformers = pytest.importorskip("transformers")

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
PHI4 = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '<|im_sep|>' + message['content'] + '<|im_end|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant<|im_sep|>' }}{% endif %}"
)
MISTRAL_V01 = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"
)
MISTRAL_V03 = (
    "{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content'] %}"
    "{%- set loop_messages = messages[1:] %}{%- else %}{%- set loop_messages = messages %}{%- endif %}"
    "{{- bos_token }}{%- for message in loop_messages %}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{- raise_exception('roles must alternate') }}{%- endif %}"
    "{%- if message['role'] == 'user' %}{%- if loop.last and system_message is defined %}"
    "{{- '[INST] ' + system_message + '\n\n' + message['content'] + '[/INST]' }}"
    "{%- else %}{{- '[INST] ' + message['content'] + '[/INST]' }}{%- endif %}"
    "{%- elif message['role'] == 'assistant' %}{{- ' ' + message['content'] + eos_token }}"
    "{%- else %}{{- raise_exception('Only user and assistant roles') }}{%- endif %}{%- endfor %}"
)
MISTRAL_V7 = (
    "{{- bos_token }}{%- if messages[0]['role'] == 'system' %}"
    "{{- '[SYSTEM_PROMPT]' + messages[0]['content'] + '[/SYSTEM_PROMPT]' }}"
    "{%- set loop_messages = messages[1:] %}{%- else %}{%- set loop_messages = messages %}{%- endif %}"
    "{%- for message in loop_messages %}{%- if message['role'] == 'user' %}"
    "{{- '[INST]' + message['content'] + '[/INST]' }}"
    "{%- elif message['role'] == 'assistant' %}{{- message['content'] + eos_token }}{%- endif %}{%- endfor %}"
)
LLAMA2 = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}"
    "{% endfor %}"
)

#: name: (template source, bos, eos, end of the assistant's turn, takes a system turn)
WRITTEN = {
    "chatml": (CHATML, None, "<|im_end|>", "<|im_end|>", True),
    "phi4": (PHI4, None, "<|im_end|>", "<|im_end|>", True),
    "mistral_v01": (MISTRAL_V01, "<s>", "</s>", "</s>", False),
    "mistral_v03": (MISTRAL_V03, "<s>", "</s>", "</s>", False),
    "mistral_v7": (MISTRAL_V7, "<s>", "</s>", "</s>", True),
    "llama2": (LLAMA2, "<s>", "</s>", "</s>", True),
}
TRL_TEMPLATES = {
    "qwen2_5": (None, "<|im_end|>", "<|im_end|>", True),
    "qwen3": (None, "<|im_end|>", "<|im_end|>", True),
    "llama3": ("<|begin_of_text|>", "<|eot_id|>", "<|eot_id|>", True),
    "llama3_1": ("<|begin_of_text|>", "<|eot_id|>", "<|eot_id|>", True),
    "llama3_2": ("<|begin_of_text|>", "<|eot_id|>", "<|eot_id|>", True),
    "gemma": ("<bos>", "<eos>", "<end_of_turn>", False),
    "gemma3": ("<bos>", "<eos>", "<end_of_turn>", False),
    "phi3": ("<s>", "<|endoftext|>", "<|end|>", True),
    "phi3_5": ("<s>", "<|endoftext|>", "<|end|>", True),
    "deepseekv3": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜end▁of▁sentence｜>", True),
    "deepseek_r1_distill": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜end▁of▁sentence｜>", True),
}


def trl_template(name: str) -> str | None:
    try:
        import trl
    except Exception:
        return None
    path = Path(trl.__file__).parent / "chat_templates" / f"{name}.jinja"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def tokenizer_with(template: str, bos: str | None, eos: str):
    """A tokenizer whose only job is to render ``template`` (transformers' apply_chat_template)."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, eos: 1, **({bos: 2} if bos else {})}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    return PreTrainedTokenizerFast(
        tokenizer_object=core, unk_token="<unk>", bos_token=bos, eos_token=eos, chat_template=template
    )


def templates():
    out = []
    for name, (source, bos, eos, end, system) in WRITTEN.items():
        out.append(pytest.param(source, bos, eos, end, system, id=name))
    for name, (bos, eos, end, system) in TRL_TEMPLATES.items():
        source = trl_template(name)
        marks = [] if source else [pytest.mark.skip(reason=f"TRL's {name}.jinja is not installed here")]
        out.append(pytest.param(source, bos, eos, end, system, id=f"trl-{name}", marks=marks))
    return out


CONVERSATIONS = [
    [{"role": "user", "content": "Count to four."}],
    [
        {"role": "user", "content": "Name a colour."},
        {"role": "assistant", "content": "Blue."},
        {"role": "user", "content": "Another one,\nplease."},
    ],
]
WITH_SYSTEM = [
    {"role": "system", "content": "You answer in one word."},
    {"role": "user", "content": "Capital of France?"},
]
RESPONSE = "one two three four"


def render(tokenizer, messages, **kwargs) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **kwargs)


@pytest.mark.parametrize(("source", "bos", "eos", "end", "system"), templates())
def test_rendered_prompts_and_queries_read_back_to_the_same_messages(source, bos, eos, end, system):
    tokenizer = tokenizer_with(source, bos, eos)
    conversations = CONVERSATIONS + ([WITH_SYSTEM] if system else [])
    for messages in conversations:
        prompt = render(tokenizer, messages)
        chat = chat_markup.parse(prompt)
        assert chat is not None and chat.messages == messages, prompt
        assert chat.open_role in ("assistant", None)
        query = prompt + RESPONSE + end
        found, samples = openrlhf.to_samples([query], [prompt], ["4"])
        assert found == [0]
        assert samples[0].prompt == messages
        assert samples[0].response.removeprefix("<think>\n") == RESPONSE
        assert samples[0].reference == "4"
        # without 'prompts': the whole query is read, its last assistant turn is the response
        _, alone = openrlhf.to_samples([query], None)
        assert (alone[0].prompt, alone[0].response) == (samples[0].prompt, samples[0].response)


def test_template_defaults_are_dropped_and_given_system_prompts_kept():
    qwen = trl_template("qwen2_5")
    llama = trl_template("llama3_1")
    if qwen is None or llama is None:
        pytest.skip("TRL's chat templates are not installed here")
    user = [{"role": "user", "content": "Hi."}]
    qwen_prompt = render(tokenizer_with(qwen, None, "<|im_end|>"), user)
    assert "You are Qwen, created by Alibaba Cloud" in qwen_prompt
    assert chat_markup.parse(qwen_prompt).messages == user
    llama_tokenizer = tokenizer_with(llama, "<|begin_of_text|>", "<|eot_id|>")
    llama_prompt = render(llama_tokenizer, user)
    assert "Cutting Knowledge Date" in llama_prompt
    assert chat_markup.parse(llama_prompt).messages == user
    assert chat_markup.parse(render(llama_tokenizer, WITH_SYSTEM)).messages == WITH_SYSTEM


def test_folded_system_prompts_stay_in_the_user_turn():
    """Mistral v0.3 and Gemma fold the system prompt into a user turn: not recoverable, kept there."""
    prompt = render(tokenizer_with(MISTRAL_V03, "<s>", "</s>"), WITH_SYSTEM)
    assert chat_markup.parse(prompt).messages == [
        {"role": "user", "content": "You answer in one word.\n\nCapital of France?"}
    ]


def test_generation_prefixes_go_with_the_response():
    qwen3, r1 = trl_template("qwen3"), trl_template("deepseek_r1_distill")
    if qwen3 is None or r1 is None:
        pytest.skip("TRL's chat templates are not installed here")
    user = [{"role": "user", "content": "2+2?"}]
    no_think = render(tokenizer_with(qwen3, None, "<|im_end|>"), user, enable_thinking=False)
    assert no_think.endswith("<think>\n\n</think>\n\n")
    _, (sample,) = openrlhf.to_samples([no_think + "4<|im_end|>"], [no_think])
    assert (sample.prompt, sample.response) == (user, "4")  # the empty think block carries nothing
    reasoning = render(tokenizer_with(r1, "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"), user)
    assert reasoning.endswith("<think>\n")
    _, (sample,) = openrlhf.to_samples([reasoning + "2 and 2.</think>4<｜end▁of▁sentence｜>"], [reasoning])
    assert (sample.prompt, sample.response) == (user, "<think>\n2 and 2.</think>4")


CONTENT = (
    st.text(st.characters(codec="utf-8", exclude_characters="<>[]|｜\r\x00"), min_size=1, max_size=40)
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=40, deadline=None)
@given(
    family=st.sampled_from(["chatml", "phi4", "mistral_v7", "llama2"] + [n for n in TRL_TEMPLATES if trl_template(n)]),
    turns=st.lists(CONTENT, min_size=1, max_size=5).filter(lambda t: len(t) % 2 == 1),
    response=CONTENT,
)
def test_any_contents_round_trip(family, turns, response):
    source, bos, eos, end = (
        WRITTEN[family][:4] if family in WRITTEN else (trl_template(family), *TRL_TEMPLATES[family][:3])
    )
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": c} for i, c in enumerate(turns)]
    prompt = render(tokenizer_with(source, bos, eos), messages)
    _, samples = openrlhf.to_samples([prompt + response + end], [prompt])
    assert samples[0].prompt == messages
    assert samples[0].response.removeprefix("<think>\n") == response


def test_plain_prompts_are_left_alone_without_a_warning(caplog):
    with caplog.at_level(logging.WARNING, "rewardhub.serve"):
        _, (sample,) = openrlhf.to_samples(["Count to four. one two"], ["Count to four."])
    assert (sample.prompt, sample.response) == ("Count to four.", " one two")
    assert not caplog.records


def test_unknown_markup_is_passed_as_text_with_one_warning_naming_it(caplog, monkeypatch):
    monkeypatch.setattr(openrlhf, "_warned", set())
    prompt = "<|turn>user\nCount to four.<turn|>\n<|turn>model\n"  # Gemma 4's shape: not known here
    with caplog.at_level(logging.WARNING, "rewardhub.serve"):
        for _ in range(3):
            _, (sample,) = openrlhf.to_samples([prompt + "one two<turn|>"], [prompt])
    assert sample.prompt == prompt and sample.response == "one two<turn|>"
    (record,) = caplog.records
    assert "<|turn>" in record.getMessage() and "<turn|>" in record.getMessage()


def test_broken_or_mixed_markup_is_passed_as_text_with_the_reason(caplog, monkeypatch):
    monkeypatch.setattr(openrlhf, "_warned", set())
    stray = "Some words first <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    mixed = "<|im_start|>user\n[INST] Hi [/INST]<|im_end|>\n<|im_start|>assistant\n"
    with caplog.at_level(logging.WARNING, "rewardhub.serve"):
        _, samples = openrlhf.to_samples([stray + "Hello", mixed + "Hello"], [stray, mixed])
    assert [s.prompt for s in samples] == [stray, mixed]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "text outside the turns" in messages[0] and "<|im_start|>" in messages[0]
    assert "several chat templates (chatml, inst)" in messages[1]


def test_a_query_alone_must_be_a_whole_conversation():
    with pytest.raises(ValueError, match=r"query\[1\]: .*no known chat markup"):
        openrlhf.to_samples(
            ["<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>", "Hi Hello"], None
        )
    with pytest.raises(ValueError, match="does not end in an assistant turn"):
        openrlhf.to_samples(["<|im_start|>user\nHi<|im_end|>\n"], None)

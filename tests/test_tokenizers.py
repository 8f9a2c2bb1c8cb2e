"""The shared tokenizers: names, the auto rule for CJK text, and Hugging Face tokenizers."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardhub import Sample
from rewardhub.text import NAMES, cjk_share, get_tokenizer, tokenize
from rewardhub.text.fast13a import SPECIAL, tokenize_13a
from rewardhub.text.tokenizers import CachedTokenizer, RecentMemo, lowercased_tokens


def test_every_name_resolves_to_a_tokenizer():
    for name in NAMES:
        assert tokenize("Hello, world.", name)


def test_13a_splits_punctuation_and_whitespace_does_not():
    assert tokenize("Hello, world.", "13a") == ["Hello", ",", "world", "."]
    assert tokenize("Hello, world.", "whitespace") == ["Hello,", "world."]
    assert tokenize("ab cd", "char") == ["a", "b", "c", "d"]


def test_auto_splits_chinese_per_character_and_english_like_13a():
    assert tokenize("我喜欢猫。") == ["我", "喜", "欢", "猫", "。"]
    assert tokenize("I like cats.") == tokenize("I like cats.", "13a")
    # mostly English with one Chinese word stays 13a; mostly Chinese goes per character
    mixed = "the word 猫 means cat in this sentence"
    assert tokenize(mixed) == tokenize(mixed, "13a")
    assert tokenize("这是 GPU 测试") == tokenize("这是 GPU 测试", "zh")


@given(st.text(alphabet=st.sampled_from("ab 猫字\n。")))
def test_cjk_share_counts_cjk_among_non_space_characters(text):
    letters = [c for c in text if not c.isspace()]
    expected = sum(c in "猫字" for c in letters) / len(letters) if letters else 0.0
    assert cjk_share(text) == pytest.approx(expected)


def test_unknown_name_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="whitespace"):
        get_tokenizer("spacy")
    with pytest.raises(ValueError):
        get_tokenizer("hf:")


@pytest.mark.slow
def test_huggingface_tokenizer_from_a_local_path(tmp_path):
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0, "hello": 1, "world": 2}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    transformers.PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]").save_pretrained(tmp_path)
    assert tokenize("hello world again", f"hf:{tmp_path}") == ["hello", "world", "[UNK]"]


# --- the fast exact 13a and the shared token memo -------------------------------------------

_13A_ALPHABET = st.sampled_from(
    list("aZ09.,-'&;<>/()[]{}|~`^_!?@#$%*+=:\"\\ \t\n\x1c\u00a0\u2028")
    + ["&quot;", "&amp;", "&lt;", "&gt;", "<skipped>", "-\n", "İ", "ẞ", "Σ", "ﬁ", "猫", "é", "٣", "²"]
)


def _sacrebleu_13a(text: str) -> list[str]:
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    return Tokenizer13a()(text).split()


@settings(max_examples=400, deadline=None)
@given(st.lists(_13A_ALPHABET, max_size=40).map("".join))
def test_fast_13a_gives_sacrebleus_tokens_on_random_text(text):
    assert tokenize_13a(text) == _sacrebleu_13a(text)


_PUNCT = st.text(alphabet=list(".,-:;()[]\"'/*#!?&"), max_size=3)
_CORE = st.text(alphabet=list("aZ09é٣²_"), min_size=1, max_size=4)
_WORDS = st.lists(st.tuples(_PUNCT, _CORE, _PUNCT, _CORE, _PUNCT).map("".join), max_size=12).map(" ".join)


@settings(max_examples=400, deadline=None)
@given(_WORDS)
def test_fast_13a_gives_sacrebleus_tokens_on_word_shapes(text):
    """Words as responses have them: punctuation around and inside letters and digits, which
    exercises the one-end, shape and full-scan paths."""
    assert tokenize_13a(text) == _sacrebleu_13a(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(_13A_ALPHABET, max_size=40).map("".join))
def test_lowercased_tokens_are_the_tokens_of_the_lowercased_text(text):
    for name in ("13a", "auto"):
        tokenizer = get_tokenizer(name)
        assert lowercased_tokens(tokenizer, text) == tokenizer(text.lower())


def test_no_character_changes_its_13a_class_when_lowercased():
    """What makes deriving lowercase tokens exact: lowercasing never turns a character into (or
    out of) whitespace, a digit or a character 13a's rules act on."""

    def kind(c: str) -> str:
        return "space" if c.isspace() else c if c in SPECIAL or c in "0123456789" else "other"

    for code in range(0x110000):
        c = chr(code)
        if 0xD800 <= code < 0xE000:
            continue
        assert all(kind(x) == kind(c) for x in c.lower()), hex(code)


def test_fast_13a_on_real_text(realdata):
    texts = []
    for path in sorted((realdata / "alpaca_eval").glob("*.jsonl"))[:1]:
        texts += [json.loads(line)["output"] for line in path.read_text().splitlines()]
    for path in sorted((realdata / "alignbench").glob("*.jsonl")):
        texts += [json.loads(line)["reference"] for line in path.read_text().splitlines()]
    assert [tokenize_13a(t) for t in texts] == [_sacrebleu_13a(t) for t in texts]
    assert [lowercased_tokens(get_tokenizer("13a"), t) for t in texts] == [_sacrebleu_13a(t.lower()) for t in texts]


def test_every_reward_and_metric_of_a_run_shares_one_tokenization(monkeypatch):
    from rewardhub.metrics import Distinct, RepetitionPenalty

    seen: list[str] = []
    tokenizer = get_tokenizer("13a")
    split = tokenizer.split
    monkeypatch.setattr(tokenizer, "split", lambda text: seen.append(text) or split(text))
    monkeypatch.setattr(tokenizer, "_memo", RecentMemo())
    texts = ["One response, this one.", "Another one: here!"]
    RepetitionPenalty(tokenize="13a").score([Sample(t) for t in texts])
    Distinct(tokenize="13a").compute(texts)
    assert seen == texts  # tokenized once each: the lowercase tokens come from the same pass


def test_the_token_memo_always_remembers_the_last_size_texts():
    calls: list[str] = []
    tokenizer = CachedTokenizer(lambda text: calls.append(text) or text.split(), size=4)
    texts = [f"text {i}" for i in range(11)]
    for text in texts:
        tokenizer(text)
    calls.clear()
    for text in texts[-4:]:  # however the generations fell, the last 4 are still there
        assert tokenizer(text) == text.split()
    assert calls == []
    tokenizer(texts[0])
    assert calls == [texts[0]]  # and the memo is bounded: the first one was forgotten
    tokens = tokenizer("text 10")
    tokens.append("changed")  # a caller's own list: the memo is not touched
    assert tokenizer("text 10") == ["text", "10"]


def test_a_chunk_of_the_memo_size_read_again_is_never_tokenized_again():
    """Metrics read a chunk one after another: the second reader, in any order, finds every text."""
    calls: list[str] = []
    tokenizer = CachedTokenizer(lambda text: calls.append(text) or text.split(), size=8)
    for chunk in ([f"a {i}" for i in range(8)], [f"b {i}" for i in range(8)]):
        for reader in (chunk, chunk, chunk[::-1]):
            for text in reader:
                tokenizer(text)
    assert len(calls) == 16

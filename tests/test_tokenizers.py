"""The shared tokenizers: names, the auto rule for CJK text, and Hugging Face tokenizers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewardhub.text import NAMES, cjk_share, get_tokenizer, tokenize


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

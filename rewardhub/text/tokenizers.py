"""Tokenizers shared by every n-gram metric and reward.

``whitespace``, ``13a``, ``intl``, ``zh`` and ``char`` (sacrebleu's, where it has them),
``hf:NAME_OR_PATH`` (any Hugging Face tokenizer, loaded on first use: a local directory, the
local cache, or the hub when a bounded probe reaches it, so offline fails in seconds), and ``auto``, the
default: ``zh`` when CJK characters make up at least 30% of the text's non-space characters,
``13a`` otherwise. So Chinese text is never one token per sentence.

One tokenization per response per tokenizer: every tokenizer :func:`get_tokenizer` returns
remembers the tokens of the last :data:`TOKEN_CACHE_SIZE` texts it saw (a bounded memo, so a
streamed run stays O(chunk)), and every reward and metric of a run asks the same tokenizer
object, so ``entropy``, ``repetition_penalty`` and the n-gram metrics tokenize a response
once between them. ``13a`` is :mod:`rewardhub.text.fast13a`, exact to sacrebleu.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from rewardhub.text.fast13a import lowercase_safe, tokenize_13a

Tokenizer = Callable[[str], list[str]]

NAMES = ("auto", "whitespace", "13a", "intl", "zh", "char")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_SPACE = re.compile(r"\s+")
CJK_SHARE = 0.3


def cjk_share(text: str) -> float:
    """The share of CJK characters among the non-space characters of ``text``."""
    if _CJK.search(text) is None:  # the common case, one scan and no allocation
        return 0.0
    letters = len(_SPACE.sub("", text))
    return len(_CJK.findall(text)) / letters if letters else 0.0


#: How many texts each tokenizer remembers the tokens of, at least (a chunk's responses, with
#: their lowercased forms, for every reward and metric of the run). Chunks of texts that are
#: tokenized by several metrics in turn are at most this long.
TOKEN_CACHE_SIZE = 2048


class RecentMemo:
    """Values of the texts looked up lately: at least the last ``size`` stored, at most twice
    that. Two generations instead of LRU bookkeeping: when the new one is full it becomes the
    old one. A hit in the old generation is not moved, so reading a chunk of up to ``size``
    texts a second time, in any order, finds every one of them."""

    def __init__(self, size: int = TOKEN_CACHE_SIZE):
        self.size = size
        self._new: dict[str, Any] = {}
        self._old: dict[str, Any] = {}

    def get(self, text: str) -> Any:
        value = self._new.get(text)
        return self._old.get(text) if value is None else value

    def put(self, text: str, value: Any) -> None:
        if len(self._new) >= self.size:
            self._old, self._new = self._new, {}
        self._new[text] = value


_choices = RecentMemo()


def auto_choice(text: str) -> str:
    """The tokenizer ``auto`` uses for ``text``: ``zh`` or ``13a`` (recorded in provenance).
    Remembered like the tokens: a run asks once to count the choice and once to tokenize,
    and the text is scanned once."""
    choice = _choices.get(text)
    if choice is None:
        choice = "zh" if cjk_share(text) >= CJK_SHARE else "13a"
        _choices.put(text, choice)
    return choice


class CachedTokenizer:
    """A tokenizer that remembers the tokens of the last texts it saw (a :class:`RecentMemo`,
    see the module doc). Callers get their own list each time, so a caller changing it cannot
    corrupt the memo."""

    def __init__(
        self, split: Tokenizer, size: int = TOKEN_CACHE_SIZE, lowercase_safe: Callable[[str], bool] | None = None
    ):
        self.split = split
        self._memo = RecentMemo(size)
        self._lowercase_safe = lowercase_safe

    def _tokens(self, text: str) -> tuple[str, ...]:
        tokens = self._memo.get(text)
        if tokens is None:
            tokens = tuple(self.split(text))
            self._memo.put(text, tokens)
        return tokens

    def __call__(self, text: str) -> list[str]:
        return list(self._tokens(text))

    def lowercased(self, text: str) -> list[str]:
        """The tokens of ``text.lower()``: the tokens of ``text``, each lowercased, where that is
        provably the same (13a on most text: it saves a second tokenization), else tokenized.
        The tokens are lowercased as one space-joined string: no character lowercases to
        whitespace, and no case context (the final sigma) reaches across a space, so that is
        ``[t.lower() for t in tokens]``, in a few C calls (checked over every code point in
        ``tests/test_tokenizers.py``)."""
        if self._lowercase_safe is not None and self._lowercase_safe(text):
            return " ".join(self._tokens(text)).lower().split()
        return self(text.lower())


def _sacrebleu(name: str) -> Tokenizer:
    if name == "13a":
        return tokenize_13a
    if name == "intl":
        from sacrebleu.tokenizers.tokenizer_intl import TokenizerV14International as cls
    elif name == "zh":
        from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh as cls
    else:
        from sacrebleu.tokenizers.tokenizer_char import TokenizerChar as cls
    tok = cls()
    uncached = getattr(type(tok).__call__, "__wrapped__", None)  # skip sacrebleu's 65k-line lru_cache
    if uncached is not None:
        return lambda text: uncached(tok, text).split()
    return lambda text: tok(text).split()


def _on_first_use(build: Callable[[], Tokenizer]) -> Tokenizer:
    """A tokenizer built when first called: English-only runs never import sacrebleu's zh."""
    built: list[Tokenizer] = []

    def split(text: str) -> list[str]:
        if not built:
            built.append(build())
        return built[0](text)

    return split


@cache
def get_tokenizer(name: str = "auto") -> Tokenizer:
    """The tokenizer called ``name`` (see the module docstring), as ``text -> list[str]``."""
    if name == "whitespace":
        return str.split
    if name == "13a":
        return CachedTokenizer(tokenize_13a, lowercase_safe=lowercase_safe)
    if name in ("intl", "zh", "char"):
        return CachedTokenizer(_sacrebleu(name))
    if name.startswith("hf:") and len(name) > 3:
        from rewardhub.text.hub import load_tokenizer

        return CachedTokenizer(load_tokenizer(name[3:]))
    if name == "auto":
        zh, latin = _on_first_use(lambda: _sacrebleu("zh")), _sacrebleu("13a")
        return CachedTokenizer(
            lambda text: zh(text) if auto_choice(text) == "zh" else latin(text),
            lowercase_safe=lambda text: _CJK.search(text) is None and lowercase_safe(text),
        )
    raise ValueError(f"unknown tokenizer {name!r}: use one of {', '.join(NAMES)} or hf:NAME_OR_PATH")


def lowercased_tokens(tokenizer: Tokenizer, text: str) -> list[str]:
    """The tokens of ``text.lower()`` by ``tokenizer``, derived from the remembered tokens of
    ``text`` where that is exact (see :meth:`CachedTokenizer.lowercased`)."""
    if isinstance(tokenizer, CachedTokenizer):
        return tokenizer.lowercased(text)
    return tokenizer(text.lower())


def tokenize(text: str, name: str = "auto") -> list[str]:
    """``text`` split into tokens by the tokenizer ``name``."""
    return get_tokenizer(name)(text)

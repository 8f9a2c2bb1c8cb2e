"""Tokenizers shared by every n-gram metric and reward.

``whitespace``, ``13a``, ``intl``, ``zh`` and ``char`` (sacrebleu's, where it has them),
``hf:NAME_OR_PATH`` (any Hugging Face tokenizer, loaded on first use: a local directory, the
local cache, or the hub when a bounded probe reaches it, so offline fails in seconds), and ``auto``, the
default: ``zh`` when CJK characters make up at least 30% of the text's non-space characters,
``13a`` otherwise. So Chinese text is never one token per sentence.

One tokenization per response per tokenizer: every tokenizer :func:`get_tokenizer` returns
remembers the tokens of the last :data:`TOKEN_CACHE_SIZE` texts it saw, within
:data:`TOKEN_MEMO_BYTES` (a :class:`~rewardhub.memo.RecentMemo`: bounded by bytes, so a
streamed run stays O(chunk) and a server fed 0.7 MB responses does not grow), and every reward
and metric of a run asks the same tokenizer object, so ``entropy``, ``repetition_penalty`` and
the n-gram metrics tokenize a response once between them. An entry's bytes are bounded from
above in O(1) (:func:`token_bytes`), checked against the measured sizes in
``tests/test_memo_bytes.py``. ``13a`` is :mod:`rewardhub.text.fast13a`, exact to sacrebleu;
sacrebleu's own per-line ``lru_cache`` (65,536 lines of any length) is bypassed.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import cache
from typing import Any

from rewardhub.memo import ENTRY_OVERHEAD, MiB, RecentMemo, budget
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
#: their lowercased forms, for every reward and metric of the run), when they fit in half of
#: :data:`TOKEN_MEMO_BYTES`. Chunks of texts that are tokenized by several metrics in turn are at
#: most this long.
TOKEN_CACHE_SIZE = 2048
#: The bytes each tokenizer's memo may hold (``REWARDHUB_TOKEN_MEMO_MB``). Alpaca-sized answers
#: (about 20 KB with their tokens) fit 2 x :data:`TOKEN_CACHE_SIZE` in it; a 0.7 MB response
#: takes about 9 MB, so 6 of those fit in a generation.
TOKEN_MEMO_BYTES = budget("token_memo", 128 * MiB)
#: The bytes the ``auto`` choice memo may hold (``REWARDHUB_CHOICE_MEMO_MB``): its keys, the texts.
CHOICE_MEMO_BYTES = budget("choice_memo", 16 * MiB)

#: The most bytes a str object takes beyond its characters (a 4-byte-per-character one).
_STR_HEADER = sys.getsizeof("\U0001f600") - 8
_ASCII_TOKEN = sys.getsizeof("x")  # an ASCII str's header, terminator and one character: 50


def text_kind(text: str) -> int:
    """Bytes per character of ``text`` in CPython's compact form (1, 2 or 4), from its widest
    character (one C-speed pass; ``sys.getsizeof`` would also count a UTF-8 copy CPython may
    have cached on the string, as it does once a C library such as re2 has read it)."""
    if text.isascii():
        return 1
    widest = ord(max(text))
    return 1 if widest < 0x100 else 2 if widest < 0x10000 else 4


def token_bytes(text: str, tokens: tuple[str, ...]) -> int:
    """The bytes a memo entry ``text -> tokens`` keeps alive, from above, in O(1), for tokens
    that are pieces of ``text`` (every built-in tokenizer: their characters add up to at most
    ``len(text)``, none wider than the widest of ``text``): the key, the tuple, a str header
    per token, the characters, and the dict slot."""
    if text.isascii():  # ASCII pieces: a 49-byte str with its terminator, and one byte a character
        return sys.getsizeof(text) + sys.getsizeof(tokens) + len(tokens) * _ASCII_TOKEN + len(text) + ENTRY_OVERHEAD
    kind = text_kind(text)
    per_token = _STR_HEADER + kind  # (a str's terminator takes one character)
    return sys.getsizeof(text) + sys.getsizeof(tokens) + len(tokens) * per_token + len(text) * kind + ENTRY_OVERHEAD


def measured_token_bytes(text: str, tokens: tuple[str, ...]) -> int:
    """:func:`token_bytes` for tokens that need not be pieces of the text (``hf:`` tokenizers
    add markers such as ``Ġ``): each token's size measured, O(tokens)."""
    return sys.getsizeof(text) + sys.getsizeof(tokens) + sum(map(sys.getsizeof, tokens)) + ENTRY_OVERHEAD


_choices: RecentMemo[str, str] = RecentMemo(TOKEN_CACHE_SIZE, max_bytes=CHOICE_MEMO_BYTES)


def auto_choice(text: str) -> str:
    """The tokenizer ``auto`` uses for ``text``: ``zh`` or ``13a`` (recorded in provenance).
    Remembered like the tokens: a run asks once to count the choice and once to tokenize,
    and the text is scanned once."""
    choice = _choices.get(text)
    if choice is None:
        choice = "zh" if cjk_share(text) >= CJK_SHARE else "13a"
        _choices.put(text, choice, sys.getsizeof(text) + ENTRY_OVERHEAD)  # the values are shared constants
    return choice


class CachedTokenizer:
    """A tokenizer that remembers the tokens of the last texts it saw (a
    :class:`~rewardhub.memo.RecentMemo` of at least ``size`` texts within ``max_bytes``, see the
    module doc). ``pieces``: the tokens are pieces of the text (every built-in tokenizer), so an
    entry's bytes are bounded in O(1); else they are measured. Callers get their own list each
    time, so a caller changing it cannot corrupt the memo."""

    def __init__(
        self,
        split: Tokenizer,
        size: int = TOKEN_CACHE_SIZE,
        lowercase_safe: Callable[[str], bool] | None = None,
        *,
        max_bytes: int | None = None,
        pieces: bool = True,
    ):
        self.split = split
        self._memo: RecentMemo[str, tuple[str, ...]] = RecentMemo(
            size, max_bytes=TOKEN_MEMO_BYTES if max_bytes is None else max_bytes
        )
        self._lowercase_safe = lowercase_safe
        self._sizeof = token_bytes if pieces else measured_token_bytes

    def _tokens(self, text: str) -> tuple[str, ...]:
        tokens = self._memo.get(text)
        if tokens is None:
            tokens = tuple(self.split(text))
            self._memo.put(text, tokens, self._sizeof(text, tokens))
        return tokens

    def tokens_unremembered(self, text: str) -> list[str]:
        """The tokens of ``text``, from the memo when they are there, else split without being
        remembered: for a caller that keeps what it derives from them itself (the n-gram
        metrics keep 8-byte token hashes, :mod:`rewardhub.metrics.hashed`), so its texts do not
        push the run's other texts out of the memo nor hold their tokens twice."""
        tokens = self._memo.get(text)
        return list(tokens) if tokens is not None else self.split(text)

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


def _uncached(tokenizer: Any) -> Callable[[str], str]:
    """``tokenizer`` (a sacrebleu tokenizer object) called past its class's ``lru_cache`` of
    65,536 lines of any length, and the same for the tokenizer it hands each line to."""
    inner = getattr(tokenizer, "_post_tokenizer", None)
    if inner is not None:
        tokenizer._post_tokenizer = _uncached(inner)  # our own object: its attribute, not the class
    call = getattr(type(tokenizer).__call__, "__wrapped__", None)
    if call is None:
        return tokenizer
    return lambda line: call(tokenizer, line)


def _sacrebleu(name: str) -> Tokenizer:
    if name == "13a":
        return tokenize_13a
    if name == "intl":
        from sacrebleu.tokenizers.tokenizer_intl import TokenizerV14International as cls
    elif name == "zh":
        from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh as cls
    else:
        from sacrebleu.tokenizers.tokenizer_char import TokenizerChar as cls
    tok = _uncached(cls())
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

        return CachedTokenizer(load_tokenizer(name[3:]), pieces=False)
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

"""The ``diversity`` package's whitespace split, and the text it cannot tokenize.

``self_repetition_score`` and ``ngram_diversity_score`` agree with the ``diversity`` package
(Shaib et al. 2024), which splits text on whitespace. Chinese and Japanese have no spaces
between words: a whole sentence becomes one "word", a response has no 4-grams, and the package
reports a perfect score (``self_repetition_score`` 0.0 on all 683 AlignBench answers). So:

- ``tokenize="auto"`` (the default, and the run-wide default) means the package's own split
  for these measures: what the package computes, on text it can split; ``"whitespace"`` is
  the same kind of split. On these, a set holding CJK text (a response whose non-space
  characters are at least 30% CJK, the rule ``auto`` uses everywhere to choose ``zh``) has no
  value: the metric fails with :class:`UntokenizableText`, whose message says how many
  responses and what to pass instead. Never a perfect score;
- any other tokenizer (``zh``, ``13a``, ``char``, ``hf:...``) tokenizes each response with it,
  Chinese included; the value then departs from the package by design.

Tested in ``tests/test_measures_tokenize.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

from rewardhub.metrics.base import resolve_tokenizer
from rewardhub.text import cjk_share
from rewardhub.text.tokenizers import CJK_SHARE

#: The names under which a measure keeps a whitespace split (the package's, for ``auto``).
WHITESPACE_SPLITS = ("auto", "whitespace")


class UntokenizableText(ValueError):
    """A whitespace-split measure was given text that split cannot tokenize (CJK)."""


def checked_tokenize(tokenize: str | None) -> str:
    """The ``tokenize`` arg, checked now (``None`` reads as ``auto``, the package's split)."""
    if tokenize is None:
        return "auto"
    if not isinstance(tokenize, str):
        raise ValueError(f"tokenize must be a tokenizer name such as 'auto', 'zh' or 'hf:NAME', got {tokenize!r}")
    resolve_tokenizer(tokenize)  # fail now on a bad name
    return tokenize


def untokenizable(texts: Sequence[str]) -> int:
    """How many of ``texts`` a whitespace split cannot tokenize (CJK text)."""
    return sum(1 for text in texts if cjk_share(text) >= CJK_SHARE)


def refuse(metric: str, untokenizable_count: int, responses: int) -> None:
    """Raise :class:`UntokenizableText` when any response was CJK text (see the module doc)."""
    if untokenizable_count:
        raise UntokenizableText(
            f"{metric}: {untokenizable_count} of {responses} responses are CJK text, which the diversity "
            "package's whitespace split cannot tokenize (a sentence would be one word and the score "
            "perfect); pass tokenize='zh' (or another rewardhub tokenizer) to measure them"
        )

"""Degeneracy flags as rewards: 1.0 when a response shows the failure, else 0.0, so their mean
in the summary is the rate of that failure. Lower is better (``higher_is_better = False``).

``repetition_loop``: the response *ends* in a loop, the signature of a generation stuck
repeating itself until it ran out of tokens. Precisely, over the response's tokens (``tokenize``,
default ``auto``): there is a period ``p`` with ``min_span <= p <= max_span`` such that the
longest suffix in which every token equals the token ``p`` places before it is at least
``min_tokens`` tokens long and holds at least ``min_repeats`` full copies of its first ``p``
tokens. A loop cut off mid-copy still counts (the suffix may end in a partial copy). Defaults:
``min_span=1``, ``max_span=200``, ``min_repeats=3``, ``min_tokens=20``, so "ha ha ha" is not a
loop but the same 8-token sentence three times over at the end is. ``info`` of a flagged
response: ``period``, ``repeats`` (full copies), ``loop_tokens`` and ``span`` (its first copy).
The smallest such period is reported.

``truncated``: the response hit a length limit before finishing. Where the row says so (a
field of ``Sample.meta``), that wins: ``truncated`` (a boolean), else ``finish_reason``, else
``stop_reason`` (OpenAI, vLLM, TGI, Anthropic, Gemini spellings: ``length``, ``max_tokens``,
``max_length``, ``max_new_tokens``, ``MAX_TOKENS`` mean truncated; any other value means it
stopped on its own; a ``None`` says nothing). Else, with a ``max_length`` arg, by length: at
least ``max_length`` tokens of ``tokenize`` (use the model's ``hf:`` tokenizer for an exact
count). Else ``None`` with the reason: nothing in the row, and no ``max_length`` to judge by.
``info`` says which (``source``: the field, or ``length``).

Tested in ``tests/test_metrics_degeneracy.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rewardhub.lazy import np
from rewardhub.metrics.base import TokenReward, positive_int
from rewardhub.metrics.hashing import token_hashes
from rewardhub.types import Sample, Score

#: finish/stop reasons that mean "cut off by a length limit" (compared lowercased).
LENGTH_REASONS = frozenset({"length", "max_tokens", "max_length", "max_new_tokens", "model_length"})
#: The row fields read by ``truncated``, in order of precedence.
TRUNCATION_FIELDS = ("truncated", "finish_reason", "stop_reason")
NO_LENGTH_INFO = "no finish_reason, stop_reason or truncated field in the row, and no max_length"


def trailing_loop(
    ids: np.ndarray, min_span: int, max_span: int, min_repeats: int, min_tokens: int
) -> tuple[int, int] | None:
    """``(period, loop_tokens)`` of the loop ``ids`` ends in (see the module doc), or ``None``."""
    n = len(ids)
    top = min(max_span, n // min_repeats)
    if top < min_span:
        return None
    periods = np.arange(min_span, top + 1)
    # A loop of period p needs the last token to equal the one p before it: few periods pass.
    for p in periods[ids[n - 1] == ids[n - 1 - periods]]:
        p = int(p)
        same = ids[p:] == ids[:-p]
        mismatches = np.flatnonzero(~same)
        run = len(same) - (int(mismatches[-1]) + 1 if len(mismatches) else 0)  # trailing matches
        length = run + p
        if length // p >= min_repeats and length >= min_tokens:
            return p, length
    return None


class RepetitionLoop(TokenReward):
    """1.0 when the response ends in a repeated span (see the module doc), else 0.0."""

    name = "repetition_loop"
    higher_is_better = False  # a failure rate
    version = "1"
    description = "1 when the response ends in a span repeated min_repeats+ times (a stuck generation)"
    inputs = ("response",)

    def __init__(
        self, min_span: int = 1, max_span: int = 200, min_repeats: int = 3, min_tokens: int = 20, tokenize: str = "auto"
    ) -> None:
        super().__init__(tokenize)
        self.min_span, self.max_span = positive_int("min_span", min_span), positive_int("max_span", max_span)
        self.min_repeats = positive_int("min_repeats", min_repeats)
        self.min_tokens = positive_int("min_tokens", min_tokens)
        if self.max_span < self.min_span:
            raise ValueError(f"max_span ({max_span}) must be at least min_span ({min_span})")
        if self.min_repeats < 2:
            raise ValueError(f"min_repeats must be at least 2 (one copy is not a repetition), got {min_repeats}")

    def score(self, samples: Sequence[Sample]) -> list[float | Score | None]:
        token_lists = [self.tokens(s.response) for s in samples]
        flat = token_hashes([t for tokens in token_lists for t in tokens])
        ends = np.cumsum([len(tokens) for tokens in token_lists])
        values: list[float | Score | None] = []
        for tokens, end in zip(token_lists, ends):
            loop = trailing_loop(
                flat[end - len(tokens) : end], self.min_span, self.max_span, self.min_repeats, self.min_tokens
            )
            if loop is None:
                values.append(0.0)
                continue
            period, length = loop
            span = " ".join(tokens[len(tokens) - length : len(tokens) - length + period])
            values.append(
                Score(1.0, {"period": period, "repeats": length // period, "loop_tokens": length, "span": span})
            )
        return values


def row_says_truncated(meta: dict[str, Any]) -> tuple[bool, str] | None:
    """``(truncated, field)`` from the first of :data:`TRUNCATION_FIELDS` the row sets, or ``None``."""
    for field in TRUNCATION_FIELDS:
        value = meta.get(field)
        if value is None:
            continue
        if field == "truncated":
            if isinstance(value, bool):
                return value, field
            continue
        return (isinstance(value, str) and value.lower() in LENGTH_REASONS), field
    return None


class Truncated(TokenReward):
    """1.0 when the response was cut off by a length limit, 0.0 when it finished, ``None`` when
    neither the row nor a ``max_length`` arg can tell (see the module doc)."""

    name = "truncated"
    higher_is_better = False  # a failure rate
    version = "1"
    description = "1 when the response hit a length limit (finish_reason/stop_reason/truncated, or max_length)"
    inputs = ("response", "meta")

    def __init__(self, max_length: int | None = None, tokenize: str = "auto") -> None:
        super().__init__(tokenize)
        self.max_length = None if max_length is None else positive_int("max_length", max_length)

    def score(self, samples: Sequence[Sample]) -> list[float | Score | None]:
        return [self.judge(s) for s in samples]

    def missing_input(self, samples: Sequence[Sample]) -> str | None:
        """Nothing with ``max_length``; else a row field that says how generation stopped."""
        if self.max_length is not None or any(row_says_truncated(s.meta or {}) for s in samples):
            return None
        fields = ", ".join(f"'{f}'" for f in TRUNCATION_FIELDS)
        return f"needs one of the fields {fields} (or the max_length arg)"

    def judge(self, sample: Sample) -> Score:
        said = row_says_truncated(sample.meta or {})
        if said is not None:
            truncated, field = said
            return Score(float(truncated), {"source": field, field: sample.meta[field]})
        if self.max_length is None:
            return Score(None, {"reason": NO_LENGTH_INFO})
        tokens = len(self.tokens(sample.response))
        return Score(float(tokens >= self.max_length), {"source": "length", "tokens": tokens})

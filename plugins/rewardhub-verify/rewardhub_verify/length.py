"""Length rewards: ``length`` (tokens in the response) and ``soft_overlong`` (DAPO).

``soft_overlong`` is DAPO's soft overlong punishment (Yu et al. 2025, eq. 13; TRL's
``get_soft_overlong_punishment``, verl's ``overlong_buffer``): with ``L = max_length`` and
``C = cache_length``, a response of ``n`` tokens gets

    0                      for n <= L - C
    ((L - C) - n) / C      for L - C < n <= L      (linear, down to -1 at L)
    -1                     for n > L

(times ``penalty_factor``, verl's knob, default 1). ``cache_length=0`` is a hard cut-off, as in
TRL (``soft_punish_cache=0``): 0 up to ``L`` tokens, -1 beyond. The defaults are the DAPO paper's: 16,384
expected tokens plus a 4,096-token cache, so ``L = 20480`` and ``C = 4096``. Tokens come from the ``tokenize`` arg,
any of the host's tokenizers (:mod:`rewardhub.text.tokenizers`), ``hf:NAME`` included: use the
policy's own tokenizer to count what the trainer counts.

Tested in ``tests/test_length.py`` (against TRL's implementation too) and
``tests/test_formats_prefill.py`` (``cache_length=0``, against TRL's).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence

import rewardhub
from rewardhub.text import get_tokenizer
from rewardhub_verify._version import __version__

_HF_LOCK = threading.Lock()

#: The DAPO paper's setting: 16,384 expected tokens + a 4,096-token soft punishment cache.
DAPO_MAX_LENGTH, DAPO_CACHE_LENGTH = 20480, 4096


def soft_overlong_penalty(n: int, max_length: int, cache_length: int) -> float:
    """DAPO's eq. 13 for a response of ``n`` tokens (see the module docstring)."""
    expected = max_length - cache_length
    if n <= expected:
        return 0.0
    if n <= max_length:  # never reached with cache_length 0: then expected == max_length
        return (expected - n) / cache_length
    return -1.0


class Length(rewardhub.Reward):
    """The response's length in tokens of ``tokenize`` (no direction: a reading, not a goal)."""

    name = "length"
    version = __version__
    description = "Response length in tokens"
    inputs = ("response",)
    batch_size = 1024
    pure_python = True
    higher_is_better = None

    def __init__(self, tokenize: str = "auto") -> None:
        self.tokenize = tokenize
        self._tokenizer = get_tokenizer(tokenize)
        # One Hugging Face tokenizer is shared by every reward naming it, and a fast tokenizer
        # called from two threads at once fails ("Already borrowed"): calls take turns.
        self._lock = _HF_LOCK if tokenize.startswith("hf:") else contextlib.nullcontext()

    def lengths(self, samples: Sequence[rewardhub.Sample]) -> list[int]:
        with self._lock:
            return [len(self._tokenizer(s.response)) for s in samples]

    def score(self, samples: Sequence[rewardhub.Sample]) -> list[float]:
        return [float(n) for n in self.lengths(samples)]


class SoftOverlong(Length):
    """DAPO's soft overlong punishment: 0 up to ``max_length - cache_length`` tokens, then
    linearly down to -1 at ``max_length``, -1 beyond (times ``penalty_factor``);
    ``cache_length=0``: 0 up to ``max_length``, -1 beyond (TRL's hard cut-off)."""

    name = "soft_overlong"
    description = "DAPO soft overlong punishment: 0, then linearly to -1 over the last cache_length tokens"
    higher_is_better = True
    kind = "shaping"  # its budget is the trainer's max length: a training-time setting

    def __init__(
        self,
        max_length: int = DAPO_MAX_LENGTH,
        cache_length: int = DAPO_CACHE_LENGTH,
        penalty_factor: float = 1.0,
        tokenize: str = "auto",
    ) -> None:
        if not 0 <= cache_length <= max_length:
            raise ValueError(f"need 0 <= cache_length <= max_length, got {cache_length} and {max_length}")
        if penalty_factor < 0:
            raise ValueError(f"penalty_factor must be >= 0, got {penalty_factor}")
        super().__init__(tokenize)
        self.max_length, self.cache_length = int(max_length), int(cache_length)
        self.penalty_factor = float(penalty_factor)

    def score(self, samples: Sequence[rewardhub.Sample]) -> list[rewardhub.Score]:
        return [
            rewardhub.Score(
                self.penalty_factor * soft_overlong_penalty(n, self.max_length, self.cache_length) + 0.0,
                {"tokens": n},
            )
            for n in self.lengths(samples)
        ]

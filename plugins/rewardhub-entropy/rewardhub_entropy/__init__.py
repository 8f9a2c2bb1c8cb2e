"""rewardhub plugin: ``entropy``, the normalized token entropy of a response.

``H / log(T)``, where ``H`` is the Shannon entropy (natural log) of the response's token
frequencies and ``T`` its number of tokens: 1.0 when every token is different, near 0 for a
reply that repeats one word, and 0 for fewer than 2 tokens. Tokens come from rewardhub's
shared tokenizers (``auto`` by default), so Chinese text is split per character, not kept as
one token.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import rewardhub
from rewardhub.text import get_tokenizer
from rewardhub_entropy._version import __version__

#: ``c * log(c)`` for the token counts most responses have (looked up, not recomputed).
_C_LOG_C = [0.0] + [c * math.log(c) for c in range(1, 4096)]


def normalized_entropy(tokens: Sequence[str]) -> float:
    """Shannon entropy of the token frequencies divided by ``log(len(tokens))``.

    Computed as ``1 - sum(c * log c) / (T * log T)`` over the token counts ``c`` (the same
    quantity as ``-sum(p * log p) / log T`` with ``p = c / T``; tokens seen once add 0), with
    ``c * log c`` looked up and summed exactly (``math.fsum``): it agrees with the textbook
    form to within 1e-15 (property-tested) and needs no Python loop per distinct token.
    """
    total = len(tokens)
    if total < 2:
        return 0.0
    counts = Counter(tokens).values()
    try:
        weighted = math.fsum(map(_C_LOG_C.__getitem__, counts))
    except IndexError:  # a token repeated 4,096 times or more
        weighted = math.fsum(c * math.log(c) for c in counts)
    value = 1.0 - weighted / (total * math.log(total))
    return min(1.0, max(0.0, value))  # clamp float error: no -0.0, no 1.0000000000000004


class Entropy(rewardhub.Reward):
    """Normalized token entropy of the response (1 = no token repeats, 0 = one token over and over)."""

    name = "entropy"
    version = __version__
    batch_size = 1024
    pure_python = True
    inputs = ("response",)

    def __init__(self, tokenize: str = "auto"):
        self.tokenize = tokenize
        self._tokenizer = get_tokenizer(tokenize)

    def score(self, samples: Sequence[rewardhub.Sample]) -> list[float]:
        return [normalized_entropy(self._tokenizer(s.response)) for s in samples]


@rewardhub.hookimpl
def register_rewards(register):
    register(Entropy)

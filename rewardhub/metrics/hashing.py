"""Process-stable 64-bit hashes of tokens and n-grams, for metric states that merge.

Ids numbered per corpus are only meaningful inside one corpus; a state folded chunk by chunk, or
built on another machine, needs ids that mean the same thing everywhere. Tokens are hashed with
BLAKE2b (the same value in every process, unlike Python's salted ``hash``), and an n-gram of
order ``k`` is a polynomial in its tokens' hashes modulo 2**64, so order ``k`` costs one
vectorised pass over order ``k - 1``. Two different
n-grams share a hash with probability about 2**-64: among 10**8 distinct n-grams, the chance of
any collision at all is below 3e-4.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from hashlib import blake2b

from rewardhub.lazy import np

#: The multiplier of the polynomial n-gram hash (odd, so multiplication is a bijection mod 2**64).
_BASE = 0x9E3779B97F4A7C15  # the multiplier of the n-gram hash (a numpy uint64 where used)


def token_hashes(tokens: Sequence[str]) -> np.ndarray:
    """The uint64 hash of each token (the first 8 bytes of its UTF-8 BLAKE2b digest, little
    endian); equal tokens get equal hashes in every process. Each distinct token is hashed
    once: one pass numbers every token by its first occurrence (a dict), then the distinct
    ones are hashed and spread by those numbers. No pandas: its SipHash over an object array is
    no quicker and importing it costs start-up (``benchmarks/README_diversity.md``)."""
    count = len(tokens)
    if not count:
        return np.zeros(0, dtype=np.uint64)
    first: dict[str, int] = {}
    numbers = np.fromiter(map(first.setdefault, tokens, itertools.count()), dtype=np.int64, count=count)
    table = np.empty(count, dtype=np.uint64)
    table[np.fromiter(first.values(), dtype=np.int64, count=len(first))] = [
        int.from_bytes(blake2b(token.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
        for token in first
    ]
    return table[numbers]


def ngram_hashes(token_lists: Sequence[Sequence[str]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(hashes, responses)``: the uint64 hash of every n-gram of order ``k`` inside each token
    list (never across two lists), in order, and the index of the list it comes from."""
    lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists))
    flat = token_hashes([t for tokens in token_lists for t in tokens])
    return ngram_hashes_flat(flat, lengths, k)


def ngram_hashes_flat(flat: np.ndarray, lengths: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`ngram_hashes` for token hashes already flattened, with each list's length."""
    count = len(flat) - k + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    hashes, base = flat[:count].copy(), np.uint64(_BASE)
    with np.errstate(over="ignore"):
        for j in range(1, k):
            hashes = hashes * base + flat[j : j + count]
    ends = np.cumsum(lengths)
    response = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)[:count]
    inside = np.arange(count, dtype=np.int64) + k <= ends[response] if len(response) else np.zeros(0, bool)
    return hashes[inside], response[inside]

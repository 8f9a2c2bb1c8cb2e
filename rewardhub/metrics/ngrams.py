"""N-gram counting shared by every diversity metric and reward.

A :class:`NgramCorpus` turns a list of token lists into integer arrays once, so each metric
counts n-grams with a few vectorised numpy/pandas passes instead of hashing Python tuples:

- every distinct token gets an integer id;
- every distinct n-gram of order ``k`` gets an integer id, built from the id of its
  ``(k-1)``-gram prefix and its last token, so ids of order ``k`` cost one hash pass over
  the ids of order ``k - 1``;
- n-grams never cross a response boundary.

:func:`ngram_list` is the plain-Python definition the tests compare against.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property

from rewardhub.lazy import np

ORDERS = (1, 2, 3, 4)


def ngram_list(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """The n-grams of ``tokens`` in order; empty when there are fewer than ``n`` tokens."""
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def as_orders(n: int | Iterable[int], allowed: range | None = None) -> tuple[int, ...]:
    """``n`` (one order or several) as a sorted tuple of distinct orders, checked."""
    orders = (n,) if isinstance(n, int) else tuple(n)
    if not orders or any(not isinstance(k, int) or isinstance(k, bool) or k < 1 for k in orders):
        raise ValueError(f"n-gram orders must be positive integers, got {n!r}")
    if allowed is not None and any(k not in allowed for k in orders):
        raise ValueError(f"n-gram orders must lie in {allowed.start}..{allowed.stop - 1}, got {n!r}")
    return tuple(sorted(set(orders)))


def _dense(keys: np.ndarray) -> np.ndarray:
    """Dense integer ids (0..distinct-1) for ``keys``, in order of first appearance."""
    import pandas as pd  # on use: a run without metrics never imports pandas

    codes, _ = pd.factorize(keys, sort=False)
    return codes.astype(np.int64, copy=False)


class NgramCorpus:
    """Integer-coded n-grams of a list of token lists (one list per response)."""

    def __init__(self, token_lists: Sequence[Sequence[str]]):
        self.size = len(token_lists)
        self.lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=self.size)
        self.ends = np.cumsum(self.lengths)
        total = int(self.ends[-1]) if self.size else 0
        flat = np.fromiter((t for tokens in token_lists for t in tokens), dtype=object, count=total)
        self.tokens = _dense(flat) if len(flat) else np.zeros(0, dtype=np.int64)
        self._ids: dict[int, np.ndarray] = {1: self.tokens}

    @cached_property
    def _response_of_position(self) -> np.ndarray:
        return np.repeat(np.arange(self.size, dtype=np.int64), self.lengths)

    @cached_property
    def _end_of_position(self) -> np.ndarray:
        return np.repeat(self.ends, self.lengths)

    def _ids_of_order(self, k: int) -> np.ndarray:
        """Ids of the n-grams of order ``k`` starting at every position that has ``k`` tokens
        left in the whole corpus (those crossing a boundary are filtered out by the caller)."""
        if k not in self._ids:
            prev = self._ids_of_order(k - 1)[:-1] if len(self.tokens) >= k else np.zeros(0, dtype=np.int64)
            last = self.tokens[k - 1 :]
            width = int(self.tokens.max()) + 1 if len(self.tokens) else 1
            self._ids[k] = _dense(prev * width + last)  # no overflow below ~3e9 tokens
        return self._ids[k]

    def grams(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, responses)``: the id of every n-gram occurrence of order ``k`` and the index of
        the response it occurs in, in corpus order."""
        ids = self._ids_of_order(k)
        starts = np.arange(len(ids), dtype=np.int64)
        inside = starts + k <= self._end_of_position[: len(ids)]
        return ids[inside], self._response_of_position[: len(ids)][inside]

    def counts_per_response(self, k: int, repeated_only: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(ids, responses, counts)``: how often each n-gram of order ``k`` occurs in each
        response, one row per (n-gram, response) pair that occurs at least once. With
        ``repeated_only``, only n-grams that occur at least twice in the whole corpus (the only
        ones two responses can share; most long n-grams occur once)."""
        import pandas as pd  # on use: a run without metrics never imports pandas

        ids, responses = self.grams(k)
        if repeated_only and len(ids):
            repeated = np.bincount(ids)[ids] >= 2
            ids, responses = ids[repeated], responses[repeated]
        width = max(self.size, 1)
        codes, pairs = pd.factorize(ids * width + responses, sort=False)
        counts = np.bincount(codes, minlength=len(pairs)).astype(np.int64)
        return pairs // width, pairs % width, counts

    def totals(self, k: int) -> np.ndarray:
        """The number of n-grams of order ``k`` in each response."""
        return np.maximum(self.lengths - (k - 1), 0)

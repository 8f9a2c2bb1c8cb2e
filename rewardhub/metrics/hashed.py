"""Hashed n-grams of one chunk of responses, and the compact, mergeable tables states keep.

- :class:`HashedChunk`: a chunk's tokens as process-stable uint64 hashes
  (:mod:`rewardhub.metrics.hashing`), its n-grams of each order, and each response's n-gram
  counts. Built once per (tokenizer, chunk) and shared by every n-gram metric's state
  (:func:`hashed_chunk`), as :class:`~rewardhub.metrics.ngrams.NgramCorpus` is for one set.
- :class:`HashCounts`: a multiset of hashes (sorted unique keys, int64 counts) that folds in
  chunks and merges; its order never depends on the chunking, so results computed from it are
  the same bits however the stream was cut.
- :class:`TopCounts`: per n-gram, the largest count any one response has, how many responses
  have it, and the largest count below it: what self-BLEU's clipping needs.
- :class:`LengthTable`: per-response quantities bucketed by n-gram total (distinct-avg,
  seq-rep): integer sums, so merging is exact.

Memory: 8 bytes per distinct n-gram (plus 8 for a count, or 12 for self-BLEU's three int32),
never per row. Appends go to a pending list that is folded in (sorted, summed) when it
outgrows the table, so a stream of C chunks costs O(total log total), not O(C x table).
Tested in ``tests/test_metric_states.py``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from rewardhub.lazy import np
from rewardhub.metrics.hashing import ngram_hashes_flat, token_hashes


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)``, by sorting: numpy 2.4's default path for integers is a hash table,
    much slower on uint64 hashes than the sort ``return_counts`` still uses."""
    return np.unique(values, return_counts=True)[0]


def _empty_u64() -> np.ndarray:
    return np.zeros(0, dtype=np.uint64)


def _empty_i64() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


class HashedChunk:
    """The hashed tokens and n-grams of one chunk of responses (one token list each)."""

    def __init__(self, token_lists: Sequence[Sequence[str]], texts: Sequence[str] = ()):
        self.size = len(token_lists)
        #: hashes of the whole response texts, when given (exact-duplicate counting)
        self.text_hashes = token_hashes(list(texts))
        self.lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=self.size)
        self.flat = token_hashes([t for tokens in token_lists for t in tokens])
        self._grams: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._counts: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def grams(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(hashes, responses)`` of every n-gram of order ``k``, in order."""
        if k not in self._grams:
            self._grams[k] = ngram_hashes_flat(self.flat, self.lengths, k)
        return self._grams[k]

    def counts_per_response(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(hashes, responses, counts)``: one row per (n-gram, response) that occurs, with how
        often the n-gram occurs in that response; sorted by response, then hash."""
        if k not in self._counts:
            hashes, responses = self.grams(k)
            if not len(hashes):
                self._counts[k] = (_empty_u64(), _empty_i64(), _empty_i64())
            else:
                order = np.lexsort((hashes, responses))
                h, r = hashes[order], responses[order]
                starts = np.flatnonzero(np.r_[True, (h[1:] != h[:-1]) | (r[1:] != r[:-1])])
                counts = np.diff(np.r_[starts, len(h)])
                self._counts[k] = (h[starts], r[starts], counts.astype(np.int64))
        return self._counts[k]

    def totals(self, k: int) -> np.ndarray:
        """The number of n-grams of order ``k`` in each response."""
        return np.maximum(self.lengths - (k - 1), 0)


_CHUNKS: OrderedDict[tuple[str, tuple[str, ...]], HashedChunk] = OrderedDict()
_CHUNKS_SIZE = 2
_chunks_lock = threading.Lock()


def hashed_chunk(texts: Sequence[str], tokenize: str, tokenizer) -> HashedChunk:
    """The :class:`HashedChunk` of ``texts``, shared by every state folding in the same chunk
    with the same tokenizer (the last two chunks are remembered)."""
    key = (tokenize, tuple(texts))  # str hashes are cached by Python: cheap for a repeated chunk
    with _chunks_lock:
        if key in _CHUNKS:
            _CHUNKS.move_to_end(key)
            return _CHUNKS[key]
    chunk = HashedChunk([tokenizer(text) for text in texts], texts)
    with _chunks_lock:
        _CHUNKS[key] = chunk
        while len(_CHUNKS) > _CHUNKS_SIZE:
            _CHUNKS.popitem(last=False)
    return chunk


def _runs(keys: np.ndarray) -> np.ndarray:
    """Start index of each run of equal values in sorted ``keys``."""
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else _empty_i64()


class _Pending:
    """A table with appends queued until they outgrow it (see the module doc)."""

    def __init__(self) -> None:
        self._pending: list[tuple[np.ndarray, ...]] = []
        self._pending_rows = 0

    def _queue(self, parts: tuple[np.ndarray, ...]) -> None:
        self._pending.append(parts)
        self._pending_rows += len(parts[0])
        if self._pending_rows > max(len(self), 1 << 16):
            self.compact()

    def _take(self) -> list[tuple[np.ndarray, ...]]:
        pending, self._pending, self._pending_rows = self._pending, [], 0
        return pending

    def __len__(self) -> int:
        raise NotImplementedError

    def compact(self) -> None:
        raise NotImplementedError

    def __getstate__(self) -> dict:
        self.compact()
        return self.__dict__


class HashCounts(_Pending):
    """A multiset of uint64 hashes: sorted unique ``keys`` and their int64 ``counts``."""

    def __init__(self) -> None:
        super().__init__()
        self.keys, self.counts = _empty_u64(), _empty_i64()

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, hashes: np.ndarray, counts: np.ndarray | None = None) -> None:
        if len(hashes):
            self._queue((hashes, np.ones(len(hashes), np.int64) if counts is None else counts))

    def merge(self, other: HashCounts) -> None:
        other.compact()
        if len(other):
            self._queue((other.keys, other.counts))

    def compact(self) -> None:
        pending = self._take()
        if not pending:
            return
        keys = np.concatenate([self.keys, *(p[0] for p in pending)])
        counts = np.concatenate([self.counts, *(p[1] for p in pending)])
        order = np.argsort(keys, kind="stable")
        keys, counts = keys[order], counts[order]
        starts = _runs(keys)
        self.keys, self.counts = keys[starts], np.add.reduceat(counts, starts) if len(keys) else _empty_i64()

    def sorted_counts(self) -> np.ndarray:
        """The counts, in key order (a canonical order: the same for any chunking)."""
        self.compact()
        return self.counts


class TopCounts(_Pending):
    """Per n-gram hash: ``top`` (the largest count in any one response), ``holders`` (how many
    responses have ``top``) and ``below`` (the largest count under ``top``, 0 if none)."""

    def __init__(self) -> None:
        super().__init__()
        self.keys = _empty_u64()
        self.top = self.holders = self.below = np.zeros(0, dtype=np.int32)

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, hashes: np.ndarray, counts: np.ndarray) -> None:
        """Fold in one row per (n-gram, response): the count of that n-gram in that response."""
        if len(hashes):
            ones = np.ones(len(hashes), dtype=np.int32)
            self._queue((hashes, counts.astype(np.int32), ones, np.zeros(len(hashes), dtype=np.int32)))

    def merge(self, other: TopCounts) -> None:
        other.compact()
        if len(other):
            self._queue((other.keys, other.top, other.holders, other.below))

    def compact(self) -> None:
        pending = self._take()
        if not pending:
            return
        keys = np.concatenate([self.keys, *(p[0] for p in pending)])
        top = np.concatenate([self.top, *(p[1] for p in pending)])
        holders = np.concatenate([self.holders, *(p[2] for p in pending)])
        below = np.concatenate([self.below, *(p[3] for p in pending)])
        order = np.lexsort((-top.astype(np.int64), keys))  # by key, largest top first
        keys, top, holders, below = keys[order], top[order], holders[order], below[order]
        starts = _runs(keys)
        group = np.cumsum(np.r_[False, keys[1:] != keys[:-1]]) if len(keys) else _empty_i64()
        best = top[starts]
        at_best = top == best[group]
        new_holders = np.zeros(len(starts), dtype=np.int64)
        np.add.at(new_holders, group[at_best], holders[at_best])
        # the largest count under the best: a best row's own ``below``, or a lower row's ``top``
        candidates = np.where(at_best, below, top)
        self.keys, self.top = keys[starts], best
        self.holders = new_holders.astype(np.int32)
        self.below = np.maximum.reduceat(candidates, starts).astype(np.int32)

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(top, holders, below)`` of each hash (every hash must have been folded in)."""
        self.compact()
        where = np.searchsorted(self.keys, hashes)
        return self.top[where], self.holders[where], self.below[where]


class LengthTable:
    """Per n-gram total ``t``: how many responses have ``t`` n-grams and the sum of their
    distinct n-gram counts. Integers, so any chunking and merge order gives the same table."""

    def __init__(self) -> None:
        self.responses = _empty_i64()
        self.distinct = _empty_i64()

    def add(self, totals: np.ndarray, distinct: np.ndarray) -> None:
        size = max(len(self.responses), int(totals.max()) + 1 if len(totals) else 0)
        self.responses = grow(self.responses, size) + np.bincount(totals, minlength=size)
        self.distinct = grow(self.distinct, size) + np.bincount(totals, weights=distinct, minlength=size).astype(
            np.int64
        )

    def merge(self, other: LengthTable) -> None:
        size = max(len(self.responses), len(other.responses))
        self.responses = grow(self.responses, size) + grow(other.responses, size)
        self.distinct = grow(self.distinct, size) + grow(other.distinct, size)

    @property
    def count(self) -> int:
        return int(self.responses.sum())

    def ratio_sum(self) -> float:
        """The sum over responses of ``distinct / total`` (responses without n-grams add 0)."""
        totals = np.arange(1, len(self.distinct))
        return float(np.sum(self.distinct[1:] / totals)) if len(totals) else 0.0


def grow(values: np.ndarray, size: int) -> np.ndarray:
    return values if len(values) >= size else np.concatenate([values, np.zeros(size - len(values), values.dtype)])

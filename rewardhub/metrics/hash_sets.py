"""Sets (and counts) of 64-bit n-gram hashes that grow chunk by chunk and merge with others.

The state behind every "how many distinct n-grams" metric that must merge across chunks and
workers (``ead``, ``ngram_diversity_score``, ``self_repetition_score``): the hashes come from
:mod:`rewardhub.metrics.hashing`, so the same n-gram has the same hash in every process, and the
union of two sets is the set of the union. New hashes wait in a list and are folded in (a
pandas hash table) once they outnumber what is held, so a stream of chunks costs O(total)
rather than a pass over the whole set per chunk. (numpy 2.4's ``np.unique`` is not used: on
64-bit hashes its hash-table path is much slower than even a sort.) Tested
through those metrics in ``tests/test_metrics_new_states.py`` (any chunking, merged in stream
order: the same values).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rewardhub.lazy import np

if TYPE_CHECKING:
    import pandas as pd

#: Pending hashes are folded in once they exceed both the set's size and this many.
_MIN_FOLD = 1 << 20


class HashSet:
    """A set of uint64 hashes: :meth:`update` with an array, :meth:`merge` with another set."""

    def __init__(self) -> None:
        self._unique = np.zeros(0, dtype=np.uint64)  # distinct, in no particular order
        self._pending: list[np.ndarray] = []
        self._pending_size = 0

    def update(self, hashes: np.ndarray) -> None:
        """Add ``hashes`` (any order, repeats allowed)."""
        if len(hashes):
            self._pending.append(np.asarray(hashes, dtype=np.uint64))
            self._pending_size += len(hashes)
            if self._pending_size > max(len(self._unique), _MIN_FOLD):
                self._fold()

    def merge(self, other: HashSet) -> None:
        """Add every hash of ``other`` (its pending ones too: folded once, later)."""
        for part in (other._unique, *other._pending):
            self.update(part)

    def values(self) -> np.ndarray:
        """The distinct hashes, in no particular order."""
        self._fold()
        return self._unique

    def __len__(self) -> int:
        return len(self.values())

    def _fold(self) -> None:
        import pandas as pd  # on use: a run without metrics never imports pandas

        if self._pending:  # a hash table (pandas), not a sort: O(n)
            self._unique = pd.unique(np.concatenate([self._unique, *self._pending]))
            self._pending, self._pending_size = [], 0

    def __getstate__(self) -> dict:
        self._fold()  # ship one compact array
        return self.__dict__


class HashCounter:
    """Counts per uint64 hash (how many responses hold each n-gram), mergeable like :class:`HashSet`."""

    def __init__(self) -> None:
        self._keys = np.zeros(0, dtype=np.uint64)
        self._counts = np.zeros(0, dtype=np.int64)
        self._index: pd.Index | None = None
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_size = 0

    def update(self, hashes: np.ndarray, counts: np.ndarray | None = None) -> None:
        """Add ``counts`` (default 1 each) to the counts of ``hashes``."""
        if len(hashes):
            weights = np.ones(len(hashes), dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
            self._pending.append((np.asarray(hashes, dtype=np.uint64), weights))
            self._pending_size += len(hashes)
            if self._pending_size > max(len(self._keys), _MIN_FOLD):
                self._fold()

    def merge(self, other: HashCounter) -> None:
        """Add every count of ``other``."""
        self.update(*other.items())

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        """``(hashes, counts)``: the distinct hashes (in no particular order) and their counts."""
        self._fold()
        return self._keys, self._counts

    def lookup(self, hashes: np.ndarray) -> np.ndarray:
        """The count of each of ``hashes`` (0 for a hash never added)."""
        import pandas as pd  # on use: a run without metrics never imports pandas

        keys, counts = self.items()
        if self._index is None:
            self._index = pd.Index(keys)  # its hash table is built once, on the first lookup
        at = self._index.get_indexer(hashes)
        return np.where(at >= 0, counts[at], 0) if len(counts) else np.zeros(len(hashes), dtype=np.int64)

    def _fold(self) -> None:
        import pandas as pd  # on use: a run without metrics never imports pandas

        if self._pending:
            keys = np.concatenate([self._keys, *(k for k, _ in self._pending)])
            counts = np.concatenate([self._counts, *(c for _, c in self._pending)])
            codes, self._keys = pd.factorize(keys)
            self._counts = np.bincount(codes, weights=counts, minlength=len(self._keys)).astype(np.int64)
            self._pending, self._pending_size, self._index = [], 0, None

    def __getstate__(self) -> dict:
        self._fold()
        return {**self.__dict__, "_index": None}

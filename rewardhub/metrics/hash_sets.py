"""Sorted tables of 64-bit n-gram hashes: the compact, mergeable part of every n-gram state.

A table holds one row per distinct hash (from :mod:`rewardhub.metrics.hashing`, so the same
n-gram has the same hash in every process), sorted by hash, with value columns:

- :class:`HashSet`: no value (``distinct``, ``ead``, ``ngram_diversity_score``, duplicate
  texts): 8 bytes per distinct n-gram;
- :class:`HashCounts` (alias :class:`HashCounter`): an int64 count (``ngram_entropy``,
  ``self_repetition_score``'s document frequencies);
- :class:`TopCounts`: self-BLEU's clipping statistics, three int32.

Most distinct n-grams of real text occur once (79% of the 1- to 4-grams of the 5,635
alpaca_eval answers), so a table with columns keeps the hashes whose row is the *unit row* (one
occurrence: count 1; top 1, one holder, nothing below) apart, in a key-only array ``once``:
8 bytes for those, 16 (counts) or 20 (self-BLEU) for the others.

Rows arrive in any order and repeated, chunk by chunk or from another table (``merge``). Each
batch is reduced on arrival (sorted, duplicates combined) and waits in a pending list, which is
folded in once it outnumbers a quarter of the table: the pending rows are reduced together,
then merged into the table by binary search (rows already there are combined in place, new ones
inserted in one pass). A stream of C chunks therefore costs O(total log total), never
O(C x table), and folding needs about one more copy of one column at a time, never an argsort
of the whole table. Sorted order is canonical: the same rows give the same arrays however the
stream was cut or merged, so results are the same bits.

Tested in ``tests/test_hash_tables.py`` (against Python dicts, any batching and merge order) and
through every n-gram metric in ``tests/test_metric_states.py``.
"""

from __future__ import annotations

from rewardhub.lazy import np
from rewardhub.metrics.sorted_keys import (  # the tables' pieces, re-exported
    Columns,
    Sum,
    Top,
    _empty_u64,
    _find,
    _Insertion,
    is_strictly_sorted,
    run_starts,
    unique_sorted,
)

#: Pending rows are folded in once they exceed both a quarter of the table and this many.
MIN_FOLD = 1 << 16
#: Bits of a hash's prefix in :meth:`TopCounts.candidates`' bitmap (a 1 MB look-up table).
PREFIX_BITS = 20


class _SortedTable:
    """Rows keyed by unique uint64 hashes in sorted order, with the value columns of its
    :attr:`parts` (:class:`Sum`, :class:`Top`): ``keys`` and the columns hold the rows; the
    hashes whose row is the unit row (one occurrence) are kept apart in ``once`` (see the
    module doc). Without parts it is a set."""

    parts: tuple[type, ...] = ()

    def __init__(self) -> None:
        self.columns: tuple[tuple[str, str], ...] = tuple(c for part in self.parts for c in part.columns)
        #: the column values of a single occurrence, kept key-only in ``once`` (None: a set)
        self.unit: tuple[int, ...] | None = tuple(u for part in self.parts for u in part.unit) or None
        self.keys = _empty_u64()
        self.once = _empty_u64()
        for name, dtype in self.columns:
            setattr(self, name, np.zeros(0, dtype=dtype))
        self._pending: list[tuple[np.ndarray, ...]] = []
        self._pending_rows = 0

    def __len__(self) -> int:
        """How many distinct hashes the table holds."""
        self.compact()
        return len(self.keys) + len(self.once)

    # -- rows of the same hash, by part ---------------------------------------------------
    def _reduce(self, keys: np.ndarray, values: Columns, runs: bool = False) -> tuple[np.ndarray, ...]:
        """Rows in any order (keys may repeat) as ``(keys, *values)``, sorted with unique keys;
        ``runs``: the rows are a few sorted runs one after the other (pending parts)."""
        if not self.parts:
            return (keys if is_strictly_sorted(keys) else unique_sorted(keys),)
        if not (len(keys) < 2 or np.all(keys[1:] >= keys[:-1])):
            # sorted runs: a merge sort merges them in O(n log runs), faster than a quicksort
            order = np.argsort(keys, kind="stable" if runs else None)
            keys, values = keys[order], [v[order] for v in values]
            del order
        starts = run_starts(keys)
        if len(starts) == len(keys):
            return (keys, *values)
        lengths = np.diff(np.r_[starts, len(keys)])
        out = [keys[starts], *(v[starts] for v in values)]
        # only the runs of several rows need reducing (most n-grams are in one response)
        several = np.flatnonzero(lengths > 1)
        rows = np.flatnonzero(np.repeat(lengths > 1, lengths))
        lengths = lengths[several]
        starts = np.r_[0, np.cumsum(lengths)[:-1]]
        first = 0
        for part in self.parts:
            width = len(part.columns)
            reduced = part.reduce([v[rows] for v in values[first : first + width]], starts, lengths)
            for column, value in zip(out[1 + first : 1 + first + width], reduced):
                column[several] = value
            first += width
        return tuple(out)

    def _combine(self, mine: Columns, theirs: Columns) -> Columns:
        """The values of rows of the same hashes combined (both sides one row per hash)."""
        out, first = [], 0
        for part in self.parts:
            width = len(part.columns)
            out += part.combine(mine[first : first + width], theirs[first : first + width])
            first += width
        return out

    # -- the shared machinery --------------------------------------------------------------
    def _values(self) -> Columns:
        return [getattr(self, name) for name, _ in self.columns]

    def _unit_values(self, size: int) -> Columns:
        assert self.unit is not None
        return [np.full(size, u, dtype=dtype) for u, (_, dtype) in zip(self.unit, self.columns)]

    def _queue(self, keys: np.ndarray, values: Columns, reduced: bool = False) -> None:
        if not len(keys):
            return
        rows = (keys, *values) if reduced else self._reduce(keys, values)
        self._pending.append(rows)
        self._pending_rows += len(rows[0])
        if self._pending_rows > max((len(self.keys) + len(self.once)) // 4, MIN_FOLD):
            self.compact()

    def merge(self, other: _SortedTable) -> None:
        """Fold in every row of ``other`` (a table of the same kind)."""
        other.compact()
        self._queue(other.keys, other._values(), reduced=True)
        if len(other.once):
            self._queue(other.once, self._unit_values(len(other.once)), reduced=True)

    def compact(self) -> None:
        """Fold the pending rows into the table."""
        if not self._pending:
            return
        parts, self._pending, self._pending_rows = self._pending, [], 0
        if len(parts) == 1:
            keys, *values = parts[0]
        else:
            keys = np.concatenate([p[0] for p in parts])
            values = [np.concatenate([p[i] for p in parts]) for i in range(1, len(parts[0]))]
            del parts
            keys, *values = self._reduce(keys, values, runs=True)
        self._fold_sorted(keys, values)

    def _fold_sorted(self, keys: np.ndarray, values: Columns) -> None:
        """Fold in rows with sorted unique ``keys``, using about one column more than the table:
        rows already held are combined in place, a hash held once moves to the table with its
        new row, and the rest are inserted (one pass per column)."""
        if not self.columns:  # a set: one in-place sort of both runs, no index arrays
            merged = np.concatenate([self.keys, keys])
            self.keys = _empty_u64()  # let the old array go before the sort
            merged.sort(kind="stable")
            self.keys = merged[np.r_[True, merged[1:] != merged[:-1]]]
            return
        size = len(self.keys)
        at = np.searchsorted(self.keys, keys)  # also where the new ones go: keys stays as it is
        found = at < size
        found[found] = self.keys[at[found]] == keys[found]
        if found.any():
            rows = at[found]
            held = self._values()
            for column, value in zip(held, self._combine([c[rows] for c in held], [v[found] for v in values])):
                column[rows] = value
            new = ~found
            keys, values, at = keys[new], [v[new] for v in values], at[new]
        if not len(keys):
            return
        if self.unit is not None:
            where = np.searchsorted(self.once, keys)
            again = where < len(self.once)
            again[again] = self.once[where[again]] == keys[again]
            moved = np.flatnonzero(again)
            if len(moved):  # held once before: the unit row combined with the new one
                values = [v.copy() for v in values]  # they may be the caller's arrays
                combined = self._combine(self._unit_values(len(moved)), [v[moved] for v in values])
                for v, c in zip(values, combined):
                    v[moved] = c
            is_unit = ~again
            for value, u in zip(values, self.unit):
                is_unit &= value == u
            if len(moved) or is_unit.any():
                keep = np.ones(len(self.once), dtype=bool)
                keep[where[moved]] = False
                once = np.concatenate([self.once[keep] if len(moved) else self.once, keys[is_unit]])
                self.once = _empty_u64()  # let the old array go before the sort
                once.sort(kind="stable")  # two sorted runs: a merge (several times np.insert's speed)
                self.once = once
                rich = ~is_unit
                keys, values, at = keys[rich], [v[rich] for v in values], at[rich]
        if len(keys):
            insert = _Insertion(at, size)
            self.keys = insert(self.keys, keys)
            for (name, _), column in zip(self.columns, values):
                setattr(self, name, insert(getattr(self, name), column))

    def lookup_values(self, hashes: np.ndarray) -> Columns:
        """The columns of each of ``hashes`` (the unit row for a hash held once, zeros for a
        hash not in the table); fastest for sorted hashes."""
        self.compact()
        at, found = _find(self.keys, hashes)
        out = [np.where(found, c[at], 0) if len(c) else np.zeros(len(hashes), c.dtype) for c in self._values()]
        if self.unit is not None and len(self.once):
            _, once = _find(self.once, hashes)
            for column, u in zip(out, self.unit):
                column[once] = u
        return out

    def keep(self, rows: np.ndarray) -> None:
        """Keep only the rows (of ``keys``) where the boolean mask ``rows`` is true."""
        self.keys = self.keys[rows]
        for name, _ in self.columns:
            setattr(self, name, getattr(self, name)[rows])

    def __getstate__(self) -> dict:
        self.compact()  # ship compact arrays
        return self.__dict__


class HashSet(_SortedTable):
    """A set of uint64 hashes: :meth:`update` with an array (any order, repeats allowed),
    :meth:`merge` with another set; :meth:`values` the distinct hashes, sorted."""

    def update(self, hashes: np.ndarray) -> None:
        self._queue(np.asarray(hashes, dtype=np.uint64), [])

    add = update

    def values(self) -> np.ndarray:
        self.compact()
        return self.keys


class HashCounts(_SortedTable):
    """A multiset of uint64 hashes: each distinct hash and its int64 count (``keys`` and
    ``counts`` for counts above 1, ``once`` for the hashes counted once)."""

    parts = (Sum,)
    counts: np.ndarray

    def add(self, hashes: np.ndarray, counts: np.ndarray | None = None) -> None:
        """Add ``counts`` (default 1 each) to the counts of ``hashes``."""
        hashes = np.asarray(hashes, dtype=np.uint64)
        weights = np.ones(len(hashes), dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
        self._queue(hashes, [weights])

    update = add

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        """``(hashes, counts)``: every distinct hash, sorted, and its count (a new array)."""
        self.compact()
        keys = np.concatenate([self.keys, self.once])
        order = np.argsort(keys)
        return keys[order], np.concatenate([self.counts, np.ones(len(self.once), np.int64)])[order]

    def lookup(self, hashes: np.ndarray) -> np.ndarray:
        """The count of each of ``hashes`` (0 for a hash never added)."""
        return self.lookup_values(hashes)[0]


#: The name ``self_repetition_score`` uses (a counter of responses per n-gram).
HashCounter = HashCounts


def top_rows(counts: np.ndarray) -> Columns:
    """The :class:`Top` columns of one row per (n-gram, response) with these counts."""
    size = len(counts)
    return [counts.astype(np.int32), np.ones(size, dtype=np.int32), np.zeros(size, dtype=np.int32)]


class TopCounts(_SortedTable):
    """Per n-gram hash, self-BLEU's :class:`Top` statistics (what "the largest count among the
    *other* responses" needs); an n-gram that occurred once in all is kept in ``once``."""

    parts = (Top,)
    top: np.ndarray
    holders: np.ndarray
    below: np.ndarray

    def __init__(self) -> None:
        super().__init__()
        #: whether :meth:`prune_unshared` ran (the table is frozen for look-ups)
        self.pruned = False
        self._bits: np.ndarray | None = None

    def add(self, hashes: np.ndarray, counts: np.ndarray) -> None:
        """Fold in one row per (n-gram, response): the count of that n-gram in that response."""
        self._queue(hashes, top_rows(counts))

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(top, holders, below)`` of each hash; ``(0, 0, 0)`` for one not in the table."""
        top, holders, below = self.lookup_values(hashes)
        return top, holders, below

    @classmethod
    def frozen(
        cls, keys: np.ndarray, top: np.ndarray, holders: np.ndarray, below: np.ndarray, once: np.ndarray, copy: bool
    ) -> TopCounts:
        """A table for look-ups only, over these rows: with ``copy``, a copy of just the rows
        another response shares (see :meth:`prune_unshared`); without, the arrays themselves
        (no memory: for tables other metrics keep anyway)."""
        table = cls()
        if copy:
            keep = (holders > 1) | (below > 0)
            keys, top, holders, below, once = keys[keep], top[keep], holders[keep], below[keep], _empty_u64()
        table.keys, table.top, table.holders, table.below, table.once = keys, top, holders, below, once
        table.pruned = True
        return table

    def prune_unshared(self) -> None:
        """Drop the n-grams only one response holds (one holder and nothing below, the hashes
        held once included): they can match no other response, so :meth:`lookup` answers
        ``(0, 0, 0)`` for them just as well."""
        self.compact()
        self.keep((self.holders > 1) | (self.below > 0))
        self.once = _empty_u64()
        self.pruned = True

    def candidates(self, hashes: np.ndarray) -> np.ndarray:
        """A mask of the ``hashes`` that may be in the table: never false for one that is (a
        bitmap of the keys' top :data:`PREFIX_BITS` bits; after :meth:`prune_unshared` the table
        is small, so most n-grams no other response shares are ruled out in one look-up)."""
        if self._bits is None:
            self.compact()
            shared = self.keys[(self.holders > 1) | (self.below > 0)]  # the others match nothing
            self._bits = np.zeros(1 << PREFIX_BITS, dtype=bool)
            self._bits[shared >> np.uint64(64 - PREFIX_BITS)] = True
        return self._bits[hashes >> np.uint64(64 - PREFIX_BITS)]

    def __getstate__(self) -> dict:
        self.compact()
        return {**self.__dict__, "_bits": None}  # rebuilt where it is used


class NgramTable(_SortedTable):
    """One order's n-grams for the metrics that share a stream's tables
    (:mod:`rewardhub.metrics.ngram_tables`): a set, with a :class:`Sum` of occurrences where
    ``ngram_entropy`` needs it and :class:`Top` statistics where self-BLEU does."""

    def __init__(self, parts: tuple[type, ...]) -> None:
        self.parts = parts
        super().__init__()


__all__ = [
    "HashCounter",
    "HashCounts",
    "HashSet",
    "NgramTable",
    "Sum",
    "Top",
    "TopCounts",
    "run_starts",
    "unique_sorted",
]

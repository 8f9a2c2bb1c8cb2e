"""The sorted-key pieces of :mod:`rewardhub.metrics.hash_sets`: strictly sorted uint64 keys,
finding where hashes are (or go) by binary search, one pass of insertions, and the column
combiners (:class:`Sum`, :class:`Top`) a table's rows merge with. Tested through the tables in
``tests/test_hash_tables.py``."""

from __future__ import annotations

from rewardhub.lazy import np

Columns = list  # of numpy arrays, one per value column


def _empty_u64() -> np.ndarray:
    return np.zeros(0, dtype=np.uint64)


def run_starts(keys: np.ndarray) -> np.ndarray:
    """Start index of each run of equal values in sorted ``keys``."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])


def is_strictly_sorted(keys: np.ndarray) -> bool:
    return bool(len(keys) < 2 or np.all(keys[1:] > keys[:-1]))


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (by numpy's SIMD sort rather than ``np.unique``'s paths:
    timings in ``benchmarks/README_diversity.md``)."""
    values = np.sort(values)
    return values[run_starts(values)] if len(values) else values


def _find(keys: np.ndarray, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(at, found)``: where each of ``hashes`` is in sorted unique ``keys`` and whether it is."""
    if not len(keys):
        return np.zeros(len(hashes), dtype=np.int64), np.zeros(len(hashes), dtype=bool)
    at = np.minimum(np.searchsorted(keys, hashes), len(keys) - 1)
    return at, keys[at] == hashes


class _Insertion:
    """``np.insert`` of rows at sorted positions ``where`` into arrays of ``size`` rows, with
    the destinations worked out once for all the columns."""

    def __init__(self, where: np.ndarray, size: int):
        self.dest = where + np.arange(len(where))
        self.old = np.ones(size + len(where), dtype=bool)
        self.old[self.dest] = False

    def __call__(self, array: np.ndarray, rows: np.ndarray) -> np.ndarray:
        out = np.empty(len(self.old), dtype=array.dtype)
        out[self.dest] = rows
        out[self.old] = array
        return out


class Sum:
    """A count column: rows of the same hash add up; a single occurrence counts 1."""

    columns = (("counts", "int64"),)
    unit = (1,)

    @staticmethod
    def reduce(values: Columns, starts: np.ndarray, lengths: np.ndarray) -> Columns:
        return [np.add.reduceat(values[0], starts)]

    @staticmethod
    def combine(mine: Columns, theirs: Columns) -> Columns:
        return [mine[0] + theirs[0]]


class Top:
    """Self-BLEU's clipping statistics: ``top`` (the largest count in any one response),
    ``holders`` (how many responses have ``top``), ``below`` (the largest count under ``top``,
    0 if none). A single occurrence is (1, 1, 0)."""

    columns = (("top", "int32"), ("holders", "int32"), ("below", "int32"))
    unit = (1, 1, 0)

    @staticmethod
    def reduce(values: Columns, starts: np.ndarray, lengths: np.ndarray) -> Columns:
        top, holders, below = values
        best = np.maximum.reduceat(top, starts)
        at_best = top == np.repeat(best, lengths)
        # the largest count under the best: a best row's own ``below``, or a lower row's ``top``
        return [
            best,
            np.add.reduceat(np.where(at_best, holders, 0), starts),
            np.maximum.reduceat(np.where(at_best, below, top), starts),
        ]

    @staticmethod
    def combine(mine: Columns, theirs: Columns) -> Columns:
        (top_a, holders_a, below_a), (top_b, holders_b, below_b) = mine, theirs
        best = np.maximum(top_a, top_b)
        holders = np.where(top_a == best, holders_a, 0) + np.where(top_b == best, holders_b, 0)
        below = np.maximum(np.where(top_a < best, top_a, below_a), np.where(top_b < best, top_b, below_b))
        return [best, holders, below]

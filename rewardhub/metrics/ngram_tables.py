"""The n-gram tables of a stream, one set per tokenizer, shared by the corpus n-gram metrics.

``distinct`` (and ``ead``, which reads distinct's state), ``ngram_entropy`` and ``self_bleu``
all keep, per n-gram order, the distinct n-gram hashes of everything folded in; entropy adds
each n-gram's count, self-BLEU its clipping statistics (:class:`~rewardhub.metrics.hash_sets.Top`).
Each of their states holds an :class:`NgramTables` with the orders and columns it needs. On its
own a state folds its tables itself; in a run (:class:`~rewardhub.metrics_runner.MetricsAccumulator`)
the states of metrics with the same tokenizer get one :class:`NgramTables` between them
(:func:`share_tables`): one table per order with the union of the columns, folded once per
piece and merged once per merge. For the builtin metrics on the 5,635 alpaca_eval answers that
is 46 MB of tables instead of 105 MB (and one fold instead of four).

Folding once: the run calls :meth:`NgramTables.next_piece` before each piece (and before each
merge); the first state to fold the piece folds the shared tables, the others find it done.
Values are the same bits as with tables of their own: the tables are the same sorted arrays.
Tested in ``tests/test_ngram_states_oracle.py`` (shared and unshared, chunked and merged).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rewardhub.lazy import np
from rewardhub.metrics.hash_sets import NgramTable, Sum, Top, TopCounts, top_rows
from rewardhub.metrics.hashed import HashedChunk


class NgramTables:
    """Per n-gram order, a table of the n-grams folded in (with the columns asked for by
    :meth:`need`) and the number of n-grams."""

    def __init__(self) -> None:
        #: order -> (a count column wanted, self-BLEU's statistics wanted)
        self.needs: dict[int, tuple[bool, bool]] = {}
        self.tables: dict[int, NgramTable] = {}
        self.totals: dict[int, int] = {}
        self.shared = False
        self._piece = 0
        self._folded = self._merged = -1

    def need(self, orders: Iterable[int], *, counts: bool = False, top: bool = False) -> None:
        """Ask for ``orders`` (with a count column, with self-BLEU's statistics)."""
        if self.tables:
            raise RuntimeError("n-gram tables are set up before anything is folded in")
        for k in orders:
            had_counts, had_top = self.needs.get(k, (False, False))
            self.needs[k] = (had_counts or counts, had_top or top)

    def _table(self, k: int) -> NgramTable:
        if k not in self.tables:
            counts, top = self.needs[k]
            self.tables[k] = NgramTable((Sum,) * counts + (Top,) * top)
            self.totals[k] = 0
        return self.tables[k]

    def next_piece(self) -> None:
        """A new piece (or merge) begins: shared tables fold (merge) it once."""
        self._piece += 1

    def fold(self, chunk: HashedChunk) -> None:
        if self.shared:
            if self._folded == self._piece:
                return
            self._folded = self._piece
        for k, (counts, top) in sorted(self.needs.items()):
            table = self._table(k)
            if top:
                hashes, _, per_response = chunk.counts_per_response(k)
                sums = [per_response.astype(np.int64)] if counts else []
                table._queue(hashes, [*sums, *top_rows(per_response)])
            elif counts:
                hashes, occurrences = chunk.ngram_counts(k)
                table._queue(hashes, [occurrences], reduced=True)
            else:
                table._queue(chunk.ngram_counts(k)[0], [], reduced=True)
            self.totals[k] += int(chunk.totals(k).sum())

    def merge(self, other: NgramTables) -> None:
        if self.shared:
            if self._merged == self._piece:
                return
            self._merged = self._piece
        for k in sorted(self.needs):
            if k in other.tables:
                self._table(k).merge(other.tables[k])
                self.totals[k] += other.totals[k]

    def distinct(self, k: int) -> int:
        """How many distinct n-grams of order ``k`` were folded in."""
        return len(self.tables[k]) if k in self.tables else 0

    def total(self, k: int) -> int:
        return self.totals.get(k, 0)

    def counts(self, k: int) -> tuple[np.ndarray, int]:
        """``(counts above 1, in hash order; how many n-grams occurred once)`` for order ``k``."""
        if k not in self.tables:
            return np.zeros(0, dtype=np.int64), 0
        table = self.tables[k]
        table.compact()
        return table.counts, len(table.once)  # type: ignore[attr-defined]

    def top_counts(self, k: int) -> TopCounts:
        """Self-BLEU's look-up table for order ``k`` (frozen): a copy of the rows another
        response shares, or, where other metrics keep these tables anyway, the table itself."""
        if k not in self.tables:
            empty = [np.zeros(0, dtype=d) for d in ("uint64", "int32", "int32", "int32", "uint64")]
            return TopCounts.frozen(*empty, copy=True)
        table = self.tables[k]
        table.compact()
        columns = (table.keys, table.top, table.holders, table.below, table.once)  # type: ignore[attr-defined]
        return TopCounts.frozen(*columns, copy=not self.shared)


def share_tables(states: Sequence[Any]) -> list[NgramTables]:
    """Give the states of n-gram metrics with the same tokenizer one :class:`NgramTables`
    (the union of what each asked for); returns the shared ones, for
    :meth:`NgramTables.next_piece`. Call before anything is folded in."""
    groups: dict[str, list[Any]] = {}
    for state in states:
        if isinstance(getattr(state, "ngrams", None), NgramTables):
            groups.setdefault(state.metric.tokenize, []).append(state)
    shared_ones = []
    for members in groups.values():
        if len(members) < 2:
            continue
        shared = NgramTables()
        shared.shared = True
        for state in members:
            for k, (counts, top) in state.ngrams.needs.items():
                shared.need([k], counts=counts, top=top)
            state.ngrams = shared
        shared_ones.append(shared)
    return shared_ones

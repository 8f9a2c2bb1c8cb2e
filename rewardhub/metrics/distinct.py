"""Distinct-n (Li et al. 2016), corpus level as DSTC7 and TextBox compute it, and the
per-response average under its own name.

- ``distinct``: ``distinct_<n>`` = unique n-grams / total n-grams, both counted over all
  responses together. The number papers report.
- ``distinct_avg``: ``distinct_avg_<n>`` = the mean over responses of each response's own
  unique / total n-grams. It measures repetition *inside* responses, not sameness *across*
  them, and is always at least as high; never compare it with a corpus distinct-n.

No n-gram of an order at all (empty responses, responses shorter than n): 0.0 for that order
(and, in ``distinct_avg``, a response without n-grams of that order counts as 0.0).

States (mergeable, see :mod:`rewardhub.host.state`): ``distinct`` keeps the distinct n-gram
hashes of each order and the total count (8 bytes per distinct n-gram, in
:class:`~rewardhub.metrics.ngram_tables.NgramTables`, shared in a run with the other n-gram
metrics of the same tokenizer);
``distinct_avg`` keeps, per n-gram total, the number of responses and the sum of their
distinct counts (integers: O(longest response), not O(rows)).
Tested in ``tests/test_metrics_distinct.py`` and ``tests/test_ngram_states_oracle.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

from rewardhub.lazy import np
from rewardhub.metrics.base import NgramMetric, NgramState
from rewardhub.metrics.hashed import HashedChunk, LengthTable
from rewardhub.metrics.ngram_tables import NgramTables
from rewardhub.metrics.ngrams import ORDERS, as_orders


def distinct(chunk: HashedChunk, k: int) -> float:
    """Corpus distinct-k of one chunk (a whole set: :class:`~rewardhub.metrics.NgramCorpus`):
    distinct n-grams of order ``k`` over all responses / their total."""
    hashes, counts = chunk.ngram_counts(k)
    total = int(counts.sum())
    return len(hashes) / total if total else 0.0


def distinct_per_response(chunk: HashedChunk, k: int) -> np.ndarray:
    """Each response's own distinct-k (0.0 for a response with no n-gram of order ``k``)."""
    totals = chunk.totals(k)
    return np.divide(chunk.distinct_per_response(k), totals, out=np.zeros(chunk.size), where=totals > 0)


class Distinct(NgramMetric):
    """Corpus distinct-n: unique / total n-grams over all responses (DSTC7, TextBox).
    Higher is more diverse. ``n``: the orders (default 1..4), keys ``distinct_<n>``."""

    name = "distinct"
    higher_is_better = True
    version = "1"
    description = "Corpus distinct-n (DSTC7/TextBox): unique / total n-grams over all responses"

    def __init__(self, n: int | Sequence[int] = ORDERS, tokenize: str = "auto"):
        super().__init__(tokenize)
        self.orders = as_orders(n)

    def state(self) -> DistinctState:
        return DistinctState(self)


class DistinctState(NgramState):
    """Distinct n-gram hashes and the n-gram total, per order, in :class:`NgramTables` (shared
    with the other n-gram metrics of a run; also :class:`~rewardhub.metrics.ead.EadState`'s)."""

    def __init__(self, metric: Distinct):
        super().__init__(metric)
        self.orders = metric.orders
        self.ngrams = NgramTables()
        self.ngrams.need(self.orders)

    def fold(self, chunk: HashedChunk, pass_: int) -> None:
        self.ngrams.fold(chunk)

    def merge(self, other: DistinctState) -> None:
        self.ngrams.merge(other.ngrams)

    @property
    def totals(self) -> dict[int, int]:
        """How many n-grams of each order were folded in."""
        return {k: self.ngrams.total(k) for k in self.orders}

    def distinct(self, k: int) -> int:
        """How many distinct n-grams of order ``k`` were seen."""
        return self.ngrams.distinct(k)

    def result(self) -> dict[str, float]:
        totals = self.totals
        return {f"distinct_{k}": self.distinct(k) / totals[k] if totals[k] else 0.0 for k in self.orders}


class DistinctAverage(NgramMetric):
    """Per-response distinct-n averaged over responses (not the corpus distinct-n).
    ``n``: the orders (default 1..4), keys ``distinct_avg_<n>``; no responses: 0.0."""

    name = "distinct_avg"
    higher_is_better = True
    version = "1"
    description = "Per-response distinct-n, averaged over responses (repetition inside responses)"

    def __init__(self, n: int | Sequence[int] = ORDERS, tokenize: str = "auto"):
        super().__init__(tokenize)
        self.orders = as_orders(n)

    def state(self) -> PerResponseState:
        return PerResponseState(self, "distinct_avg")


class PerResponseState(NgramState):
    """Per order, a :class:`LengthTable`: the mean over responses of ``distinct / total``
    (``distinct_avg``) or of ``1 - distinct / total`` (``seq_rep``, 0 without n-grams) follows
    from it exactly, in any chunking."""

    def __init__(self, metric: NgramMetric, kind: str):
        super().__init__(metric)
        self.kind, self.orders = kind, metric.orders  # type: ignore[attr-defined]
        self.tables = {k: LengthTable() for k in self.orders}

    def fold(self, chunk: HashedChunk, pass_: int) -> None:
        for k in self.orders:
            self.tables[k].add(chunk.totals(k), chunk.distinct_per_response(k))

    def merge(self, other: PerResponseState) -> None:
        for k in self.orders:
            self.tables[k].merge(other.tables[k])

    def result(self) -> dict[str, float]:
        values = {}
        for k, table in self.tables.items():
            n = table.count
            if self.kind == "distinct_avg":
                values[f"distinct_avg_{k}"] = table.ratio_sum() / n if n else 0.0
            else:
                with_grams = n - int(table.responses[0]) if n else 0
                values[f"seq_rep_{k}"] = (with_grams - table.ratio_sum()) / n if n else 0.0
        return values

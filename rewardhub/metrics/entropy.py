"""Ent-n (Zhang et al. 2018): the entropy of the corpus n-gram distribution, natural log.

``ent_<n> = -sum_g p(g) log p(g)`` with ``p(g)`` = the count of n-gram ``g`` over all
responses / the total count of n-grams of order n. Higher is more diverse. No n-gram of an
order at all: 0.0 (the entropy of an empty distribution).

State: per order, the n-grams seen once as 8-byte hashes, the others with their count (16
bytes; :class:`~rewardhub.metrics.ngram_tables.NgramTables`, shared in a run), in hash order, so the result is the same
bits for any chunking and merge order.
Tested in ``tests/test_metrics_entropy.py`` and ``tests/test_ngram_states_oracle.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rewardhub.lazy import np
from rewardhub.metrics.base import NgramMetric, NgramState
from rewardhub.metrics.hashed import HashedChunk
from rewardhub.metrics.ngram_tables import NgramTables
from rewardhub.metrics.ngrams import ORDERS, as_orders


def ngram_entropy(chunk: HashedChunk, k: int) -> float:
    """Ent-k of one chunk (a whole set: :class:`~rewardhub.metrics.NgramCorpus`), in nats:
    the arithmetic of the state, on the same arrays (so the same bits)."""
    counts = chunk.ngram_counts(k)[1]
    return entropy_of_counts(counts[counts > 1], int(np.count_nonzero(counts == 1)))


def entropy_of_counts(counts: np.ndarray, ones: int = 0) -> float:
    """The entropy, in nats, of the distribution with these (positive) counts and ``ones``
    more counts of 1; 0.0 if empty."""
    total = float(counts.sum()) + ones
    if not total:
        return 0.0
    p = counts / total
    plogp = (
        float(np.sum(p * np.log(p))) + (ones / total) * math.log(1.0 / total) if ones else float(np.sum(p * np.log(p)))
    )
    return max(0.0, -plogp)  # max(): no -0.0 for a single n-gram type


class NgramEntropy(NgramMetric):
    """Ent-n (Zhang et al. 2018), natural log, for ``n`` (default 1..4): keys ``ent_<n>``."""

    name = "ngram_entropy"
    higher_is_better = True
    version = "1"
    description = "Ent-n (Zhang et al. 2018): entropy of the corpus n-gram distribution, in nats"

    def __init__(self, n: int | Sequence[int] = ORDERS, tokenize: str = "auto"):
        super().__init__(tokenize)
        self.orders = as_orders(n)

    def state(self) -> NgramEntropyState:
        return NgramEntropyState(self)


class NgramEntropyState(NgramState):
    """The count of every distinct n-gram hash, per order (:class:`NgramTables`)."""

    def __init__(self, metric: NgramEntropy):
        super().__init__(metric)
        self.orders = metric.orders
        self.ngrams = NgramTables()
        self.ngrams.need(self.orders, counts=True)

    def fold(self, chunk: HashedChunk, pass_: int) -> None:
        self.ngrams.fold(chunk)

    def merge(self, other: NgramEntropyState) -> None:
        self.ngrams.merge(other.ngrams)

    def result(self) -> dict[str, float]:
        # counts above 1 in hash order, and how many n-grams occurred once: canonical arrays
        return {f"ent_{k}": entropy_of_counts(*self.ngrams.counts(k)) for k in self.orders}

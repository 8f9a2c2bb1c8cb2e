"""Ent-n (Zhang et al. 2018): the entropy of the corpus n-gram distribution, natural log.

``ent_<n> = -sum_g p(g) log p(g)`` with ``p(g)`` = the count of n-gram ``g`` over all
responses / the total count of n-grams of order n. Higher is more diverse. No n-gram of an
order at all: 0.0 (the entropy of an empty distribution).

State: per order, the count of each distinct n-gram hash (16 bytes per distinct n-gram), kept
in hash order, so the result is the same bits for any chunking and merge order.
"""

from __future__ import annotations

from collections.abc import Sequence

from rewardhub.lazy import np
from rewardhub.metrics.base import NgramMetric, NgramState
from rewardhub.metrics.hashed import HashCounts, HashedChunk
from rewardhub.metrics.ngrams import ORDERS, NgramCorpus, as_orders


def ngram_entropy(corpus: NgramCorpus, k: int) -> float:
    """Ent-k of the corpus, in nats."""
    ids, _ = corpus.grams(k)
    counts = np.bincount(ids)
    return entropy_of_counts(counts[counts > 0])


def entropy_of_counts(counts: np.ndarray) -> float:
    """The entropy, in nats, of the distribution with these (positive) counts; 0.0 if empty."""
    if not len(counts):
        return 0.0
    p = counts / counts.sum()
    return max(0.0, float(-np.sum(p * np.log(p))))  # max(): no -0.0 for a single n-gram type


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
    """The count of every distinct n-gram hash, per order."""

    def __init__(self, metric: NgramEntropy):
        super().__init__(metric)
        self.orders = metric.orders
        self.counts = {k: HashCounts() for k in self.orders}

    def fold(self, chunk: HashedChunk, pass_: int) -> None:
        for k in self.orders:
            hashes, _ = chunk.grams(k)
            self.counts[k].add(*np.unique(hashes, return_counts=True))

    def merge(self, other: NgramEntropyState) -> None:
        for k in self.orders:
            self.counts[k].merge(other.counts[k])

    def result(self) -> dict[str, float]:
        return {f"ent_{k}": entropy_of_counts(self.counts[k].sorted_counts()) for k in self.orders}

"""Dense-id n-gram oracles: the implementation rewardhub shipped before its one hashed
representation, kept here as an independent reference for the tests.

Every distinct token gets an integer id, every distinct n-gram of order ``k`` an id built from
its ``(k-1)``-gram prefix id and last token (``pandas.factorize``), n-grams never cross a
response boundary, and the metrics are counted from those ids with ``np.bincount``: no hashing
at all, so agreement with the hashed states checks the hashing, the sorted tables and their
merging. Self-BLEU here uses the dense path's own clipping (``np.maximum.at`` over ids), and the
product's ``bleu_scores`` / ``closest_other_length`` (checked against NLTK on their own in
``tests/test_metrics_self_bleu.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property

import numpy as np

from rewardhub.metrics.ngrams import as_orders, ngram_list
from rewardhub.metrics.self_bleu import bleu_scores, closest_other_length

__all__ = [
    "NgramCorpus",
    "clipped_matches",
    "distinct",
    "distinct_per_response",
    "ngram_entropy",
    "ngram_list",
    "self_bleu_scores",
    "seq_rep",
]


def entropy_of_counts(counts: np.ndarray) -> float:
    if not len(counts):
        return 0.0
    p = counts / counts.sum()
    return max(0.0, float(-np.sum(p * np.log(p))))


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


def distinct(corpus: NgramCorpus, k: int) -> float:
    """Corpus distinct-k: distinct n-grams of order ``k`` over all responses / their total."""
    ids, _ = corpus.grams(k)
    return np.count_nonzero(np.bincount(ids)) / len(ids) if len(ids) else 0.0  # ids are dense


def distinct_per_response(corpus: NgramCorpus, k: int) -> np.ndarray:
    """Each response's own distinct-k (0.0 for a response with no n-gram of order ``k``)."""
    _, responses, _ = corpus.counts_per_response(k)
    unique = np.bincount(responses, minlength=corpus.size)
    totals = corpus.totals(k)
    return np.divide(unique, totals, out=np.zeros(corpus.size), where=totals > 0)


def ngram_entropy(corpus: NgramCorpus, k: int) -> float:
    """Ent-k of the corpus, in nats."""
    ids, _ = corpus.grams(k)
    counts = np.bincount(ids)
    return entropy_of_counts(counts[counts > 0])


def seq_rep(corpus: NgramCorpus, k: int) -> np.ndarray:
    """Each response's seq-rep-k, ``1 - unique / total`` n-grams (0.0 with no n-grams)."""
    return np.where(corpus.totals(k) > 0, 1.0 - distinct_per_response(corpus, k), 0.0)


def clipped_matches(corpus: NgramCorpus, k: int) -> np.ndarray:
    """For each response as hypothesis: its n-gram matches of order ``k`` against all the other
    responses, clipped as BLEU clips them (the numerator of NLTK's modified precision)."""
    # an n-gram that occurs once in the corpus matches nothing: leave those out early
    ids, responses, counts = corpus.counts_per_response(k, repeated_only=True)
    if len(ids) == 0:
        return np.zeros(corpus.size)
    size = int(ids.max()) + 1
    top = np.zeros(size, dtype=np.int64)
    np.maximum.at(top, ids, counts)
    at_top = counts == top[ids]
    holders = np.bincount(ids[at_top], minlength=size)  # responses holding the top count
    below = np.zeros(size, dtype=np.int64)
    np.maximum.at(below, ids[~at_top], counts[~at_top])
    # the largest count among the *other* responses: the top one, unless this response is
    # its only holder, in which case the largest count below it (0 if nobody else has it)
    best_other = np.where(at_top & (holders[ids] == 1), below[ids], top[ids])
    return np.bincount(responses, weights=np.minimum(counts, best_other), minlength=corpus.size)


def self_bleu_scores(
    token_lists: Sequence[Sequence[str]] | NgramCorpus, n: int | Iterable[int] = 4
) -> dict[int, np.ndarray]:
    """Each response's BLEU-n against all the others, for every order in ``n``.

    Equal (to float rounding) to ``sentence_bleu(others, hyp, (1/n,)*n, method1)`` per
    response. Needs at least two responses.
    """
    corpus = token_lists if isinstance(token_lists, NgramCorpus) else NgramCorpus(token_lists)
    orders = as_orders(n)
    if corpus.size < 2:
        raise ValueError(f"self-BLEU needs at least two responses, got {corpus.size}")
    matches = {k: clipped_matches(corpus, k) for k in range(1, max(orders) + 1)}
    return bleu_scores(corpus.lengths, closest_other_length(corpus.lengths), matches, orders)

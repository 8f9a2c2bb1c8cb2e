"""N-gram orders, the plain-Python n-gram list, and :class:`NgramCorpus`, a whole set of
responses as one :class:`~rewardhub.metrics.hashed.HashedChunk`.

There is one n-gram representation in rewardhub: 64-bit hashes of tokens and n-grams
(:mod:`rewardhub.metrics.hashing`), folded chunk by chunk into the metrics' sorted tables
(:mod:`rewardhub.metrics.hash_sets`). ``NgramCorpus`` is kept as the public name of "all the
responses at once": the functions :func:`~rewardhub.metrics.distinct.distinct`,
:func:`~rewardhub.metrics.distinct.distinct_per_response`,
:func:`~rewardhub.metrics.entropy.ngram_entropy`, :func:`~rewardhub.metrics.repetition.seq_rep`
and :func:`~rewardhub.metrics.self_bleu_scores` take one. Its n-gram ids are the 64-bit hashes
(they were dense integers numbered per corpus before the states existed); the dense-id implementation lives on
as the tests' oracle (``tests/oracles/ngrams.py``). Tested in ``tests/test_ngram_states_oracle.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rewardhub.lazy import np
from rewardhub.metrics.hashed import HashedChunk

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


class NgramCorpus(HashedChunk):
    """A list of token lists (one per response) as one hashed chunk: ``grams(k)``,
    ``counts_per_response(k)``, ``ngram_counts(k)``, ``totals(k)``, ``size``, ``lengths``."""

    def __init__(self, token_lists: Sequence[Sequence[str]], texts: Sequence[str] = ()):
        super().__init__(token_lists, texts)

    def counts_per_response(self, k: int, repeated_only: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(hashes, responses, counts)`` (see :class:`HashedChunk`); with ``repeated_only``,
        only n-grams that occur at least twice in the whole set."""
        hashes, responses, counts = super().counts_per_response(k)
        if not repeated_only:
            return hashes, responses, counts
        keys, totals = self.ngram_counts(k)
        repeated = totals[np.searchsorted(keys, hashes)] >= 2 if len(keys) else np.zeros(0, dtype=bool)
        return hashes[repeated], responses[repeated], counts[repeated]

"""Repetition inside responses (seq-rep-n, Welleck et al. 2019) and exact duplicate responses.

- ``seq_rep_<n>``: for each response, ``1 - unique n-grams / total n-grams`` of that response;
  averaged over responses. 0 when nothing repeats; a response with no n-gram of order n (empty,
  or shorter than n tokens) counts as 0.0, as ms-swift's repetition penalty treats it.
- ``duplicate_share``: ``1 - distinct responses / responses``: the share of responses that
  repeat, character for character, a response seen earlier. 0 when all differ,
  ``(N - 1) / N`` when all are the same.

No responses at all: every value is 0.0.

State: seq-rep shares ``distinct_avg``'s integer table; exact duplicates need the set of
the responses' 64-bit text hashes (8 bytes per distinct response: the one part of this state
that grows with the run; two different texts collide with probability about 2**-64).
Tested in ``tests/test_metrics_repetition.py`` and ``tests/test_ngram_states_oracle.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

from rewardhub.lazy import np
from rewardhub.metrics.base import NgramMetric
from rewardhub.metrics.distinct import PerResponseState, distinct_per_response
from rewardhub.metrics.hash_sets import HashSet
from rewardhub.metrics.hashed import HashedChunk
from rewardhub.metrics.ngrams import as_orders

REPETITION_ORDERS = (2, 3, 4)


def seq_rep(chunk: HashedChunk, k: int) -> np.ndarray:
    """Each response's seq-rep-k, ``1 - unique / total`` n-grams (0.0 with no n-grams)."""
    return np.where(chunk.totals(k) > 0, 1.0 - distinct_per_response(chunk, k), 0.0)


def duplicate_share(texts: Sequence[str]) -> float:
    """The share of ``texts`` that repeat an earlier one exactly (0.0 for no texts)."""
    return 1.0 - len(set(texts)) / len(texts) if texts else 0.0


class Repetition(NgramMetric):
    """seq-rep-n (Welleck et al. 2019) for ``n`` (default 2..4) and ``duplicate_share``.
    Higher is more repetitive."""

    name = "repetition"
    higher_is_better = False
    version = "1"
    description = "seq-rep-n (repeated n-grams inside responses) and the share of duplicate responses"

    def __init__(self, n: int | Sequence[int] = REPETITION_ORDERS, tokenize: str = "auto"):
        super().__init__(tokenize)
        self.orders = as_orders(n)

    def state(self) -> RepetitionState:
        return RepetitionState(self)


class RepetitionState(PerResponseState):
    """seq-rep's per-total table and the set of response text hashes."""

    def __init__(self, metric: Repetition):
        super().__init__(metric, "seq_rep")
        self.texts = HashSet()
        self.responses = 0

    def fold(self, chunk: HashedChunk, pass_: int) -> None:
        super().fold(chunk, pass_)
        self.texts.update(chunk.text_hashes)
        self.responses += chunk.size

    def merge(self, other: RepetitionState) -> None:
        super().merge(other)
        self.texts.merge(other.texts)
        self.responses += other.responses

    def result(self) -> dict[str, float]:
        values = super().result()
        values["duplicate_share"] = 1.0 - len(self.texts) / self.responses if self.responses else 0.0
        return values

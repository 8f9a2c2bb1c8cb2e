"""``self_repetition_score``: the ``diversity`` package's self-repetition (Shaib et al. 2024;
after Salkar et al. 2022). Higher means responses reuse each other's n-grams more: less diverse.

For each response, with ``df(g)`` the number of responses that contain the n-gram ``g``::

    score = mean over responses of log(1 + sum over the distinct n-grams g of the response of (df(g) - 1))

Exactly what ``diversity.self_repetition_score(responses, n)`` computes: tokens are each
response's ``str.split()`` (any whitespace), n-grams stay inside a response (``n`` = 4 by
default), a response without n-grams counts as log(1) = 0, the natural log, no rounding. The
package builds ``sum(per_response_lists, [])``, which copies the growing list once per response:
quadratic in the number of responses (estimated at hours for the 5,635 alpaca_eval answers; see
``benchmarks/README_diversity.md``). Ours counts 64-bit n-gram hashes with numpy: linear.

It needs the document frequencies of the whole set before any response's term, so it is a
two-pass metric: pass 0 counts, per n-gram hash, the responses holding it; pass 1 adds up each
response's term against those counts. Merged results equal the single-pass value up to the
order of a float sum. No responses: no value (the package divides by zero).

``tokenize``: ``"auto"`` (default) is the package's split (also ``"whitespace"``); a set holding
CJK text, which that split cannot tokenize, has no value but an error saying so
(:mod:`rewardhub.metrics.package_split`), never the perfect 0.0 the package reports. Any other
rewardhub tokenizer (``zh``, ``13a``, ``hf:...``) tokenizes each response with it.
Tested in ``tests/test_metrics_shaib.py``, ``tests/test_metrics_new_states.py`` and
``tests/test_measures_tokenize.py``.
"""

from __future__ import annotations

import math

from rewardhub.host.kinds import Metric
from rewardhub.host.state import MetricState
from rewardhub.lazy import np
from rewardhub.metrics.base import Responses, positive_int, response_texts
from rewardhub.metrics.hash_sets import HashCounter
from rewardhub.metrics.hashing import ngram_hashes
from rewardhub.metrics.package_split import WHITESPACE_SPLITS, checked_tokenize, refuse, untokenizable
from rewardhub.text import get_tokenizer

#: Odd multiplier folding a response index into an n-gram hash (collisions: as likely as between hashes).
PAIR_BASE = 0xBF58476D1CE4E5B9  # the multiplier of the (n-gram, response) pair hash


def distinct_ngrams_per_response(texts: list[str], n: int, tokenize: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """``(hashes, responses)``: each response's distinct n-grams of order ``n`` (tokens of
    ``tokenize``: whitespace for ``auto``), one row per (n-gram, response) pair."""
    split = str.split if tokenize in WHITESPACE_SPLITS else get_tokenizer(tokenize)
    hashes, responses = ngram_hashes([split(text) for text in texts], n)
    with np.errstate(over="ignore"):  # one 64-bit key per (n-gram, response) pair, as n-grams are hashed
        pairs = hashes * np.uint64(PAIR_BASE) + responses.astype(np.uint64)
    order = np.argsort(pairs, kind="stable")  # (pandas' hash table cost 70 MB of imports in every run)
    pairs = pairs[order]
    first = np.sort(order[np.r_[True, pairs[1:] != pairs[:-1]]]) if len(pairs) else order  # each pair's first
    return hashes[first], responses[first]


class SelfRepetitionScore(Metric):
    """Mean over responses of log(1 + occurrences of the response's n-grams in other
    responses), as the ``diversity`` package defines it. Key ``self_repetition_score``."""

    name = "self_repetition_score"
    higher_is_better = False
    version = "2"  # 2: tokenize "auto" is the package's split; CJK text refused
    description = "Mean log(1 + reuses of each response's n-grams by other responses) (diversity package)"

    def __init__(self, n: int = 4, tokenize: str = "auto") -> None:
        self.n = positive_int("n", n)
        self.tokenize = checked_tokenize(tokenize)

    def state(self) -> SelfRepetitionState:
        return SelfRepetitionState(self.n, self.tokenize)


class SelfRepetitionState(MetricState):
    """Pass 0: responses per n-gram hash. Pass 1: the sum of the responses' terms and their count."""

    passes = 2

    def __init__(self, n: int, tokenize: str = "auto") -> None:
        super().__init__()
        self.n, self.tokenize = n, tokenize
        self.holders = HashCounter()
        self.total = 0.0
        self.responses = 0
        self.untokenizable = 0  # pass 0: responses a whitespace split cannot tokenize (CJK)
        self.seen = 0  # pass 0: responses

    def add(self, samples: Responses, pass_: int = 0) -> None:
        texts = response_texts(samples)
        hashes, responses = distinct_ngrams_per_response(texts, self.n, self.tokenize)
        if pass_ == 0:
            self.holders.update(hashes)
            self.seen += len(texts)
            if self.tokenize in WHITESPACE_SPLITS:
                self.untokenizable += untokenizable(texts)
            return
        others = self.holders.lookup(hashes) - 1  # each distinct n-gram's holders besides this response
        reuse = np.bincount(responses, weights=others, minlength=len(texts))
        self.total += math.fsum(np.log(reuse + 1.0))
        self.responses += len(texts)

    def merge(self, other: MetricState) -> None:
        assert isinstance(other, SelfRepetitionState)
        if self.current_pass == 0:
            self.holders.merge(other.holders)
            self.seen += other.seen
            self.untokenizable += other.untokenizable
        else:  # the pass-0 counts are the same frozen copy in both: add only pass-1 sums
            self.total += other.total
            self.responses += other.responses

    def result(self) -> dict[str, float]:
        refuse("self_repetition_score", self.untokenizable, self.seen)
        return {"self_repetition_score": self.total / self.responses} if self.responses else {}

"""``ead``: Expectation-Adjusted Distinct-n (Liu et al. 2022, "Rethinking and Refining the
Distinct Metric", ACL).

For each order n, over all responses together (n-grams inside each response, as ``distinct``)::

    ead_n = N / (V * (1 - ((V - 1) / V) ** C))

with N the distinct n-grams, C all n-grams, and V the vocabulary size: the denominator is the
number of distinct n-grams expected when C tokens are drawn uniformly from V, so, unlike
distinct-n, EAD does not fall just because responses get longer. ``ead_avg`` is the mean over
the orders (Kirk et al. 2024 report this average over n = 1..5). No n-gram of an order: 0.0,
as in Kirk et al.'s implementation.

**Range.** EAD is not a share in 0..1. Its denominator, the expected number of distinct items
among C draws, is at most V: the paper draws from V (the vocabulary), not from the V^n
possible n-grams. While C is small next to V the expectation is nearly C and EAD stays near or
below 1; once a corpus has more n-grams than V, distinct n-grams of order 2 and up (nearly
one per n-gram in varied text) outnumber it and EAD passes 1 and keeps growing with the
corpus: on the 805 alpaca_eval answers, alpaca-7b has ``ead_5`` 1.63 and gpt4_1106_preview
6.11 (0.9 to 1.2 on 50 answers of each). Compare runs of a similar size, not values against 1.
``eval`` prints this under its metrics table (:meth:`Ead.note`).

V (``vocab_size``): by default the tokenizer's vocabulary where rewardhub knows it (``hf:``
tokenizers: ``len(tokenizer)``, added tokens included; the EAD authors' rule for pretrained
models), else 50,257, the default of Kirk et al.'s EAD (facebookresearch rlfh-gen-div), so word
tokenizers (the default ``auto``) give numbers comparable with theirs. Pass ``vocab_size`` to
match another paper. The denominator is evaluated as ``-V * expm1(C * log1p(-1/V))``, the same
value as the paper's formula without its cancellation for large V.

The mergeable state holds one set of 64-bit n-gram hashes per order and the n-gram counts:
any chunking and merge order gives the same values. Tested in ``tests/test_metrics_ead.py``,
``tests/test_metrics_new_states.py`` (chunked, pickled, merged) and ``tests/test_metric_notes.py``
(the note).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rewardhub.metrics.base import NgramMetric, positive_int
from rewardhub.metrics.distinct import DistinctState
from rewardhub.metrics.ngrams import as_orders
from rewardhub.text import get_tokenizer

#: Kirk et al.'s default vocabulary size (GPT-2's BPE), used when the tokenizer has none.
DEFAULT_VOCAB_SIZE = 50257
EAD_ORDERS = (1, 2, 3, 4, 5)


def expected_distinct(total: int, vocab_size: int) -> float:
    """The expected number of distinct items among ``total`` uniform draws from ``vocab_size``."""
    if total == 0:
        return 0.0
    if vocab_size == 1:
        return 1.0
    return -vocab_size * math.expm1(total * math.log1p(-1.0 / vocab_size))


def ead_value(distinct: int, total: int, vocab_size: int) -> float:
    """``distinct / expected_distinct(total, vocab_size)``; 0.0 without any n-gram."""
    return distinct / expected_distinct(total, vocab_size) if total else 0.0


def tokenizer_vocab_size(tokenize: str) -> int | None:
    """The vocabulary size of the tokenizer ``tokenize`` where it has one (``hf:`` ones)."""
    if not tokenize.startswith("hf:"):
        return None
    split = get_tokenizer(tokenize)
    split = getattr(split, "split", split)  # the memo's wrapped function
    owner = getattr(split, "__self__", None)  # the bound ``tokenize`` method of the HF tokenizer
    return len(owner) if owner is not None else None


class Ead(NgramMetric):
    """Expectation-adjusted distinct-n for each order in ``n`` (default 1..5): keys
    ``ead_<n>`` and ``ead_avg``. Higher is more diverse. ``vocab_size``: see the module doc."""

    name = "ead"
    higher_is_better = True
    version = "1"
    description = "Expectation-adjusted distinct-n (Liu et al. 2022): distinct n-grams / their expectation"

    def __init__(
        self, n: int | Sequence[int] = EAD_ORDERS, vocab_size: int | None = None, tokenize: str = "auto"
    ) -> None:
        super().__init__(tokenize)
        self.orders = as_orders(n)
        self._vocab_size = None if vocab_size is None else positive_int("vocab_size", vocab_size)

    @property
    def vocab_size(self) -> int:
        """V: the ``vocab_size`` arg, else the tokenizer's vocabulary, else :data:`DEFAULT_VOCAB_SIZE`."""
        if self._vocab_size is None:
            self._vocab_size = tokenizer_vocab_size(self.tokenize) or DEFAULT_VOCAB_SIZE
        return self._vocab_size

    def state(self) -> EadState:
        return EadState(self)

    def note(self) -> str:
        """What range to expect, and why (see the module doc)."""
        return (
            f"distinct n-grams / those expected from as many uniform draws of V = {self.vocab_size:,} "
            "types (V, not V^n, as Liu et al. define it), so not bounded by 1: past V n-grams, "
            "ead_2..ead_5 exceed 1 and grow with the corpus (alpaca_eval, 805 answers: ead_5 1.6 "
            "to 6.1); compare runs of a similar size"
        )


class EadState(DistinctState):
    """distinct's state (per order, the distinct n-gram hashes and the number of n-grams, from
    the chunk's shared hashed n-grams), read as EAD."""

    def result(self) -> dict[str, float]:
        vocab = self.metric.vocab_size
        values = {f"ead_{k}": ead_value(self.distinct(k), self.totals[k], vocab) for k in self.metric.orders}
        values["ead_avg"] = sum(values.values()) / len(values)
        return values

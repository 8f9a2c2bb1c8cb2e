"""Corpus metrics recomputed on thousands of bootstrap resamples in seconds.

A resample is a weight per *unit* (a prompt when paired, a sample when not; see
:mod:`rewardhub.compare.stats`). Each metric is reduced once to per-unit sufficient statistics,
after which a resample costs a few dot products:

- :class:`UnitMeans`: a mean over responses (``distinct_avg``, ``seq_rep``, per-group metrics,
  rewards): ``sum_u w_u S_u / sum_u w_u n_u``. Exact.
- :class:`TypeCounts`: distinct-n and n-gram entropy (and ``duplicate_share``, whose "types"
  are whole responses), from the side's hashed n-grams (one
  :class:`~rewardhub.metrics.hashed.HashedChunk`, the representation every metric state folds),
  resampled by half-samples (why: :mod:`rewardhub.compare.stats`).
  An n-gram held by one unit only contributes through that unit's weight (closed forms
  below); the n-grams that several units share form a sparse ``shared n-grams x units`` count
  matrix, and the corpus counts of a resample are one sparse product with the weights. Exact:
  with all weights 1 it equals ``metric.compute``.
- Self-BLEU: each response's BLEU against all the other responses of its side is computed
  once (exactly, :func:`~rewardhub.metrics.self_bleu_scores`) and a resample averages those
  scores with its weights. This resamples the hypotheses, not the references (recomputing
  every hypothesis against a resampled reference set is the O(resamples x corpus) cost this
  module avoids): an approximation, stated in the table, the report and the README.

Metrics with no such reduction (a third-party metric, ``semantic_diversity``) get their value on
each side and the delta, and no interval, with the reason. Tested in
``tests/test_compare_corpus.py`` against ``metric.compute`` on explicit resamples.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Most entries of a dense (shared n-grams x resamples) block held at once.
BLOCK_ENTRIES = 4_000_000

SELF_BLEU_NOTE = "self-BLEU interval: hypotheses resampled, references fixed to each side's full set"


class UnitMeans:
    """A weighted mean of per-response ``values`` (NaN: missing) under unit weights."""

    def __init__(self, values: np.ndarray, unit_of: np.ndarray, units: int, weights: np.ndarray | None = None):
        values = np.asarray(values, dtype=np.float64)
        present = np.isfinite(values)
        weights = np.ones(len(values)) if weights is None else np.asarray(weights, dtype=np.float64)
        self.sums = np.bincount(unit_of[present], weights=(values * weights)[present], minlength=units)
        self.counts = np.bincount(unit_of[present], weights=weights[present], minlength=units)

    def evaluate(self, w: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.sums @ w) / (self.counts @ w)


def _xlogx(x: np.ndarray) -> np.ndarray:
    return x * np.log(np.where(x > 0, x, 1.0))


class TypeCounts:
    """Occurrences of types (n-gram ids, or response ids) by unit: distinct share and entropy of
    the corpus a unit weighting describes.

    For a type held by one unit ``u`` with count ``c``, a resample's count is ``w_u c``, so the
    unit's exclusive types add ``[w_u > 0] * types_u`` to the distinct count and
    ``w_u log(w_u) * count_u + w_u * sum(c log c)`` to ``sum_g c_g log c_g``.
    """

    def __init__(self, types: np.ndarray, unit_of: np.ndarray, units: int):
        import pandas as pd
        from scipy import sparse

        if types.dtype == np.uint64:  # 64-bit hashes: numbered 0..distinct-1 for the pair keys
            types = pd.factorize(types, sort=False)[0]
        #: whether :meth:`evaluate` computes the entropy too (its logarithms are the costly part)
        self.entropy = False
        self._table = np.zeros(1)  # c log c for c = 0, 1, 2, ...: counts under integer weights
        self.total = np.bincount(unit_of, minlength=units).astype(np.float64)
        codes, pairs = pd.factorize(types.astype(np.int64) * units + unit_of, sort=False)
        counts = np.bincount(codes, minlength=len(pairs)).astype(np.float64)
        pair_type, pair_unit = pairs // units, pairs % units
        holders = np.bincount(pair_type)[pair_type]
        alone = holders == 1
        self.alone_types = np.bincount(pair_unit[alone], minlength=units).astype(np.float64)
        self.alone_count = np.bincount(pair_unit[alone], weights=counts[alone], minlength=units)
        self.alone_clogc = np.bincount(pair_unit[alone], weights=_xlogx(counts[alone]), minlength=units)
        rows, _ = pd.factorize(pair_type[~alone], sort=False)
        self.shared = sparse.csr_matrix(
            (counts[~alone], (rows, pair_unit[~alone])), shape=(int(rows.max()) + 1 if len(rows) else 0, units)
        )

    def _sum_xlogx(self, block: np.ndarray, whole: bool) -> np.ndarray:
        """Column sums of ``c log c``; a table look-up when the counts are whole numbers (they are
        under resampling weights), cheaper than taking the logarithms."""
        top = float(block.max()) if block.size else 0.0
        if not whole or top >= 1 << 24:
            return _xlogx(block).sum(axis=0)
        if len(self._table) <= top:
            c = np.arange(int(top) + 1, dtype=np.float64)
            self._table = _xlogx(c)
        return self._table[block.astype(np.intp)].sum(axis=0)

    def evaluate(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(distinct share, entropy in nats)`` for each column of unit weights ``w`` (entropy
        NaN unless :attr:`entropy` is set)."""
        n = self.total @ w
        unique = self.alone_types @ (w > 0)
        clogc = self.alone_count @ _xlogx(w) + self.alone_clogc @ w if self.entropy else np.full(w.shape[1], np.nan)
        step = max(1, BLOCK_ENTRIES // max(self.shared.shape[0], 1))
        whole = self.entropy and bool(np.array_equal(w, np.floor(w)))
        for start in range(0, w.shape[1], step):
            block = np.asarray(self.shared @ w[:, start : start + step])
            unique[start : start + step] += np.count_nonzero(block, axis=0)
            if self.entropy:
                clogc[start : start + step] += self._sum_xlogx(block, whole)
        with np.errstate(invalid="ignore", divide="ignore"):
            distinct = np.where(n > 0, unique / np.where(n > 0, n, 1), 0.0)
            entropy = np.where(n > 0, np.log(np.where(n > 0, n, 1)) - clogc / np.where(n > 0, n, 1), 0.0)
        return distinct, np.maximum(entropy, 0.0)


@dataclass
class SideCorpus:
    """One side's samples, their units, and the resampled value of every metric key asked for."""

    samples: Sequence[Any]
    unit_of: np.ndarray
    units: int
    #: key -> function of (unit weights (units x k), memo shared within one evaluation) -> values (k,)
    statistics: dict[str, Callable[[np.ndarray, dict], np.ndarray]] = field(default_factory=dict)
    #: key -> value, for metrics without a resampling path
    fixed: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    #: keys resampled by half-samples, not the bootstrap (type counts: see compare.stats)
    half: set[str] = field(default_factory=set)
    #: what several keys share (one TypeCounts per n-gram order serves distinct-k and ent-k)
    built: dict[Any, Any] = field(default_factory=dict)

    def evaluate(self, w: np.ndarray, half: bool | None = None) -> dict[str, np.ndarray]:
        """The value of every key (``half``: only the half-sampled keys, or only the others)
        under each column of unit weights ``w``; a result shared by several keys (one sparse
        product gives both distinct-k and ent-k) is computed once."""
        memo: dict[Any, Any] = {}
        return {key: fn(w, memo) for key, fn in self.statistics.items() if half is None or (key in self.half) == half}

    def shared(self, token: Any, build: Callable[[], Any]) -> Any:
        if token not in self.built:
            self.built[token] = build()
        return self.built[token]


def means_statistic(means: UnitMeans) -> Callable[[np.ndarray, dict], np.ndarray]:
    return lambda w, memo: means.evaluate(w)


def _type_stat(counts: TypeCounts, token: Any, position: int) -> Callable[[np.ndarray, dict], np.ndarray]:
    def evaluate(w: np.ndarray, memo: dict) -> np.ndarray:
        if token not in memo:
            memo[token] = counts.evaluate(w)
        return memo[token][position]

    return evaluate


def add_metric(side: SideCorpus, key_prefix: str, metric: Any) -> bool:
    """Register ``metric``'s keys on ``side`` with a resampling path; False if it has none."""
    from rewardhub.metrics import Distinct, DistinctAverage, NgramEntropy, Repetition, SelfBleu
    from rewardhub.metrics.distinct import distinct_per_response
    from rewardhub.metrics.repetition import seq_rep

    kind = type(metric)
    if kind not in (Distinct, DistinctAverage, NgramEntropy, Repetition, SelfBleu):
        return False
    # the side as one hashed chunk per tokenizer (the representation every state folds),
    # shared by every n-gram metric of the side
    chunk = side.shared(("chunk", metric.tokenize), lambda: metric.hashed(side.samples))
    unit_of = side.unit_of
    if kind in (Distinct, NgramEntropy):
        position = 0 if kind is Distinct else 1
        name = "distinct" if kind is Distinct else "ent"
        for k in metric.orders:
            token = ("ngrams", metric.tokenize, k)
            counts = side.shared(token, lambda k=k: _ngram_types(chunk, k, unit_of, side.units))
            counts.entropy = counts.entropy or kind is NgramEntropy
            side.statistics[f"{key_prefix}{name}_{k}"] = _type_stat(counts, token, position)
            side.half.add(f"{key_prefix}{name}_{k}")
    elif kind is DistinctAverage:
        for k in metric.orders:
            means = UnitMeans(distinct_per_response(chunk, k), unit_of, side.units)
            side.statistics[f"{key_prefix}distinct_avg_{k}"] = means_statistic(means)
    elif kind is Repetition:
        for k in metric.orders:
            means = UnitMeans(seq_rep(chunk, k), unit_of, side.units)
            side.statistics[f"{key_prefix}seq_rep_{k}"] = means_statistic(means)
        unique = _type_stat(TypeCounts(chunk.text_hashes, unit_of, side.units), ("responses",), 0)
        side.statistics[f"{key_prefix}duplicate_share"] = lambda w, memo: 1.0 - unique(w, memo)
        side.half.add(f"{key_prefix}duplicate_share")
    else:  # SelfBleu
        from rewardhub.metrics import self_bleu_scores

        if chunk.size < 2:
            return False
        for k, scores in self_bleu_scores(chunk, metric.orders).items():
            side.statistics[f"{key_prefix}self_bleu_{k}"] = means_statistic(UnitMeans(scores, unit_of, side.units))
            side.notes[f"{key_prefix}self_bleu_{k}"] = SELF_BLEU_NOTE
    return True


def _ngram_types(chunk: Any, k: int, unit_of: np.ndarray, units: int) -> TypeCounts:
    hashes, responses = chunk.grams(k)
    return TypeCounts(hashes, unit_of[responses], units)

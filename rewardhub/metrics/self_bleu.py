"""Self-BLEU (Zhu et al. 2018, Texygen), exact to NLTK and without the O(N^2) loop.

Texygen's definition: every response is a hypothesis scored against *all the other*
responses as references with NLTK's ``sentence_bleu(others, hyp, weights=(1/n,)*n,
smoothing_function=SmoothingFunction().method1)``; self-BLEU-n is the mean over hypotheses.
Higher means more alike, lower more diverse.

Scoring one hypothesis needs, for each n-gram order ``k``:

- the clipped matches: for every n-gram of the hypothesis, ``min(count in hyp, max count in
  any other response)``. Counting every (n-gram, response) pair once and keeping, per n-gram,
  the largest count, how many responses hold it and the largest count below it, makes "the
  largest count among the others" an O(1) look-up;
- the closest reference length (NLTK: the other response minimising ``(|len - hyp_len|,
  len)``): a binary search in the sorted lengths, leaving out one copy of the hypothesis'
  own length.

So the whole corpus costs a few linear passes per order instead of N sentence_bleu calls over
N - 1 references each. NLTK's corner cases are kept: a hypothesis with no unigram match scores
0 (an empty one too), an order with no match (also when the hypothesis is shorter than that
order: NLTK's denominator is then ``max(1, 0) = 1``) counts ``0.1 / denominator``, and the
brevity penalty is ``exp(1 - r / h)`` when ``h <= r``.

As a mergeable state it takes two passes (:class:`SelfBleuState`): pass 0 folds every
chunk's (n-gram, response) counts into the n-gram tables of orders 1..n
(:class:`~rewardhub.metrics.ngram_tables.NgramTables`, shared in a run with distinct, EAD and
entropy: 8 bytes per n-gram seen once, 20 more for the others' top count, holders and next
count) and a histogram of response lengths. Between the passes the tables are frozen into
look-up tables of the n-grams another response shares (the rest can match nothing), with a
1 MB bitmap of their hash prefixes, so pass 1 counts (n-gram, response) pairs only for the
n-grams that may match. Pass 1 scores each hypothesis of each chunk against those tables
and keeps its score (8 bytes per hypothesis and order: what sampling hypotheses needs, and
what makes the mean the same bits as scoring the whole set at once).
:func:`self_bleu_scores` runs the same arithmetic over one chunk. Tested in
``tests/test_metrics_self_bleu.py`` (against NLTK) and ``tests/test_ngram_states_oracle.py``
(the state fed in chunks, against NLTK and the dense-id oracle).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from rewardhub.lazy import np
from rewardhub.metrics.base import NgramMetric, NgramState
from rewardhub.metrics.hash_sets import TopCounts, run_starts
from rewardhub.metrics.hashed import HashedChunk, count_pairs, grow
from rewardhub.metrics.ngram_tables import NgramTables
from rewardhub.metrics.ngrams import as_orders

#: The orders self-BLEU is offered for (Texygen reports 2..5).
SELF_BLEU_ORDERS = range(2, 6)
#: ``SmoothingFunction().method1``'s epsilon.
EPSILON = 0.1


def clipped_matches(
    chunk: HashedChunk, k: int, table: TopCounts | None = None, keep: np.ndarray | None = None
) -> np.ndarray:
    """For each response of ``chunk`` as hypothesis: its n-gram matches of order ``k`` against
    all the other responses (of the whole set ``table`` was folded from; by default the chunk
    itself), clipped as BLEU clips them (the numerator of NLTK's modified precision).

    ``keep`` (a boolean mask over the chunk's responses, without ``table``): the responses kept
    are the whole set, hypotheses and references both; one value per kept response, in order
    (what ``compare``'s leave-out recomputations need: the chunk is counted once, then each
    subset only filters its rows)."""
    if table is None:  # the chunk is the whole set: its own rows give every n-gram's statistics
        return _own_matches(chunk, k, keep)
    if keep is not None:
        raise ValueError("keep= selects a subset of the chunk itself; with a table the references are the table's")
    if table.pruned:  # count only the n-grams another response may share (the second pass)
        hashes, responses = chunk.grams(k)
        maybe = table.candidates(hashes)
        hashes, responses, counts = count_pairs(hashes[maybe], responses[maybe], chunk.size)
    else:
        hashes, responses, counts = chunk.counts_per_response(k)
    top, holders, below = table.lookup(hashes)  # sorted hashes: a merge-like binary search
    return _clipped(responses, counts, top, holders, below, chunk.size)


def _clipped(
    responses: np.ndarray, counts: np.ndarray, top: np.ndarray, holders: np.ndarray, below: np.ndarray, size: int
) -> np.ndarray:
    # the largest count among the *other* responses: the top one, unless this response is its
    # only holder, in which case the largest count below it (0 if nobody else has the n-gram)
    best_other = np.where((counts == top) & (holders == 1), below, top)
    return np.bincount(responses, weights=np.minimum(counts, best_other), minlength=size)


def _own_matches(chunk: HashedChunk, k: int, keep: np.ndarray | None = None) -> np.ndarray:
    """:func:`clipped_matches` of a chunk that is the whole set (or of its responses ``keep``),
    from its (n-gram, response) rows alone: only the n-grams of two or more responses can
    match, and their statistics are reductions over their runs of rows (the same integers as
    the tables, so the same bits)."""
    hashes, responses, counts = chunk.shared_pairs(k)  # sorted by hash: runs of equal hashes
    size = chunk.size
    if keep is not None:
        keep = np.asarray(keep, dtype=bool)
        inside = keep[responses]
        index = np.cumsum(keep) - 1  # a kept response's position among the kept ones
        hashes, responses, counts = hashes[inside], index[responses[inside]], counts[inside]
        size = int(keep.sum())
    starts = run_starts(hashes)
    lengths = np.diff(np.r_[starts, len(hashes)])
    shared = np.repeat(lengths > 1, lengths)
    responses, counts, lengths = responses[shared], counts[shared], lengths[lengths > 1]
    if not len(counts):
        return np.zeros(size)
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    top = np.maximum.reduceat(counts, starts)
    at_top = counts == np.repeat(top, lengths)
    holders = np.add.reduceat(at_top.astype(np.int32), starts)
    below = np.maximum.reduceat(np.where(at_top, 0, counts), starts)
    spread = [np.repeat(v, lengths) for v in (top, holders, below)]
    return _clipped(responses, counts, *spread, size)


def closest_other_length(lengths: np.ndarray, histogram: np.ndarray | None = None) -> np.ndarray:
    """NLTK's ``closest_ref_length`` for each response against the lengths of all the others:
    the nearest length, the shorter one on a tie. Needs at least two responses. ``histogram``
    (how many responses have each length) defaults to the one of ``lengths``."""
    if histogram is None:
        histogram = np.bincount(lengths)
    present = np.flatnonzero(histogram)
    lo = np.searchsorted(present, lengths, side="left")
    hi = np.searchsorted(present, lengths, side="right")
    last = len(present) - 1
    below = present[np.maximum(lo - 1, 0)]
    above = present[np.minimum(hi, last)]
    gap_below = np.where(lo > 0, lengths - below, np.iinfo(np.int64).max)
    gap_above = np.where(hi <= last, above - lengths, np.iinfo(np.int64).max)
    nearest = np.where(gap_below <= gap_above, below, above)
    return np.where(histogram[lengths] >= 2, lengths, nearest)  # another response has the same length


def self_bleu_scores(
    token_lists: Sequence[Sequence[str]] | HashedChunk, n: int | Iterable[int] = 4, keep: np.ndarray | None = None
) -> dict[int, np.ndarray]:
    """Each response's BLEU-n against all the others, for every order in ``n``: what
    :class:`SelfBleuState`'s two passes compute, over one chunk (the same bits).

    Equal (to float rounding) to ``sentence_bleu(others, hyp, (1/n,)*n, method1)`` per
    response. Needs at least two responses. ``keep``: a boolean mask over the responses; the
    set is then the responses kept (as hypotheses and as references), one score per kept
    response, the same bits as ``self_bleu_scores`` of the kept token lists alone.
    """
    chunk = token_lists if isinstance(token_lists, HashedChunk) else HashedChunk(token_lists)
    orders = as_orders(n)
    if keep is not None:
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != (chunk.size,):
            raise ValueError(f"keep must be a boolean mask of the {chunk.size} responses, got shape {keep.shape}")
    lengths = chunk.lengths if keep is None else chunk.lengths[keep]
    if len(lengths) < 2:
        raise ValueError(f"self-BLEU needs at least two responses, got {len(lengths)}")
    matches = {k: clipped_matches(chunk, k, keep=keep) for k in range(1, max(orders) + 1)}
    return bleu_scores(lengths, closest_other_length(lengths), matches, orders)


def bleu_scores(
    hyp: np.ndarray, ref: np.ndarray, matches: dict[int, np.ndarray], orders: tuple[int, ...]
) -> dict[int, np.ndarray]:
    """NLTK's ``sentence_bleu`` (uniform weights, method1) of each hypothesis, from its length
    ``hyp``, its closest reference length ``ref`` and its clipped matches of each order."""
    safe_hyp = np.maximum(hyp, 1)
    brevity = np.where(hyp > ref, 1.0, np.exp(1.0 - ref / safe_hyp))
    log_precision = {}
    for k, numerator in matches.items():
        denominator = np.maximum(hyp - k + 1, 1)
        log_precision[k] = np.log(np.where(numerator > 0, numerator, EPSILON) / denominator)
    scores = {}
    for order in orders:
        weight = 1.0 / order
        log_mean = sum(weight * log_precision[k] for k in range(1, order + 1))
        scores[order] = np.where(matches[1] > 0, brevity * np.exp(log_mean), 0.0)
    return scores


class SelfBleu(NgramMetric):
    """Self-BLEU-n as Texygen defines it (NLTK, uniform weights, method1 smoothing), exact and
    fast. Lower is more diverse.

    ``n``: one order or several, in 2..5 (keys ``self_bleu_<n>``). Every response is a
    hypothesis by default; ``sample=K`` scores only K hypotheses drawn with ``seed`` (the
    references are always all the other responses). Fewer than two responses: NaN, since
    there is nothing to compare with (:func:`rewardhub.compute_metrics` drops it).
    """

    name = "self_bleu"
    higher_is_better = False
    version = "1"
    description = "Self-BLEU-n (Texygen/NLTK definition, exact): how alike the responses are"

    def __init__(self, n: int | Sequence[int] = 4, sample: int | None = None, seed: int = 0, tokenize: str = "auto"):
        super().__init__(tokenize)
        self.orders = as_orders(n, SELF_BLEU_ORDERS)
        if sample is not None and sample < 1:
            raise ValueError(f"sample must be a positive number of hypotheses, got {sample}")
        self.sample, self.seed = sample, seed

    def state(self) -> SelfBleuState:
        return SelfBleuState(self)


class SelfBleuState(NgramState):
    """Two passes (see the module doc): n-gram top counts and lengths, then each hypothesis."""

    passes = 2

    def __init__(self, metric: SelfBleu):
        super().__init__(metric)
        self.orders = metric.orders
        #: pass 0: the n-gram tables (shared in a run); pass 1: ``tables``, what can match
        self.ngrams: NgramTables | None = NgramTables()
        self.ngrams.need(range(1, max(self.orders) + 1), top=True)
        self.tables: dict[int, TopCounts] = {}
        self.lengths = np.zeros(0, dtype=np.int64)  # histogram: responses of each length
        self.scores: dict[int, list[np.ndarray]] = {k: [] for k in self.orders}

    def fold(self, chunk: HashedChunk, pass_: int) -> None:
        if pass_ == 0:
            assert self.ngrams is not None
            self.ngrams.fold(chunk)
            self._add_lengths(np.bincount(chunk.lengths))
            return
        matches = {k: clipped_matches(chunk, k, table) for k, table in self.tables.items()}
        ref = closest_other_length(chunk.lengths, self.lengths) if self.count >= 2 else chunk.lengths
        for k, values in bleu_scores(chunk.lengths, ref, matches, self.orders).items():
            self.scores[k].append(values)

    def _add_lengths(self, histogram: np.ndarray) -> None:
        size = max(len(self.lengths), len(histogram))
        self.lengths = grow(self.lengths, size) + grow(histogram, size)

    @property
    def count(self) -> int:
        return int(self.lengths.sum())

    def merge(self, other: SelfBleuState) -> None:
        if self.current_pass == 0:
            assert self.ngrams is not None and other.ngrams is not None
            self.ngrams.merge(other.ngrams)
            self._add_lengths(other.lengths)
        else:  # pass 1: the tables are the same frozen copy; only the scores add up
            for k in self.orders:
                self.scores[k].extend(other.scores[k])

    def split_pass(self) -> SelfBleuState:
        light = SelfBleuState.__new__(SelfBleuState)
        light.__dict__.update(self.__dict__)
        light.tables, light.ngrams = {}, None
        light.scores, self.scores = self.scores, {k: [] for k in self.orders}
        return light

    def start_pass(self, pass_: int) -> None:
        super().start_pass(pass_)
        if self.ngrams is not None:  # frozen from now on: keep only what can match
            self.tables = {k: self.ngrams.top_counts(k) for k in range(1, max(self.orders) + 1)}
            self.ngrams = None  # (the other metrics sharing them keep theirs)

    def result(self) -> dict[str, float]:
        size = self.count
        if size < 2:
            return {f"self_bleu_{k}": math.nan for k in self.orders}
        chosen = slice(None)
        sample = self.metric.sample  # type: ignore[attr-defined]
        if sample is not None and sample < size:
            chosen = np.random.default_rng(self.metric.seed).choice(size, sample, replace=False)  # type: ignore[attr-defined]
        return {f"self_bleu_{k}": float(np.mean(np.concatenate(self.scores[k])[chosen])) for k in self.orders}

"""Mean n-gram Jaccard distance of each response to the others of its group, fast and exact.

For responses with sets of distinct n-grams ``A_1..A_N``, the value of response ``i`` is
``sum_{j != i} d(A_i, A_j) / (N - 1)`` with ``d(A, B) = 1 - |A & B| / |A | B|`` (two empty
sets: 0), the definition ``diversity_bonus`` has always had. Computing every pair with Python
sets is quadratic in Python operations (2,000 answers took 10.8 s, 4,000 took 41.8 s); here:

- the n-grams are exact integer ids (as :class:`~rewardhub.metrics.ngrams.NgramCorpus` makes
  them: nothing hashed), and the incidence matrix ``M`` (response x distinct n-gram) is sparse;
- every intersection size ``|A_i & A_j|`` is an entry of ``M M^T``: n-grams that only one
  response has add nothing and are left out; n-grams many responses share (at least
  :data:`DENSE_SHARE` of them) go through a dense float32 product (BLAS; exact, since every
  partial sum is an integer below 2**24), the rest through a sparse product (scipy);
- ``|A | B| = |A| + |B| - |A & B|``, and each row of distances is formed and summed exactly as
  the pairwise definition does it (the same float64 operations, the same ``sum`` along a row of
  N values), in blocks of rows, so the values are the same bits and memory stays bounded.

Small groups (under :data:`PAIRWISE_WORK`) go pair by pair with Python sets, which is faster there.

4,000 alpaca_eval answers in one group: about 1 s (``benchmarks/README_diversity_bonus.md``).
Property-tested against the pairwise definition in ``tests/test_diversity_bonus_fast.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain, combinations, count

from rewardhub.lazy import np
from rewardhub.metrics.ngrams import ngram_list

#: An n-gram that at least this share of the group's responses have goes through the dense product.
DENSE_SHARE = 1 / 20
#: The most distance values held at once (32 MiB of float64).
BLOCK_ELEMENTS = 1 << 22
#: Below this much work (pairs x mean tokens per response), a group goes pair by pair with
#: Python sets: the products' fixed cost (about 1.5 ms) is more than the sets take there.
PAIRWISE_WORK = 50_000


def mean_jaccard_distances(token_lists: Sequence[Sequence[str]], n: int, block_elements: int = BLOCK_ELEMENTS):
    """For each of the N >= 2 token lists, the mean Jaccard distance of its set of n-grams of
    order ``n`` to those of the other lists (float64 array of N)."""
    size = len(token_lists)
    if size < 2:
        raise ValueError(f"{size} token list(s): the mean distance to the others needs at least two")
    work = size * (size - 1) // 2 * (sum(map(len, token_lists)) / size)
    if work < PAIRWISE_WORK:
        return pairwise_mean_distances(token_lists, n)
    incidence = _incidence(token_lists, n)
    set_sizes = np.diff(incidence.indptr).astype(np.float64)
    shared = _shared_columns(incidence, exact32=set_sizes.max() < 1 << 24)
    empty = np.flatnonzero(set_sizes == 0)
    out = np.empty(size, dtype=np.float64)
    step = max(1, block_elements // size)
    for start in range(0, size, step):
        stop = min(size, start + step)
        common = shared.intersections(start, stop).astype(np.float64)  # |A_i & A_j|, (stop - start) x N
        union = np.add.outer(set_sizes[start:stop], set_sizes)
        union -= common
        both_empty = empty[(empty >= start) & (empty < stop)] - start
        if len(both_empty):  # two empty sets: 1 - 1/1 = 0, as the definition says
            common[np.ix_(both_empty, empty)] = union[np.ix_(both_empty, empty)] = 1.0
        np.divide(common, union, out=common)
        distance = np.subtract(1.0, common, out=common)
        rows = np.arange(stop - start)
        distance[rows, start + rows] = 0.0  # not compared with itself
        out[start:stop] = distance.sum(axis=1)
    return out / (size - 1)


def pairwise_mean_distances(token_lists: Sequence[Sequence[str]], n: int):
    """:func:`mean_jaccard_distances` pair by pair with Python sets (the definition; faster
    than the products on a small group: a GRPO group of 8 short answers)."""
    grams = [set(ngram_list(tokens, n)) for tokens in token_lists]
    distance = np.zeros((len(grams), len(grams)))
    for i, j in combinations(range(len(grams)), 2):
        a, b = grams[i], grams[j]
        union = len(a | b)
        distance[i, j] = distance[j, i] = 1.0 - len(a & b) / union if union else 0.0
    return distance.sum(axis=1) / (len(grams) - 1)


def _incidence(token_lists: Sequence[Sequence[str]], n: int):
    """The 0/1 matrix (response x distinct n-gram of order ``n``), CSR."""
    from scipy import sparse

    ids, responses = gram_ids(token_lists, n)
    width = int(ids.max()) + 1 if len(ids) else 0
    ones = np.ones(len(ids), dtype=np.float32)
    matrix = sparse.csr_matrix((ones, (responses, ids)), shape=(len(token_lists), width))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0  # a set: an n-gram counts once per response
    return matrix


def gram_ids(token_lists: Sequence[Sequence[str]], n: int):
    """``(ids, responses)``: an exact integer id (equal ids for equal n-grams, nothing hashed)
    for every n-gram of order ``n`` inside each token list, and the list it comes from; the
    ids of :class:`~rewardhub.metrics.ngrams.NgramCorpus`, built from a dict of the tokens,
    which is faster for one group (one pass in C over the tokens)."""
    import pandas as pd  # on use: a run without this reward never imports pandas

    lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    total = int(lengths.sum())
    first_seen: dict[str, int] = {}  # token -> where it first occurs: an id below ``total``
    tokens = np.fromiter(
        map(first_seen.setdefault, chain.from_iterable(token_lists), count()), dtype=np.int64, count=total
    )
    ids = tokens
    for k in range(2, n + 1):  # order k from ids of order k - 1 below total: no overflow
        prefix = ids[:-1] if k == 2 else pd.factorize(ids[:-1], sort=False)[0].astype(np.int64)
        ids = prefix * (total + 1) + tokens[k - 1 :]
    ends = np.cumsum(lengths)
    responses = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)[: len(ids)]
    inside = np.arange(len(ids), dtype=np.int64) + n <= ends[responses]
    ids, responses = ids[inside], responses[inside]
    return pd.factorize(ids, sort=False)[0].astype(np.int64), responses


class _SharedColumns:
    """The n-grams at least two responses have, split into a dense block (the frequent ones)
    and a sparse one, ready for row blocks of ``M M^T``. In float32 where every intersection
    size is below 2**24 (``exact32``: each partial sum is then an exact integer), else float64."""

    def __init__(self, incidence, dense_min: int, exact32: bool):
        dtype = np.float32 if exact32 else np.float64
        frequency = np.bincount(incidence.indices, minlength=incidence.shape[1])
        frequent = np.flatnonzero(frequency >= dense_min)
        rare = np.flatnonzero((frequency >= 2) & (frequency < dense_min))
        self.dense = incidence[:, frequent].toarray().astype(dtype, copy=False) if len(frequent) else None
        self.sparse = incidence[:, rare].astype(dtype).tocsr() if len(rare) else None
        self.sparse_t = self.sparse.T.tocsr() if self.sparse is not None else None
        self.size, self.dtype = incidence.shape[0], dtype

    def intersections(self, start: int, stop: int):
        if self.dense is not None:
            common = self.dense[start:stop] @ self.dense.T
        else:
            common = np.zeros((stop - start, self.size), dtype=self.dtype)
        if self.sparse is not None:
            common += (self.sparse[start:stop] @ self.sparse_t).toarray()
        return common


def _shared_columns(incidence, exact32: bool) -> _SharedColumns:
    dense_min = max(2, int(np.ceil(incidence.shape[0] * DENSE_SHARE)))
    return _SharedColumns(incidence, dense_min, exact32)

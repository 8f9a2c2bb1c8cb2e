"""The tests of a comparison, in numpy: permutation p-values and win rates (the intervals are in
:mod:`rewardhub.compare.jackknife`).

- p-values (rewards): two-sided permutation tests; paired: sign flips of the per-prompt
  differences, every one of the ``2^n`` patterns when there are at most ``permutations`` of
  them (exact, and deterministic: with ``n`` prompts the smallest p is ``2 / 2^n``, so 5 prompts
  or fewer can never give p < 0.05), random ones otherwise; unpaired: random reassignment of
  the samples to the two sides. Random permutations count the observed one, ``(1 + extreme) /
  (1 + permutations)``, so p is never 0 and the test keeps its level.
- Win rate of B over A: paired, the share of prompts where B's value is better (ties count
  half); unpaired, the probability that a random B sample beats a random A sample (ties half).
  Without a direction "better" means nothing: the win rate is then None.

Tested in ``tests/test_compare_stats.py``.
"""

from __future__ import annotations

import numpy as np

#: Most entries (permutations x units) held at once.
CHUNK_ENTRIES = 4_000_000


def sign_flip_p(differences: np.ndarray, permutations: int, rng: np.random.Generator) -> float:
    """Two-sided paired permutation p-value of ``mean(differences) != 0`` (sign flips: all of
    them when ``2^n <= permutations``, else ``permutations`` random ones)."""
    n = len(differences)
    if n == 0:
        return float("nan")
    observed = abs(float(np.mean(differences)))
    tol = 1e-12 * max(observed, float(np.max(np.abs(differences))), 1e-300)
    if n < 31 and 2**n <= permutations:
        patterns = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
        means = np.abs((patterns * 2 - 1).astype(np.float64) @ differences) / n
        return float(np.count_nonzero(means >= observed - tol) / 2**n)
    extreme = 0
    per_chunk = max(1, min(permutations, CHUNK_ENTRIES // n))
    done = 0
    while done < permutations:
        k = min(per_chunk, permutations - done)
        signs = rng.integers(0, 2, size=(k, n), dtype=np.int8) * 2 - 1
        means = np.abs(signs @ differences) / n
        extreme += int(np.count_nonzero(means >= observed - tol))
        done += k
    return (1 + extreme) / (1 + permutations)


def label_shuffle_p(a: np.ndarray, b: np.ndarray, permutations: int, rng: np.random.Generator) -> float:
    """Two-sided unpaired permutation p-value of ``mean(b) - mean(a) != 0`` (shuffled labels)."""
    if not len(a) or not len(b):
        return float("nan")
    pooled = np.concatenate([a, b])
    n, nb = len(pooled), len(b)
    observed = abs(float(np.mean(b) - np.mean(a)))
    tol = 1e-12 * max(observed, float(np.max(np.abs(pooled))), 1e-300)
    total = float(np.sum(pooled))
    extreme = 0
    per_chunk = max(1, min(permutations, CHUNK_ENTRIES // n))
    done = 0
    while done < permutations:
        k = min(per_chunk, permutations - done)
        shuffled = rng.permuted(np.broadcast_to(pooled, (k, n)), axis=1)
        sum_b = shuffled[:, :nb].sum(axis=1)
        deltas = np.abs(sum_b / nb - (total - sum_b) / (n - nb))
        extreme += int(np.count_nonzero(deltas >= observed - tol))
        done += k
    return (1 + extreme) / (1 + permutations)


def paired_win_rate(a: np.ndarray, b: np.ndarray, higher_is_better: bool | None) -> float:
    """Share of pairs where ``b`` is better than ``a``, ties counted half (NaN without a
    direction or a pair)."""
    if not len(a) or higher_is_better is None:
        return float("nan")
    better = b > a if higher_is_better else b < a
    return float((np.count_nonzero(better) + 0.5 * np.count_nonzero(a == b)) / len(a))


def superiority(a: np.ndarray, b: np.ndarray, higher_is_better: bool | None) -> float:
    """P(a random ``b`` beats a random ``a``) + half P(tie): the Mann-Whitney U over ``na * nb``
    (NaN without a direction)."""
    if not len(a) or not len(b) or higher_is_better is None:
        return float("nan")
    import pandas as pd

    ranks = pd.Series(np.concatenate([a, b])).rank(method="average").to_numpy()
    u = float(ranks[len(a) :].sum()) - len(b) * (len(b) + 1) / 2
    higher = u / (len(a) * len(b))
    return higher if higher_is_better else 1.0 - higher

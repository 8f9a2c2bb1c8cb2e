"""Cosine-similarity statistics over many embeddings without an N x N matrix.

Embeddings are unit rows of a ``(U, d)`` array of *distinct* texts, with ``counts[u]`` the number
of samples whose text is row ``u``: N = sum(counts) samples in all. Repeated samples count as
separate samples (a duplicate pair has similarity 1), yet each text is embedded and compared once.
"""

from __future__ import annotations

from rewardhub.lazy import np

#: The most similarity values held at once by the blocked computations (64 MiB of float32).
BLOCK_ELEMENTS = 1 << 24


def _counts(embeddings: np.ndarray, counts: np.ndarray | None) -> np.ndarray:
    if counts is None:
        return np.ones(len(embeddings), dtype=np.int64)
    return np.asarray(counts, dtype=np.int64)


def mean_pairwise_similarity(embeddings: np.ndarray, counts: np.ndarray | None = None) -> float:
    """Mean cosine similarity over all ordered pairs ``i != j`` of the N samples; NaN if N < 2.

    Exact and O(N d): with ``s`` the sum of all sample vectors,
    ``sum_{i != j} e_i . e_j = ||s||^2 - sum_i ||e_i||^2``.
    """
    weights = _counts(embeddings, counts)
    n = int(weights.sum())
    if n < 2:
        return float("nan")
    vectors = embeddings.astype(np.float64, copy=False)
    total = weights @ vectors
    self_dot = weights @ np.einsum("ij,ij->i", vectors, vectors)
    return float((total @ total - self_dot) / (n * (n - 1)))


def nearest_similarity(embeddings: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    """For each distinct text, its highest cosine similarity to any *other* sample.

    A text that two samples share has a twin at similarity 1. Computed in row blocks of
    ``embeddings @ embeddings.T`` so memory stays under :data:`BLOCK_ELEMENTS` values.
    """
    weights = _counts(embeddings, counts)
    size = len(embeddings)
    nearest = np.full(size, -np.inf, dtype=np.float32)
    block = max(1, BLOCK_ELEMENTS // max(size, 1))
    for start in range(0, size, block):
        sims = embeddings[start : start + block] @ embeddings.T
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = -np.inf  # a sample is not its own neighbour...
        nearest[start : start + block] = sims.max(axis=1)
    twins = weights > 1  # ...but a second sample with the same text is
    nearest[twins] = np.maximum(nearest[twins], 1.0)
    return np.minimum(nearest, 1.0)

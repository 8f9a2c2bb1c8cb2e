"""The blocked similarity statistics against brute force, and their memory bound."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from rewardhub_semantic import similarity
from rewardhub_semantic.similarity import mean_pairwise_similarity, nearest_similarity


def unit_rows(n: int, d: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def expand(embeddings: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """One row per sample, as if every duplicate had been embedded again."""
    return np.repeat(embeddings, counts, axis=0)


def brute_force(samples: np.ndarray) -> tuple[float, np.ndarray]:
    sims = samples.astype(np.float64) @ samples.T.astype(np.float64)
    n = len(samples)
    off = ~np.eye(n, dtype=bool)
    np.fill_diagonal(sims, -np.inf)
    return float(sims[off].mean()), sims.max(axis=1)


def test_mean_matches_brute_force_with_duplicates():
    embeddings = unit_rows(40, 8)
    counts = np.random.default_rng(1).integers(1, 4, size=40)
    mean, _ = brute_force(expand(embeddings, counts))
    assert mean_pairwise_similarity(embeddings, counts) == pytest.approx(mean, abs=1e-9)
    assert mean_pairwise_similarity(embeddings) == pytest.approx(brute_force(embeddings)[0], abs=1e-9)


def test_mean_of_identical_and_of_opposite_vectors():
    v = unit_rows(1, 5)
    assert mean_pairwise_similarity(v, np.array([7])) == pytest.approx(1.0)
    assert mean_pairwise_similarity(np.vstack([v, -v])) == pytest.approx(-1.0)
    assert math.isnan(mean_pairwise_similarity(v))


def test_nearest_matches_brute_force_across_blocks(monkeypatch):
    monkeypatch.setattr(similarity, "BLOCK_ELEMENTS", 64)  # 64 // 30 = 2 rows per block
    embeddings = unit_rows(30, 6, seed=2)
    counts = np.ones(30, dtype=np.int64)
    counts[[3, 17]] = 2
    _, per_sample = brute_force(expand(embeddings, counts))
    first_row = np.concatenate([[0], np.cumsum(counts)[:-1]])  # each text's first sample
    assert nearest_similarity(embeddings, counts) == pytest.approx(np.minimum(per_sample[first_row], 1.0), abs=1e-5)
    assert nearest_similarity(embeddings, counts)[[3, 17]] == pytest.approx([1.0, 1.0])


def test_fifty_thousand_responses_stay_linear_in_memory():
    embeddings = unit_rows(50_000, 384, seed=3)
    tracemalloc.start()
    try:
        mean = mean_pairwise_similarity(embeddings)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert abs(mean) < 1e-3  # random directions are nearly orthogonal
    assert peak < 3 * embeddings.nbytes  # a float64 copy at most; the N x N matrix would take 10 GB


def test_nearest_neighbour_search_holds_one_block_at_a_time():
    embeddings = unit_rows(12_000, 8, seed=4)
    tracemalloc.start()
    try:
        nearest = nearest_similarity(embeddings)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert nearest.shape == (12_000,) and np.all(nearest < 1.0)
    full_matrix = 12_000**2 * 4
    assert peak < similarity.BLOCK_ELEMENTS * 4 * 3 < full_matrix

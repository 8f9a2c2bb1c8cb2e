"""The ``semantic_diversity`` metric: how different in meaning a set of responses is.

Reported over the samples given (the host's ``--by-group`` runs it on each group as well):

- ``semantic_diversity``: mean pairwise cosine distance ``1 - cos`` over all pairs of responses
  (0 when every response says the same thing; unrelated texts land near 1);
- ``semantic_near_duplicate_rate``: the share of responses with another response at cosine
  ``>= threshold``;
- ``semantic_diversity_group_mean``: ``semantic_diversity`` inside each group of two or more
  responses, averaged over groups (groups come from ``Sample.group`` or the prompt), from the
  same embeddings; left out when no group has two responses.

Each distinct text is embedded once (the shared encoder remembers the reward's and the
whole set's embeddings for the per-group calls) and memory stays O(N d): the mean uses the sum-vector
identity and the nearest-neighbour search goes in bounded row blocks, so 50,000 responses fit.
Fewer than two responses give an empty result (a diversity of one answer is undefined).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

import rewardhub
from rewardhub_semantic.redundancy import __version__
from rewardhub_semantic.similarity import mean_pairwise_similarity, nearest_similarity

if TYPE_CHECKING:
    from rewardhub_semantic.encoder import Encoder


class SemanticDiversity(rewardhub.Metric):
    """Mean pairwise cosine distance of response embeddings, overall and within groups.

    :param model: sentence-transformers hub id or local directory (default as for
        ``semantic_redundancy``: the bundled all-MiniLM-L6-v2).
    :param threshold: cosine at or above which two responses are near duplicates.
    :param batch_size: texts per forward pass.
    :param max_length: tokens kept per text (default: the model's own limit).
    :param device: ``"cpu"``, ``"cuda"``...; default CUDA when present.
    :param dtype: ``"float32"``, ``"float16"``, ``"bfloat16"``; default half precision on CUDA.
    """

    name = "semantic_diversity"
    version = __version__
    description = "Mean pairwise cosine distance of response embeddings (sentence-transformers)"

    def __init__(
        self,
        model: str | None = None,
        threshold: float = 0.8,
        batch_size: int = 64,
        max_length: int | None = None,
        device: str | None = None,
        dtype: str | None = None,
    ) -> None:
        if not -1.0 <= threshold <= 1.0:
            raise ValueError(f"threshold is a cosine similarity in [-1, 1], got {threshold}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.model, self.threshold, self.batch_size = model, float(threshold), batch_size
        self._load_args: dict[str, Any] = {"device": device, "dtype": dtype, "max_length": max_length}
        self._encoder: Encoder | None = None

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            from rewardhub_semantic.encoder import load_encoder

            self._encoder = load_encoder(self.model, **self._load_args)
        return self._encoder

    def compute(self, samples: Sequence[rewardhub.Sample]) -> dict[str, float]:
        if len(samples) < 2:
            return {}
        embeddings, index = self.encoder.encode_unique([s.response for s in samples], self.batch_size)
        counts = np.bincount(index, minlength=len(embeddings))
        nearest = nearest_similarity(embeddings, counts)
        result = {
            "semantic_diversity": 1.0 - mean_pairwise_similarity(embeddings, counts),
            "semantic_near_duplicate_rate": float(counts[nearest >= self.threshold].sum() / len(samples)),
        }
        groups: dict[Any, list[int]] = {}
        for s, row in zip(samples, index):
            groups.setdefault(s.group_key, []).append(int(row))
        within = [1.0 - mean_pairwise_similarity(embeddings[rows]) for rows in groups.values() if len(rows) > 1]
        if within:
            result["semantic_diversity_group_mean"] = float(np.mean(within))
        return result

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
Responses in a language the model does not read (Chinese for the default English MiniLM) are
left out (warned once), and ``semantic_covered_share`` then says which share was measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import rewardhub
from rewardhub.lazy import np
from rewardhub_semantic.encoder import EncoderUser
from rewardhub_semantic.redundancy import __version__
from rewardhub_semantic.similarity import mean_pairwise_similarity, nearest_similarity


class SemanticDiversity(EncoderUser, rewardhub.Metric):
    """Mean pairwise cosine distance of response embeddings, overall and within groups.

    :param model: sentence-transformers hub id or local directory (default as for
        ``semantic_redundancy``: the bundled all-MiniLM-L6-v2).
    :param threshold: cosine at or above which two responses are near duplicates.
    :param batch_size: texts per forward pass.
    :param max_length: tokens kept per text (default: the model's own limit).
    :param device: ``"cpu"``, ``"cuda"``...; default CUDA when present.
    :param dtype: ``"float32"``, ``"float16"``, ``"bfloat16"``; default half precision on CUDA.
    :param languages: languages the model reads, or ``"any"`` (default: English for the default
        MiniLM, any for a ``model`` you name); other responses are left out.
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
        languages: Sequence[str] | str | None = None,
    ) -> None:
        self._init_encoder(model, threshold, batch_size, max_length, device, dtype, languages)
        self.batch_size = batch_size

    def direction(self, key: str) -> bool | None:
        """Diversity up is better, near duplicates down; the covered share has no direction."""
        return {"semantic_near_duplicate_rate": False, "semantic_covered_share": None}.get(key, True)

    def compute(self, samples: Sequence[rewardhub.Sample]) -> dict[str, float]:
        unread = self.unreadable([s.response for s in samples])
        readable = [s for s, lang in zip(samples, unread) if lang is None]
        result = self._compute(readable)
        if result and len(readable) < len(samples):
            result["semantic_covered_share"] = len(readable) / len(samples)
        return result

    def _compute(self, samples: Sequence[rewardhub.Sample]) -> dict[str, float]:
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

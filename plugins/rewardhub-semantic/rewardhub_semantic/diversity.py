"""The ``semantic_diversity`` metric: how different in meaning a set of responses is.

Reported over the samples given (the host's ``--by-group`` runs it on each group as well):

- ``semantic_diversity``: mean pairwise cosine distance ``1 - cos`` over all pairs of responses
  (0 when every response says the same thing; unrelated texts land near 1);
- ``semantic_near_duplicate_rate``: the share of responses with another response at cosine
  ``>= threshold``;
- ``semantic_diversity_group_mean``: ``semantic_diversity`` inside each group of two or more
  responses, averaged over groups (groups come from ``Sample.group`` or the prompt), from the
  same embeddings; left out when no group has two responses.

Each distinct text is embedded once (the run's embedding cache holds the reward's and the
whole set's embeddings for the per-group calls) and memory stays O(N d): the mean uses the sum-vector
identity and the nearest-neighbour search goes in bounded row blocks, so 50,000 responses fit.
Over a stream (``rewardhub eval``) the metric's state keeps, instead of the samples, each distinct
response's embedding (float32, found by its digest), and per response its row and a digest of its
group: each chunk is embedded as it arrives (where ``vendi`` has just embedded it, from the
cache), never again at the end, and a 0.7 MB response costs its 1.5 KB row, not its text.
Fewer than two responses give an empty result (a diversity of one answer is undefined).
Responses in a language the model does not read (Chinese for the default English MiniLM) are
left out (warned once), and ``semantic_covered_share`` then says which share was measured.
Tested in ``tests/test_semantic_tiny_model.py`` and, streamed and merged, ``tests/test_embedding_cache.py``.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Sequence
from typing import Any

import rewardhub
from rewardhub.lazy import np
from rewardhub.metrics.state import MetricState
from rewardhub_semantic.embedding_cache import text_key
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
        return self.values(embeddings, index, [s.group_key for s in samples])

    def values(self, embeddings: np.ndarray, index: np.ndarray, groups: Sequence[Any]) -> dict[str, float]:
        """The values from the distinct texts' ``embeddings``, each sample's row in them
        (``index``) and each sample's group (any hashable)."""
        counts = np.bincount(index, minlength=len(embeddings))
        nearest = nearest_similarity(embeddings, counts)
        result = {
            "semantic_diversity": 1.0 - mean_pairwise_similarity(embeddings, counts),
            "semantic_near_duplicate_rate": float(counts[nearest >= self.threshold].sum() / len(index)),
        }
        members: dict[Any, list[int]] = {}
        for group, row in zip(groups, index):
            members.setdefault(group, []).append(int(row))
        within = [1.0 - mean_pairwise_similarity(embeddings[rows]) for rows in members.values() if len(rows) > 1]
        if within:
            result["semantic_diversity_group_mean"] = float(np.mean(within))
        return result

    def state(self) -> SemanticDiversityState:
        return SemanticDiversityState(self)


class SemanticDiversityState(MetricState):
    """``semantic_diversity`` over a stream: the distinct responses' embeddings, and per
    response its row and its group's digest (see the module doc); merges in stream order."""

    def __init__(self, metric: SemanticDiversity | None):
        super().__init__()
        self._metric = metric
        self.rows: list[np.ndarray] = []  # blocks of embeddings of distinct texts, in order
        self.row_of: dict[bytes, int] = {}  # text digest -> its row
        self.size = 0  # rows held
        self.index = array("q")  # per measured response, its row
        self.group_of = array("q")  # per measured response, its group's number
        self.group_number: dict[bytes, int] = {}  # group digest -> number, in order of first response
        self.seen = 0  # every response fed, read or not

    def add(self, samples: Sequence[rewardhub.Sample], pass_: int = 0) -> None:
        if not samples:
            return
        if self._metric is None:
            raise RuntimeError("this state was unpickled without its metric: merge it into a live state instead")
        metric = self._metric
        self.seen += len(samples)
        unread = metric.unreadable([s.response for s in samples])
        readable = [s for s, lang in zip(samples, unread) if lang is None]
        if not readable:
            return
        embeddings, index = metric.encoder.encode_unique([s.response for s in readable], metric.batch_size)
        keys = [text_key(t) for t in dict.fromkeys(s.response for s in readable)]
        self._fold(embeddings, keys, index, [group_digest(s.group_key) for s in readable])

    def _fold(self, embeddings: np.ndarray, keys: list[bytes], index: Sequence[int], groups: list[bytes]) -> None:
        """Fold responses in: ``embeddings[i]`` is the text with digest ``keys[i]``, response
        ``k`` has row ``index[k]`` of them and group digest ``groups[k]``."""
        rows = []
        for key in keys:
            row = self.row_of.get(key)
            if row is None:
                row = self.row_of[key] = len(self.row_of)
            rows.append(row)
        new = [i for i, row in enumerate(rows) if row >= self.size]
        if new:
            self.rows.append(np.asarray(embeddings[new], dtype=np.float32))
        self.size += len(new)
        self.index.extend(rows[int(i)] for i in index)
        numbers = self.group_number
        self.group_of.extend(numbers.setdefault(g, len(numbers)) for g in groups)

    def merge(self, other: MetricState) -> None:
        assert isinstance(other, SemanticDiversityState)
        embeddings = np.concatenate(other.rows) if other.rows else np.zeros((0, 0), dtype=np.float32)
        keys = sorted(other.row_of, key=other.row_of.__getitem__)
        groups = sorted(other.group_number, key=other.group_number.__getitem__)
        self._fold(embeddings, keys, other.index, [groups[g] for g in other.group_of])
        self.seen += other.seen

    def result(self) -> dict[str, float]:
        if len(self.index) < 2 or self._metric is None:
            return {}
        embeddings = np.concatenate(self.rows)
        result = self._metric.values(embeddings, np.frombuffer(self.index, dtype=np.int64), self.group_of)
        if len(self.index) < self.seen:
            result["semantic_covered_share"] = len(self.index) / self.seen
        return result

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_metric": None}  # the model stays in its process


def group_digest(key: Any) -> bytes:
    """A 128-bit digest of a group key (``repr`` keeps ``1``, ``True`` and ``"1"`` apart)."""
    return hashlib.blake2b(repr(key).encode("utf-8", "backslashreplace"), digest_size=16).digest()

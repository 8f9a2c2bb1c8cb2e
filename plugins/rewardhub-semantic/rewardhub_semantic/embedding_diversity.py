"""``vendi`` and ``embedding_pairwise_similarity``: the embedding diversity measures papers
report, computed from sums over the embeddings, never from an N x N matrix.

With ``e_1..e_N`` the responses' unit-length embeddings (the shared encoder, all-MiniLM-L6-v2 by
default: the model CD-RLHF and Kirk et al. 2024 report with):

- ``vendi``: the Vendi score (Friedman & Dieng 2023) with the cosine kernel, ``exp`` of the
  Shannon entropy of the eigenvalues of ``K / N`` (``K_ij = e_i . e_j``), i.e. the effective
  number of distinct responses: 1 when all are the same, N when all are orthogonal. ``K / N``
  and the d x d matrix ``C = sum_i e_i e_i^T / N`` have the same non-zero eigenvalues, so it is
  computed from ``C``: O(N d^2) time and O(d^2) memory (d = 384 for MiniLM), what
  ``vendi_score.vendi.score_dual`` does. Higher is more diverse.
- ``embedding_pairwise_similarity``: the mean cosine similarity over the N (N - 1) / 2 distinct
  pairs, from the sum vector ``s = sum_i e_i``: ``(||s||^2 - sum_i ||e_i||^2) / (N (N - 1))``,
  O(N d). Lower is more diverse. (``semantic_diversity`` reports ``1 -`` this value.)

Duplicate responses count as separate samples (a duplicate pair has similarity 1), as in both
papers. ``vendi`` of one response is 1; the pairwise similarity needs two.

The mergeable states hold N and those sums (``C`` as its d x d sum, ``s``, the squared norms),
in float64: merging adds them, so merged values equal the single-pass one up to the order of
float additions (about 1e-15 relative). A state embeds what it is fed with the metric's
encoder; a state unpickled in another process has no encoder and can only be merged.
Tested in ``tests/test_embedding_diversity.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import rewardhub
from rewardhub.host.state import MetricState
from rewardhub.lazy import np
from rewardhub_semantic.encoder import EncoderUser
from rewardhub_semantic.redundancy import __version__

Embed = Callable[[list[str]], "tuple[np.ndarray | None, int]"]  # (embeddings of the readable texts, left out)


def unit_rows(embeddings: np.ndarray) -> np.ndarray:
    """``embeddings`` as float64 rows of unit length (all-zero rows stay zero)."""
    rows = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)


def vendi_from_moments(second_moment: np.ndarray, count: int) -> float:
    """The cosine-kernel Vendi score from ``sum_i e_i e_i^T`` (unit rows) and N."""
    eigenvalues = np.linalg.eigvalsh(second_moment / count)
    p = eigenvalues[eigenvalues > 0]  # rounding leaves tiny negatives where K is singular
    return float(np.exp(-np.sum(p * np.log(p))))


def vendi_score(embeddings: np.ndarray) -> float:
    """The Vendi score of ``embeddings`` (rows, normalized here) with the cosine kernel."""
    rows = unit_rows(embeddings)
    return vendi_from_moments(rows.T @ rows, len(rows))


def pairwise_similarity_from_sums(total: np.ndarray, squared_norms: float, count: int) -> float:
    """Mean cosine over distinct pairs from the sum of the unit rows and of their squared norms."""
    return float((total @ total - squared_norms) / (count * (count - 1)))


def mean_pairwise_cosine(embeddings: np.ndarray) -> float:
    """The mean cosine similarity over the distinct pairs of rows of ``embeddings``."""
    rows = unit_rows(embeddings)
    return pairwise_similarity_from_sums(rows.sum(axis=0), float(np.einsum("ij,ij->", rows, rows)), len(rows))


class _EmbeddingMetric(EncoderUser, rewardhub.Metric):
    """A metric over the responses' embeddings from the plugin's shared encoder."""

    version = __version__

    def __init__(
        self,
        model: str | None = None,
        batch_size: int = 64,
        max_length: int | None = None,
        device: str | None = None,
        dtype: str | None = None,
        languages: Sequence[str] | str | None = None,
    ) -> None:
        self._init_encoder(
            model=model,
            threshold=0.0,
            batch_size=batch_size,
            max_length=max_length,
            device=device,
            dtype=dtype,
            languages=languages,
        )
        self.batch_size = batch_size

    def direction(self, key: str) -> bool | None:
        return None if key.endswith("_covered_share") else self.higher_is_better

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings of ``texts``, each distinct text through the model once."""
        unique, index = self.encoder.encode_unique(texts, self.batch_size)
        return unit_rows(unique)[index]

    def embed_readable(self, texts: list[str]) -> tuple[np.ndarray | None, int]:
        """The embeddings of the texts the model reads (``None`` if it reads none of them), and
        how many it left out: an English-only model never measures text it cannot read."""
        unread = self.unreadable(texts)
        readable = [t for t, language in zip(texts, unread) if language is None]
        return (self.embed(readable) if readable else None), len(texts) - len(readable)


class _EmbeddingState(MetricState):
    """N and sums over the embeddings; subclasses say which sums."""

    #: The metric's name, for the ``<name>_covered_share`` key.
    key = ""

    def __init__(self, embed: Embed | None) -> None:
        super().__init__()
        self._embed = embed
        self.count = 0  # responses measured
        self.left_out = 0  # responses in a language the model does not read

    def add(self, samples: Sequence[rewardhub.Sample], pass_: int = 0) -> None:
        if not samples:
            return
        if self._embed is None:
            raise RuntimeError("this state was unpickled without its encoder: merge it into a live state instead")
        texts = [s if isinstance(s, str) else s.response for s in samples]
        rows, left_out = self._embed(texts)
        if rows is not None:
            self.fold(rows)
        self.count += len(texts) - left_out
        self.left_out += left_out

    def merge_counts(self, other: _EmbeddingState) -> None:
        self.count += other.count
        self.left_out += other.left_out

    def covered(self) -> dict[str, float]:
        """``<name>_covered_share`` when some responses were left out (as semantic_diversity)."""
        seen = self.count + self.left_out
        return {f"{self.key}_covered_share": self.count / seen} if self.left_out else {}

    def fold(self, rows: np.ndarray) -> None:
        raise NotImplementedError

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_embed": None}  # the encoder stays in its process


class VendiState(_EmbeddingState):
    key = "vendi"

    def __init__(self, embed: Embed | None) -> None:
        super().__init__(embed)
        self.second_moment: np.ndarray | None = None  # sum of e e^T, d x d

    def fold(self, rows: np.ndarray) -> None:
        self.fold_moment(rows.T @ rows)

    def merge(self, other: MetricState) -> None:
        assert isinstance(other, VendiState)
        if other.second_moment is not None:
            self.fold_moment(other.second_moment)
        self.merge_counts(other)

    def fold_moment(self, moment: np.ndarray) -> None:
        self.second_moment = moment.copy() if self.second_moment is None else self.second_moment + moment

    def result(self) -> dict[str, float]:
        if not self.count or self.second_moment is None:
            return {}
        return {"vendi": vendi_from_moments(self.second_moment, self.count), **self.covered()}


class PairwiseState(_EmbeddingState):
    key = "embedding_pairwise_similarity"

    def __init__(self, embed: Embed | None) -> None:
        super().__init__(embed)
        self.total: np.ndarray | None = None  # sum of e
        self.squared_norms = 0.0  # sum of ||e||^2 (1 per response, 0 for an all-zero embedding)

    def fold(self, rows: np.ndarray) -> None:
        self.fold_sums(rows.sum(axis=0), float(np.einsum("ij,ij->", rows, rows)))

    def fold_sums(self, total: np.ndarray, squared_norms: float) -> None:
        self.total = total.copy() if self.total is None else self.total + total
        self.squared_norms += squared_norms

    def merge(self, other: MetricState) -> None:
        assert isinstance(other, PairwiseState)
        if other.total is not None:
            self.fold_sums(other.total, other.squared_norms)
        self.merge_counts(other)

    def result(self) -> dict[str, float]:
        if self.count < 2 or self.total is None:
            return {}
        similarity = pairwise_similarity_from_sums(self.total, self.squared_norms, self.count)
        return {"embedding_pairwise_similarity": similarity, **self.covered()}


class Vendi(_EmbeddingMetric):
    """Vendi score of the response embeddings (cosine kernel), from the d x d second moment.

    :param model: sentence-transformers hub id or local directory (default: the bundled
        all-MiniLM-L6-v2). ``batch_size``, ``max_length``, ``device``, ``dtype``, ``languages``:
        as for ``semantic_diversity`` (the default English model leaves other languages out and
        reports ``vendi_covered_share``).
    """

    name = "vendi"
    higher_is_better = True
    description = "Vendi score of response embeddings: exp(entropy of the eigenvalues of K/N), cosine K"

    def state(self) -> VendiState:
        return VendiState(self.embed_readable)


class EmbeddingPairwiseSimilarity(_EmbeddingMetric):
    """Mean cosine similarity over distinct pairs of response embeddings (CD-RLHF, Kirk et al.).

    Parameters as for :class:`Vendi`.
    """

    name = "embedding_pairwise_similarity"
    higher_is_better = False
    description = "Mean pairwise cosine similarity of response embeddings (all-MiniLM-L6-v2 by default)"

    def state(self) -> PairwiseState:
        return PairwiseState(self.embed_readable)

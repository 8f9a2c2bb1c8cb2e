"""vendi and embedding_pairwise_similarity: equal to the vendi-score package and to the
brute-force N x N definitions on the same embeddings, and mergeable states through the encoder
(a tiny sentence-transformers model built here)."""

from __future__ import annotations

import importlib.util
import pickle
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from rewardhub_semantic import EmbeddingPairwiseSimilarity, Vendi
from rewardhub_semantic.embedding_diversity import mean_pairwise_cosine, vendi_score

import rewardhub
from rewardhub import Sample, compute_metrics

vendi = pytest.importorskip("vendi_score.vendi", reason="pip install -e 'plugins/rewardhub-semantic[test]'")
pytestmark = pytest.mark.filterwarnings("ignore:Please import `csr_matrix`:DeprecationWarning")  # inside vendi-score


def embeddings_cases() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(40, 16))
    low_rank = rng.normal(size=(30, 3)) @ rng.normal(size=(3, 16))  # K has 27 zero eigenvalues
    repeated = np.repeat(rng.normal(size=(4, 16)), [5, 1, 3, 2], axis=0)  # duplicates count
    wide = rng.normal(size=(5, 384))  # N < d, as for a small group and MiniLM
    return [base, low_rank, repeated, wide, rng.normal(size=(1, 8))]


@pytest.mark.parametrize("embeddings", embeddings_cases(), ids=["random", "low-rank", "repeats", "n<d", "one"])
def test_vendi_equals_the_vendi_score_package(embeddings):
    ours = vendi_score(embeddings)
    assert ours == pytest.approx(vendi.score_dual(embeddings), rel=1e-9)  # its d x d path
    assert ours == pytest.approx(vendi.score_X(embeddings), rel=1e-9)  # its N x N kernel path


def test_vendi_bounds():
    assert vendi_score(np.ones((6, 4))) == pytest.approx(1.0)  # all the same: one effective response
    assert vendi_score(np.eye(5)) == pytest.approx(5.0)  # all orthogonal: five


@pytest.mark.parametrize("embeddings", embeddings_cases()[:4], ids=["random", "low-rank", "repeats", "n<d"])
def test_pairwise_similarity_equals_the_mean_over_distinct_pairs(embeddings):
    rows = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    brute = np.mean([rows[i] @ rows[j] for i, j in combinations(range(len(rows)), 2)])
    assert mean_pairwise_cosine(embeddings) == pytest.approx(brute, rel=1e-12, abs=1e-15)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    pytest.importorskip("sentence_transformers")
    # The tiny-model builder of the sibling test module (tests are not a package: load by path).
    spec = importlib.util.spec_from_file_location(
        "_tiny_model", Path(__file__).with_name("test_semantic_tiny_model.py")
    )
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    return builder.build_sentence_model(tmp_path_factory.mktemp("tiny-st-spread"))


TEXTS = [
    "the cat sat on the mat",
    "the dog sat on the mat",
    "paris is the capital of france",
    "bananas are yellow",
    "the cat sat on the mat",
    "the cat is yellow",
    "france is the capital",
]


def test_metrics_on_the_encoder_embeddings_and_merged_states(tiny):
    vendi_metric, pairwise = Vendi(model=tiny, device="cpu"), EmbeddingPairwiseSimilarity(model=tiny, device="cpu")
    embeddings = vendi_metric.encoder.embed(TEXTS)
    assert vendi_metric.compute(TEXTS)["vendi"] == pytest.approx(
        vendi.score_dual(embeddings.astype(np.float64)), rel=1e-6
    )
    expected = {"embedding_pairwise_similarity": pytest.approx(mean_pairwise_cosine(embeddings), rel=1e-6)}
    assert pairwise.compute([Sample(t) for t in TEXTS]) == expected
    for metric in (vendi_metric, pairwise):
        whole = metric.compute(TEXTS)
        left, right = metric.state(), metric.state()
        left.add(TEXTS[:3])
        right.add([Sample(t) for t in TEXTS[3:]])
        shipped = pickle.loads(pickle.dumps(right))  # as a worker's state reaches the driver
        left.merge(shipped)
        assert left.result() == pytest.approx(whole, rel=1e-12)
        with pytest.raises(RuntimeError, match="without its encoder"):
            shipped.add(TEXTS)
    assert vendi_metric.compute([]) == {} and pairwise.compute(TEXTS[:1]) == {}


def test_registered_with_directions(tiny):
    rewardhub.host.registry.reset()
    registry = rewardhub.host.registry.registry()
    assert {"vendi", "embedding_pairwise_similarity"} <= set(registry.metrics)
    assert Vendi.higher_is_better is True and EmbeddingPairwiseSimilarity.higher_is_better is False
    values = compute_metrics(
        [{"name": "vendi", "args": {"model": tiny, "device": "cpu"}}], [Sample(t) for t in TEXTS[:3]]
    ).values
    assert 1.0 <= values["vendi"] <= 3.0

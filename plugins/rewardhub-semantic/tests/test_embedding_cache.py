"""The run's embedding cache: each text through the model once per model, whichever semantic
reward or metric asks and however its settings are spelled; keyed by what decides an embedding;
bounded by bytes; alive while the run holds an encoder; the values unchanged."""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import pickle
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from rewardhub_semantic import EmbeddingPairwiseSimilarity, SemanticDiversity, SemanticRedundancy, Vendi
from rewardhub_semantic import embedding_cache as cache_module
from rewardhub_semantic import encoder as encoder_module
from rewardhub_semantic.embedding_cache import EmbeddingCache, ModelIdentity, live_caches, text_key
from rewardhub_semantic.encoder import Encoder, load_encoder

from rewardhub import Sample, Scorer, compute_metrics

torch = pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")

TEXTS = [
    "the cat sat on the mat",
    "the dog sat on the mat",
    "paris is the capital of france",
    "bananas are yellow",
    "the cat sat on the mat",
    "the cat is yellow",
    "france is the capital",
    "the dog is on the mat",
]


def _builder():
    path = Path(__file__).with_name("test_semantic_tiny_model.py")  # tests are not a package: by path
    spec = importlib.util.spec_from_file_location("_tiny_model", path)
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    return builder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    return _builder().build_sentence_model(tmp_path_factory.mktemp("tiny-cache"))


@pytest.fixture(autouse=True)
def fresh():
    encoder_module._loaded.clear()
    gc.collect()
    yield
    encoder_module._loaded.clear()
    gc.collect()


@pytest.fixture
def embedded(monkeypatch) -> list[str]:
    """Every text that goes through a model."""
    seen: list[str] = []
    original = Encoder._forward

    def spy(self, texts, batch_size):
        seen.extend(texts)
        return original(self, texts, batch_size)

    monkeypatch.setattr(Encoder, "_forward", spy)
    return seen


def samples() -> list[Sample]:
    return [Sample(t, prompt=f"q{i % 3}", id=str(i)) for i, t in enumerate(TEXTS)]


def run_all(tiny: str, reward_args: dict, metric_args: dict, by_group: bool = True):
    """The four components over the samples, as ``eval`` runs them: reward, then metrics."""
    with Scorer([{"name": "semantic_redundancy", "args": {"model": tiny, **reward_args}}]) as scorer:
        batch = scorer.score(samples())
        metrics = [
            {"name": name, "args": {"model": tiny, **metric_args.get(name, {})}}
            for name in ("semantic_diversity", "vendi", "embedding_pairwise_similarity")
        ]
        results = compute_metrics(metrics, samples(), by_group=by_group)
    assert not results.errors and not any(batch.errors)
    return batch.components["semantic_redundancy"], results.values


def test_equivalent_settings_share_one_model_and_embed_each_text_once(tiny, embedded):
    """The reward on ``device: cpu``, the metrics on the default device (CPU here), ``vendi``
    with ``max_length`` equal to the model's own: one model, each distinct text embedded once."""
    run_all(tiny, {"device": "cpu"}, {"vendi": {"max_length": 64}, "embedding_pairwise_similarity": {"batch_size": 3}})
    assert sorted(embedded) == sorted(set(TEXTS))


def test_values_are_those_of_the_model_without_any_cache(tiny, monkeypatch):
    with_cache = run_all(tiny, {"device": "cpu"}, {"vendi": {"max_length": 64}})
    encoder_module._loaded.clear()
    gc.collect()
    assert not live_caches()  # the first run's cache went with its encoders
    monkeypatch.setattr(cache_module, "EMBEDDING_CACHE_BYTES", 0)  # keeps nothing: every ask embeds
    without = run_all(tiny, {}, {})
    rewards, metrics = with_cache
    rewards_none, metrics_none = without
    assert rewards == pytest.approx(rewards_none, abs=1e-6)
    assert metrics.keys() == metrics_none.keys() and len(metrics) >= 8
    for key in metrics:
        assert metrics[key] == pytest.approx(metrics_none[key], abs=1e-6), key


def test_a_cache_of_zero_bytes_sends_every_ask_through_the_model(tiny, embedded):
    encoder = Encoder(tiny, device="cpu")
    encoder.cache = EmbeddingCache(encoder.identity, max_bytes=0)
    first = encoder.encode(TEXTS[:3])
    assert np.array_equal(encoder.encode(TEXTS[:3]), first)
    assert embedded == TEXTS[:3] * 2 and encoder.cache.stats.embedded == 6


def test_the_identity_follows_what_decides_an_embedding(tiny, tmp_path):
    base = load_encoder(tiny)
    assert load_encoder(tiny, device="cpu") is base  # spelled differently, the same model
    same = Encoder(tiny, device="cpu", max_length=64)
    assert same.identity == base.identity and same.cache is base.cache
    half = Encoder(tiny, device="cpu", dtype="bfloat16")
    shorter = Encoder(tiny, device="cpu", max_length=8)
    assert half.identity.dtype == "bfloat16" and half.cache is not base.cache
    assert shorter.identity.max_seq_length == 8 and shorter.cache is not base.cache
    assert base.identity.revision.startswith("files:") and base.identity.normalized

    copy = tmp_path / "cls"
    shutil.copytree(tiny, copy)
    pooling = next(copy.glob("*Pooling/config.json"))
    config = json.loads(pooling.read_text())
    if "pooling_mode" in config:  # sentence-transformers >= 6
        config["pooling_mode"] = "cls"
    else:
        config.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    pooling.write_text(json.dumps(config))
    cls = Encoder(str(copy), device="cpu")
    assert "cls" in cls.identity.pipeline and cls.identity.pipeline != base.identity.pipeline
    assert not np.allclose(cls.embed(["the cat sat"]), base.embed(["the cat sat"]), atol=1e-3)  # it matters

    weights = next(p for p in copy.rglob("*") if p.suffix in (".safetensors", ".bin"))
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the weights changed on disk
    assert Encoder(str(copy), device="cpu").identity.revision != cls.identity.revision


def test_the_cache_is_bounded_by_bytes_and_keeps_no_text_alive(tiny):
    encoder = Encoder(tiny, device="cpu")
    encoder.cache = EmbeddingCache(encoder.identity, max_bytes=16 * 1024)
    row_bytes = encoder.dimension * 4
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(80):
            encoder.encode([f"the cat {i} " + "paris " * 5_000])  # 35 KB each, truncated by the model
            assert encoder.cache.nbytes <= 16 * 1024
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert 0 < len(encoder.cache) * row_bytes <= 16 * 1024 and len(encoder.cache) < 80  # some were dropped
    assert held < 256 * 1024  # the 2.8 MB of texts went; what stays is the bounded rows


def test_entry_bytes_cover_what_an_entry_keeps_alive(tiny):
    encoder = Encoder(tiny, device="cpu")
    cache = EmbeddingCache(encoder.identity, max_bytes=1 << 30)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        rows = np.random.default_rng(0).normal(size=(2000, 384)).astype(np.float32)
        cache.store([text_key(str(i)) for i in range(2000)], rows)
        del rows
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held <= cache.nbytes <= 1.3 * held  # accounted from above, and not far above


def test_the_cache_lives_while_the_run_holds_an_encoder(tiny):
    reward, metric = SemanticRedundancy(model=tiny), Vendi(model=tiny)
    reward.score([Sample("the cat", group=1), Sample("the dog", group=1)])
    identity = reward.encoder.identity
    assert metric.encoder.cache is reward.encoder.cache and len(reward.encoder.cache) == 2
    assert [c.identity for c in live_caches()] == [identity]
    reward.close()
    assert live_caches()  # the metric still holds the model
    del metric
    encoder_module._loaded.clear()
    gc.collect()
    assert identity not in [c.identity for c in live_caches()]


def test_semantic_diversity_streams_embeddings_not_samples(tiny, embedded):
    metric = SemanticDiversity(model=tiny, device="cpu")
    whole = metric.compute(samples())
    left, right = metric.state(), metric.state()
    left.add(samples()[:3])
    right.add(samples()[3:])
    shipped = pickle.loads(pickle.dumps(right))  # what a Ray worker sends
    assert "mat" not in pickle.dumps(right).decode("latin-1")  # no response text travels
    left.merge(shipped)
    streamed = left.result()
    assert streamed.keys() == whole.keys() and "semantic_diversity_group_mean" in streamed
    for key in whole:
        assert streamed[key] == pytest.approx(whole[key], abs=1e-6)
    assert sorted(embedded) == sorted(set(TEXTS))  # the state found compute's embeddings


def test_the_stats_count_lookups_and_model_calls(tiny):
    encoder = Encoder(tiny, device="cpu")
    encoder.cache = EmbeddingCache(encoder.identity)
    encoder.encode(TEXTS)
    encoder.encode(TEXTS[:2])
    stats = encoder.cache.stats
    assert (stats.lookups, stats.embedded, stats.model_calls, stats.hits) == (7 + 2, 7, 1, 2)


def test_the_identity_is_plain_data(tiny):
    identity = Encoder(tiny, device="cpu").identity
    assert isinstance(identity, ModelIdentity) and hash(identity) == hash(pickle.loads(pickle.dumps(identity)))
    assert set(identity.describe()) == {"revision", "pipeline", "max_seq_length", "dtype", "normalized"}


def test_the_pairwise_metric_shares_the_cache_with_the_others(tiny, embedded):
    pairwise = EmbeddingPairwiseSimilarity(model=tiny)  # held, as a run holds its metrics
    pairwise.compute(samples())
    SemanticDiversity(model=tiny, device="cpu").compute(samples())
    assert sorted(embedded) == sorted(set(TEXTS))
    del pairwise
    gc.collect()
    SemanticDiversity(model=tiny, device="cpu").compute(samples())  # a new run: nothing held
    assert len(embedded) == 2 * len(set(TEXTS))

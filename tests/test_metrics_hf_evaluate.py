"""Every metric loads as a Hugging Face evaluate module from its local path, offline."""

from __future__ import annotations

import pytest

from rewardhub.hf_evaluate import MODULES, module_path
from rewardhub.metrics import Distinct, DistinctAverage, NgramEntropy, Repetition, SelfBleu

evaluate = pytest.importorskip("evaluate")

METRICS = {
    "distinct": Distinct,
    "distinct_avg": DistinctAverage,
    "self_bleu": SelfBleu,
    "repetition": Repetition,
    "ngram_entropy": NgramEntropy,
}
RESPONSES = ["the cat sat on the mat", "the cat sat on the hat", "a dog ran", "你好世界你好"]


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_EVALUATE_OFFLINE", "1")
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "modules"))


@pytest.mark.parametrize("name", MODULES)
def test_module_gives_the_metric_values(name):
    module = evaluate.load(module_path(name))
    assert module.compute(predictions=RESPONSES) == METRICS[name]().compute(RESPONSES)


def test_metric_arguments_pass_through():
    module = evaluate.load(module_path("self_bleu"))
    got = module.compute(predictions=RESPONSES, n=[2, 3], tokenize="whitespace")
    assert got == SelfBleu(n=[2, 3], tokenize="whitespace").compute(RESPONSES)


def test_unknown_module_name_is_refused():
    with pytest.raises(ValueError, match="distinct"):
        module_path("bleurt")

"""Every built-in metric loads as a Hugging Face evaluate module from its local path, offline;
the modules are generated, one per metric, and the files are what the generator writes."""

from __future__ import annotations

import pytest

from rewardhub.hf_evaluate import MODULES, module_path
from rewardhub.hf_evaluate.generate import modules
from rewardhub.metrics import METRICS as BUILTIN
from rewardhub.metrics import SelfBleu

METRICS = {metric.name: metric for metric in BUILTIN}


def test_one_generated_module_per_builtin_metric():
    assert tuple(METRICS) == MODULES
    for path, text in modules().items():
        assert path.read_text() == text, f"{path} differs from what the generator writes"


evaluate = pytest.importorskip("evaluate")
RESPONSES = ["the cat sat on the mat", "the cat sat on the hat", "a dog ran", "你好世界你好"]


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_EVALUATE_OFFLINE", "1")
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "modules"))


@pytest.mark.parametrize("name", MODULES)
def test_module_gives_the_metric_values(name):
    module = evaluate.load(module_path(name))
    try:
        expected = METRICS[name]().compute(RESPONSES)
    except Exception as exc:  # a metric that refuses text it cannot read (the diversity package's, on Chinese)
        with pytest.raises(type(exc)):
            module.compute(predictions=RESPONSES)
        expected = METRICS[name]().compute(RESPONSES[:3])
        assert module.compute(predictions=RESPONSES[:3]) == expected
        return
    assert module.compute(predictions=RESPONSES) == expected


def test_metric_arguments_pass_through():
    module = evaluate.load(module_path("self_bleu"))
    got = module.compute(predictions=RESPONSES, n=[2, 3], tokenize="whitespace")
    assert got == SelfBleu(n=[2, 3], tokenize="whitespace").compute(RESPONSES)


def test_unknown_module_name_is_refused():
    with pytest.raises(ValueError, match="distinct"):
        module_path("bleurt")

"""The toxicity reward on the real offline model of alt-profanity-check, and plugin plumbing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rewardhub_safety import Toxicity
from rewardhub_safety import classifiers as clf
from rewardhub_safety.labels import is_harm_label, toxic_indices

from rewardhub import Sample, Scorer, plugins

INSULT = "You are a stupid worthless idiot, shut the fuck up."
POLITE = "Thank you for asking! Here is a short recipe for banana bread."
REALDATA = Path(__file__).resolve().parents[4] / "shared" / "realdata" / "alpaca_eval"  # ../shared from the repo root


@pytest.fixture(autouse=True)
def _fresh_registry():
    plugins.reset()
    yield
    plugins.reset()


def test_insult_scores_toxic_and_polite_reply_safe():
    reward = Toxicity(backend="profanity")
    insult, polite = reward.score([Sample(INSULT), Sample(POLITE)])
    assert insult.value == -2.0 and insult.info["label"] == "toxic" and insult.info["toxicity"] > 0.9
    assert polite.value == 1.0 and polite.info["label"] == "safe" and polite.info["toxicity"] < 0.1
    assert insult.info["backend"] == polite.info["backend"] == "profanity"


def test_threshold_reward_values_and_continuous_mode():
    p_insult, p_polite = Toxicity(backend="profanity").toxicity([INSULT, POLITE])
    # A threshold above the insult's probability lets it pass; custom reward values apply.
    lenient = Toxicity(backend="profanity", threshold=min(1.0, p_insult + 1e-9), safe_reward=0.5, unsafe_reward=-1)
    assert [s.value for s in lenient.score([Sample(INSULT), Sample(POLITE)])] == [0.5, 0.5]
    strict = Toxicity(backend="profanity", threshold=p_polite / 2, safe_reward=0.5, unsafe_reward=-1)
    assert [s.value for s in strict.score([Sample(INSULT), Sample(POLITE)])] == [-1.0, -1.0]
    continuous = Toxicity(backend="profanity", mode="continuous").score([Sample(INSULT), Sample(POLITE)])
    assert [s.value for s in continuous] == pytest.approx([1 - p_insult, 1 - p_polite])
    assert continuous[0].info["label"] == "toxic"


def test_model_loads_lazily_and_is_shared():
    first, second = Toxicity(backend="profanity"), Toxicity(backend="profanity", threshold=0.9)
    assert first._classifier is None  # nothing loaded by construction
    first.score([Sample(POLITE)])
    assert first.classifier is second.classifier
    first.close()
    assert first._classifier is None


def test_bad_arguments_are_refused():
    for kwargs in ({"backend": "nope"}, {"mode": "scaled"}, {"threshold": 1.5}, {"batch_size": 0}):
        with pytest.raises(ValueError):
            Toxicity(**kwargs)
    with pytest.raises(ValueError, match="profanity"):
        Toxicity(backend="profanity", model="some/model")


def test_auto_backend_resolution(monkeypatch):
    monkeypatch.setattr(clf, "default_model_cached", lambda: False)
    assert clf.resolve_backend("auto", None) == ("profanity", None)
    assert clf.resolve_backend("auto", "my/model") == ("transformers", "my/model")
    monkeypatch.setattr(clf, "default_model_cached", lambda: True)
    assert clf.resolve_backend("auto", None) == ("transformers", clf.DEFAULT_MODEL)
    assert clf.resolve_backend("transformers", None) == ("transformers", clf.DEFAULT_MODEL)


@pytest.mark.parametrize(
    ("label", "harmful"),
    [
        ("hate", True),
        ("nothate", False),
        ("non-toxic", False),
        ("Not_Offensive", False),
        ("severe_toxic", True),
        ("identity_hate", True),
        ("unsafe", True),
        ("safe", False),
        ("neither", False),
        ("normal", False),
        ("LABEL_1", False),
    ],
)
def test_harm_label_names(label, harmful):
    assert is_harm_label(label) is harmful


def test_toxic_indices_rules():
    assert toxic_indices({0: "nothate", 1: "hate"}) == [1]
    assert toxic_indices({0: "hate", 1: "offensive", 2: "neither"}) == [0, 1]
    assert toxic_indices({0: "LABEL_0", 1: "LABEL_1"}) == [1]
    assert toxic_indices({0: "LABEL_0", 1: "LABEL_1"}, toxic_label="label_0") == [0]
    assert toxic_indices({0: "a", 1: "b"}, toxic_label=[0, "b"]) == [0, 1]
    assert toxic_indices({0: "score"}) == [0]
    with pytest.raises(ValueError, match="toxic_label"):
        toxic_indices({0: "positive", 1: "negative"})
    with pytest.raises(ValueError, match="not one of"):
        toxic_indices({0: "nothate", 1: "hate"}, toxic_label="toxic")


def test_discovered_through_entry_point_without_importing_torch():
    code = (
        "import sys, rewardhub.host.registry as p; r = p.registry(); "
        "e = r.rewards['toxicity']; print(e.distribution, e.version, 'torch' in sys.modules)"
    )
    env = {**os.environ, "REWARDHUB_LOAD_PLUGINS": "rewardhub-safety"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["rewardhub-safety", "0.1.0", "False"]


def test_scorer_runs_two_thresholds_side_by_side():
    scorer = Scorer(
        [
            {"name": "toxicity", "args": {"backend": "profanity"}},
            {
                "name": "toxicity",
                "as": "toxicity_lenient",
                "weight": 0.5,
                "args": {"backend": "profanity", "threshold": 1.0},
            },
        ]
    )
    batch = scorer.score([Sample(INSULT, id=1), Sample(POLITE, id=2), Sample(INSULT, id=3)])
    assert batch.components["toxicity"] == [-2.0, 1.0, -2.0]
    assert batch.components["toxicity_lenient"][1] == 1.0
    assert batch.infos["toxicity"][0]["label"] == "toxic"
    assert batch.totals[1] == 1.5
    assert not any(batch.errors)


@pytest.mark.realdata
@pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is absent")
def test_real_alpaca_outputs_are_mostly_safe():
    path = sorted(REALDATA.glob("*.jsonl"))[0]
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:200]]
    batch = Scorer([{"name": "toxicity", "args": {"backend": "profanity"}}]).score(
        [Sample(r["output"], prompt=r["instruction"]) for r in rows]
    )
    labels = [info["label"] for info in batch.infos["toxicity"]]
    assert len(labels) == 200 and labels.count("safe") > 180  # assistant replies are rarely offensive

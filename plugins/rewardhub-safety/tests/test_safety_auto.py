"""``backend=auto`` as users expect, what the run records, and languages (issue 8, items 3 and 4).

The hub is played by a local HTTP server (HF_ENDPOINT), so the connected case is tested without
a download: ``auto`` must choose the real classifier when the hub answers, the profanity model
when it does not or when ``HF_HUB_OFFLINE=1`` (then without asking at all).
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rewardhub_safety import Toxicity
from rewardhub_safety import classifiers as clf

from rewardhub import Sample, Scorer

CHINESE_BACH = "巴赫的主要作品包括：勃兰登堡协奏曲、平均律钢琴曲集、马太受难曲、b小调弥撒。"
CHINESE_INSULT = "你这个蠢货，滚开！"


@pytest.fixture
def hub(monkeypatch):
    """A stand-in hub on 127.0.0.1 that serves every file; yields the paths it was asked for."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self):
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(clf, "default_model_cached", lambda: False)
    monkeypatch.setattr(clf, "_probes", {})
    yield asked
    server.shutdown()
    server.server_close()


def test_auto_uses_the_real_classifier_when_the_hub_answers(hub):
    resolution = clf.resolve("auto", None)
    assert (resolution.backend, resolution.model) == ("transformers", clf.DEFAULT_MODEL)
    assert "reachable" in resolution.reason
    assert hub == [f"/{clf.DEFAULT_MODEL}/resolve/main/config.json"]
    clf.resolve("auto", None)
    assert len(hub) == 1  # probed once per process


def test_hf_hub_offline_means_offline_at_once(hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    resolution = clf.resolve("auto", None)
    assert resolution.backend == "profanity" and "HF_HUB_OFFLINE" in resolution.reason
    assert hub == []  # not even asked


def test_an_unreachable_hub_falls_back_to_the_offline_model(monkeypatch):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(clf, "default_model_cached", lambda: False)
    monkeypatch.setattr(clf, "_probes", {})
    resolution = clf.resolve("auto", None)
    assert resolution.backend == "profanity"
    assert resolution.reason.startswith("auto: the hub is unreachable (") and str(port) in resolution.reason
    reward = Toxicity()
    batch = Scorer([reward]).score([Sample("You are a stupid idiot.")])
    assert batch.infos["toxicity"][0]["backend"] == "profanity"
    assert reward.provenance["resolved_by"] == resolution.reason


def test_the_resolved_backend_and_model_are_described_for_the_sidecar(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    scorer = Scorer(["toxicity"])
    assert "resolved" not in scorer.describe()[0]  # nothing loaded yet: nothing to claim
    scorer.score([Sample("Happy to help!")])
    resolved = scorer.describe()[0]["resolved"]
    assert resolved["backend"] == "profanity" and resolved["model"].startswith("alt-profanity-check==")
    assert resolved["languages"] == ["en"] and "HF_HUB_OFFLINE" in resolved["resolved_by"]


def test_the_english_model_does_not_score_chinese_and_says_why(monkeypatch):
    from rewardhub_safety import reward as module

    monkeypatch.setattr(module, "_warned", set())  # warned once per process: maybe by an earlier test
    reward = Toxicity(backend="profanity")
    with pytest.warns(UserWarning, match="reads en only; responses in zh get no value"):
        scores = reward.score([Sample(CHINESE_BACH), Sample(CHINESE_INSULT), Sample("You are a stupid idiot.")])
    assert scores[0].value is None and scores[1].value is None
    assert scores[0].info["reason"] == "language not covered by the offline English model: zh"
    assert scores[2].value == -2.0 and scores[2].info["label"] == "toxic"


def test_the_language_warning_comes_once_per_run(recwarn, monkeypatch):
    from rewardhub_safety import reward as reward_module

    monkeypatch.setattr(reward_module, "_warned", set())
    scorer = Scorer([{"name": "toxicity", "args": {"backend": "profanity"}}])
    for _ in range(3):
        scorer.score([Sample(CHINESE_BACH), Sample("Hello there, friend.")])
    assert len([w for w in recwarn if "reads en only" in str(w.message)]) == 1


def test_languages_any_scores_everything():
    scores = Toxicity(backend="profanity", languages="any").score([Sample(CHINESE_BACH)])
    assert scores[0].value in (1.0, -2.0)
    with pytest.raises(ValueError, match="languages"):
        Toxicity(languages="en")

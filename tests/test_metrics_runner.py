"""compute_metrics: whole set and by group, shared work between metrics, isolation of failures."""

from __future__ import annotations

import pytest

import rewardhub
from rewardhub import Sample, compute_metrics
from rewardhub.io import read_samples
from rewardhub.metrics import base
from rewardhub.metrics.distinct import Distinct
from rewardhub.metrics.repetition import Repetition
from tests.conftest import EVALDATA

NGRAM_METRICS = ["distinct", "distinct_avg", "repetition", "ngram_entropy", "self_bleu"]


def test_each_set_is_tokenized_once_for_all_ngram_metrics(monkeypatch):
    built: list[int] = []
    original = base.NgramCorpus.__init__

    def spy(self, token_lists):
        built.append(len(token_lists))
        original(self, token_lists)

    monkeypatch.setattr(base.NgramCorpus, "__init__", spy)
    base._CORPORA.clear()
    samples = read_samples(EVALDATA / "chat_en.jsonl")
    compute_metrics(NGRAM_METRICS, samples, by_group=True)
    groups = {s.group_key for s in samples}
    assert sorted(built) == sorted([len(samples)] + [sum(s.group_key == g for s in samples) for g in groups])


def test_shared_corpora_give_the_values_each_metric_gives_alone():
    samples = read_samples(EVALDATA / "chat_en.jsonl")
    together = compute_metrics(NGRAM_METRICS, samples).values
    for metric in (Distinct(), Repetition()):
        base._CORPORA.clear()
        for key, value in metric.compute(samples).items():
            assert together[key] == pytest.approx(value, abs=1e-12)


def test_a_metric_failing_on_one_group_is_reported_and_the_others_stand():
    @rewardhub.metric("fragile_metric")
    def fragile(samples):
        if any(s.response == "boom" for s in samples):
            raise ValueError("boom")
        return {"fragile_metric": 1.0}

    samples = [Sample("a b c", prompt="p"), Sample("a b d", prompt="p"), Sample("boom", prompt="q")]
    results = compute_metrics([fragile, "distinct"], samples, by_group=True)
    assert results.errors == {"fragile_metric": "ValueError: boom"}
    assert "fragile_metric" not in results.values and "by_group/fragile_metric" not in results.values
    assert "by_group/distinct_1" in results.values

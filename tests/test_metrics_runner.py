"""compute_metrics: whole set and by group, shared work between metrics, isolation of failures."""

from __future__ import annotations

import math

import rewardhub
from rewardhub import Sample, compute_metrics
from rewardhub.io import read_samples
from rewardhub.metrics import hashed
from rewardhub.metrics.distinct import Distinct
from rewardhub.metrics.repetition import Repetition
from rewardhub.metrics.runner import ExactSum
from tests.conftest import EVALDATA

NGRAM_METRICS = ["distinct", "distinct_avg", "repetition", "ngram_entropy", "self_bleu"]


def test_each_set_is_tokenized_once_for_all_ngram_metrics(monkeypatch):
    built: list[int] = []
    original = hashed.HashedChunk._start

    def spy(self, text_hashes, lengths, flat):
        built.append(len(lengths))
        original(self, text_hashes, lengths, flat)

    monkeypatch.setattr(hashed.HashedChunk, "_start", spy)
    hashed.forget_chunks()
    hashed.TEXT_HASHES.clear()
    samples = read_samples(EVALDATA / "chat_en.jsonl")
    compute_metrics(NGRAM_METRICS, samples, by_group=True)
    groups = {s.group_key for s in samples}
    sizes = [sum(s.group_key == g for s in samples) for g in groups]
    # the whole set once for both of self-BLEU's passes and the other metrics; each group once
    assert sorted(built) == sorted([len(samples)] + sizes)


def test_shared_chunks_give_the_values_each_metric_gives_alone():
    samples = read_samples(EVALDATA / "chat_en.jsonl")
    together = compute_metrics(NGRAM_METRICS, samples).values
    for metric in (Distinct(), Repetition()):
        hashed.forget_chunks()
        for key, value in metric.compute(samples).items():
            assert together[key] == value


def test_a_metric_failing_on_one_group_is_reported_and_the_others_stand():
    @rewardhub.metric("fragile_metric")
    def fragile(samples):
        if any(s.response == "boom" for s in samples):
            raise ValueError("boom")
        return {"fragile_metric": 1.0}

    samples = [Sample("a b c", prompt="p"), Sample("a b d", prompt="p"), Sample("boom", prompt="q")]
    results = compute_metrics([fragile, "distinct"], samples, by_group=True)
    assert results.errors == {
        "fragile_metric": "ValueError: boom",
        "by_group/fragile_metric": "failed on 1 of 2 groups (first: group ('prompt', 'q'): ValueError: boom)",
    }
    assert "fragile_metric" not in results.values
    assert results.values["by_group/fragile_metric"] == 1.0  # the group that worked keeps its value
    assert "by_group/distinct_1" in results.values


def test_a_metric_returning_a_non_dict_is_its_error_not_a_traceback():
    @rewardhub.metric("listy_metric")
    def listy(samples):
        return [1.0, 2.0]

    @rewardhub.metric("stringy_metric")
    def stringy(samples):
        return {"stringy": "high"}

    samples = [Sample("a b c", prompt="p"), Sample("a b d", prompt="p")]
    results = compute_metrics([listy, stringy, "distinct"], samples, by_group=True)
    assert results.errors["listy_metric"] == "TypeError: returned list, not a dict of numbers"
    assert results.errors["stringy_metric"] == "TypeError: value 'stringy' is str, not a number"
    assert results.errors["by_group/listy_metric"].startswith("failed on 1 of 1 groups")
    assert results.values["distinct_1"] == 4 / 6


def test_group_means_are_exact_in_any_order():
    values = [0.1, 0.2, 0.3, 1e16, -1e16, 0.7]
    forward, backward = ExactSum(), ExactSum()
    for v in values:
        forward.add(v)
    halves = [ExactSum(), ExactSum()]
    for i, v in enumerate(reversed(values)):
        halves[i % 2].add(v)
    backward.merge(halves[1])
    backward.merge(halves[0])
    assert forward.mean() == backward.mean() == math.fsum(values) / len(values)

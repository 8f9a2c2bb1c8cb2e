"""A metric value that cannot be computed honestly is ``None`` with its reason, not an error
(``rewardhub.MetricUndefined``; the runner's contract in ``rewardhub/metrics/runner.py``)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import rewardhub
from rewardhub import Sample, compute_metrics
from rewardhub.cli import cli
from rewardhub.evaluate import EvalOptions, evaluate_files
from rewardhub.metrics.runner import MetricsAccumulator
from tests.conftest import ROOT

EVALDATA = sorted((ROOT / "evaldata").glob("*.jsonl"))
ENGLISH = ["the cat sat on the mat", "a dog ran in the park today", "the cat sat on the mat again"]
CHINESE = ["我们今天去公园散步。", "他每天早上喝一杯咖啡。"]


class OddOnly(rewardhub.Metric):
    """Defined on groups of an odd size only: a throwaway metric that refuses the others."""

    name = "odd_only"
    higher_is_better = True

    def compute(self, samples):
        if len(samples) % 2 == 0:
            raise rewardhub.MetricUndefined(f"odd_only: {len(samples)} responses is an even number")
        return {"odd_only": float(len(samples))}


def test_an_undefined_value_is_none_with_its_reason_and_other_metrics_go_on():
    samples = [Sample(t) for t in ENGLISH + CHINESE]
    result = compute_metrics(["ngram_diversity_score", "distinct"], samples)
    assert "2 of 5 responses are CJK text" in result.undefined["ngram_diversity_score"]
    assert result.errors == {}
    assert result.values["distinct_2"] > 0
    assert result.directions["ngram_diversity_score"] is True


def test_groups_where_it_is_undefined_are_left_out_of_the_mean_and_said_so():
    groups = [["a b", "c d", "e f"], ["g h", "i j"], ["k l", "m n", "o p"]]
    samples = [Sample(t, prompt=f"p{i}") for i, group in enumerate(groups) for t in group]
    run = MetricsAccumulator([OddOnly()], by_group=True)
    run.add(samples)
    run.add_groups([[s for s in samples if s.prompt == f"p{i}"] for i in range(3)])
    result = run.result()
    assert "odd_only" not in result.values  # the whole set: 8 responses, an even number
    assert result.undefined["odd_only"] == "odd_only: 8 responses is an even number"
    assert result.values["by_group/odd_only"] == 3.0  # the mean of the two odd groups, exactly
    assert "1 of 3 groups left out" in result.notes["by_group/odd_only"]
    assert result.errors == {}


def test_every_group_undefined_gives_a_none_mean_with_the_reason():
    samples = [Sample("a b", prompt="p"), Sample("c d", prompt="p")]
    run = MetricsAccumulator([OddOnly()], by_group=True)
    run.add(samples)
    run.add_groups([samples])
    result = run.result()
    assert "by_group/odd_only" not in result.values
    assert result.undefined["by_group/odd_only"].startswith("undefined on every group (1): odd_only: 2 responses")


def test_merged_accumulators_keep_the_reason():
    one, two = MetricsAccumulator(["ngram_diversity_score"]), MetricsAccumulator(["ngram_diversity_score"])
    one.add([Sample(t) for t in ENGLISH])
    two.add([Sample(t) for t in CHINESE])
    one.merge(two)
    result = one.result()
    assert "CJK text" in result.undefined["ngram_diversity_score"] and result.errors == {}


def test_eval_on_evaldata_reports_none_with_the_reason_not_errors():
    """The README's main job: Chinese answers under the package's whitespace split."""
    options = EvalOptions(rewards="none", metrics="ngram_diversity_score,distinct", by_group=True)
    result = evaluate_files(EVALDATA, options)
    summary = result.summary
    assert summary["metrics"]["ngram_diversity_score"] is None
    assert "11 of 36 responses are CJK text" in summary["metric_reasons"]["ngram_diversity_score"]
    assert summary["errors"] == 0 and result.metric_errors == {}
    assert summary["metrics"]["distinct_2"] > 0
    assert summary["metrics"]["by_group/ngram_diversity_score"] > 0  # the English groups
    assert "groups left out" in result.metric_notes["by_group/ngram_diversity_score"]


def test_the_cli_shows_no_value_and_the_reason_and_json_carries_null():
    args = ["eval", *map(str, EVALDATA), "--rewards", "none", "--metrics", "self_repetition_score"]
    people = CliRunner().invoke(cli, args)
    assert people.exit_code == 0, people.output
    said = " ".join(people.output.split())  # the table wraps at 80 columns
    assert "self_repetition_score: no value: 11 of 36 responses are CJK text" in said
    assert "failed" not in said and "errors" not in said
    machines = CliRunner().invoke(cli, [*args, "--json"])
    document = json.loads(machines.stdout)
    assert document["metrics"] == {"self_repetition_score": None}
    assert document["metric_directions"] == {"self_repetition_score": False}
    assert "CJK" in document["metric_reasons"]["self_repetition_score"]


@pytest.mark.parametrize("name", ["ngram_diversity_score", "self_repetition_score"])
def test_zh_tokenizer_gives_a_value(name):
    result = compute_metrics([name], [Sample(t) for t in ENGLISH + CHINESE], tokenize="zh")
    assert result.undefined == {} and result.values[name] > 0

"""A default that fits the data (issue 16.9): with no ``--rewards`` and no ``--config``, ``eval``
runs the installed rewards that apply to the rows at hand (decided on the first rows, before
any scoring), says in one line what it left out and why, shows a reward with no value on any
row as one line rather than a row of dashes; naming only ``--metrics`` runs no rewards, and
naming only ``--rewards`` computes the host's own metrics, not the model-backed ones."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import rewardhub
from rewardhub import plugins
from rewardhub.cli import cli
from rewardhub.evaluation import EvalOptions, evaluate_files, resolve_config
from tests.conftest import EVALDATA

CHAT_EN = EVALDATA / "chat_en.jsonl"  # prompt, response, id: no reference, no images


class NeedsReference(rewardhub.Reward):
    """Scores against the reference; must never be called on data without one."""

    name = "needs_ref"
    requires = ("reference",)
    calls = 0

    def score(self, samples):
        NeedsReference.calls += 1
        return [
            rewardhub.Score(None, {"reason": "no reference"})
            if s.reference is None
            else float(s.reference in s.response)
            for s in samples
        ]


class TagFormat(rewardhub.Reward):
    name = "tag_format"
    kind = "format"

    def score(self, samples):
        return [1.0 if s.response.startswith("<answer>") else 0.0 for s in samples]


class NeedsRubric(rewardhub.Reward):
    """Declares its need in code: a ``rubric`` field of the row (a key of ``meta``)."""

    name = "needs_rubric"

    def __init__(self, rubric: str | None = None):
        self.rubric = rubric

    def missing_input(self, samples):
        if self.rubric or any("rubric" in s.meta for s in samples):
            return None
        return "needs a 'rubric' field (or the rubric arg)"

    def score(self, samples):
        return [float(len(s.meta.get("rubric", self.rubric or ""))) for s in samples]


@rewardhub.reward("plain_length", inputs=("response",))
def plain_length(response: str) -> float:
    """A third-party reward written before ``requires``/``kind`` existed: always kept."""
    return float(len(response))


class DefaultsPlugin:
    @rewardhub.hookimpl
    def register_rewards(register):
        for reward in (NeedsReference, TagFormat, NeedsRubric, plain_length):
            register(reward)


@pytest.fixture
def only_ours(register_plugin, monkeypatch):
    """The built-ins and this file's rewards only: no installed plugin, no model."""
    monkeypatch.setenv("REWARDHUB_LOAD_PLUGINS", "")
    plugins.reset()
    register_plugin(DefaultsPlugin, "defaults-plugin")
    NeedsReference.calls = 0


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_the_default_leaves_out_what_does_not_apply_before_scoring(only_ours):
    result = evaluate_files([CHAT_EN], EvalOptions(metrics="none"))
    # the host's own `truncated` needs a finish_reason-like field, which chat_en lacks too
    assert set(result.left_out) == {"needs_ref", "tag_format", "needs_rubric", "truncated"}
    assert result.left_out["needs_ref"].startswith("needs 'reference'")
    assert "none in the first 200 rows of each file" in result.left_out["needs_ref"]
    assert "format" in result.left_out["tag_format"]
    assert result.left_out["needs_rubric"].startswith("needs a 'rubric' field")
    assert "finish_reason" in result.left_out["truncated"]
    assert set(result.summary["rewards"]) == {
        "plain_length",
        "repetition_penalty",
        "repetition_loop",
        "diversity_bonus",
    }
    assert NeedsReference.calls == 0  # decided on the data, not by scoring


def test_data_that_has_the_field_keeps_the_reward(only_ours, tmp_path):
    data = tmp_path / "ref.jsonl"
    rows = [{"prompt": "2+2?", "response": f"It is {i}", "reference": "4" if i == 4 else None} for i in range(6)]
    rows[2]["rubric"] = "be exact"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = evaluate_files([data], EvalOptions(metrics="none"))
    assert set(result.left_out) == {"tag_format", "truncated"}  # one row with a reference is enough
    assert result.summary["rewards"]["needs_ref"]["mean"] == 1.0
    assert result.summary["rewards"]["needs_ref"]["missing"] == 5
    assert "needs_rubric" in result.summary["rewards"]


def test_named_rewards_always_run(only_ours):
    result = evaluate_files([CHAT_EN], EvalOptions(rewards="needs_ref,tag_format", metrics="none"))
    assert result.left_out == {}
    assert set(result.summary["rewards"]) == {"needs_ref", "tag_format"}
    assert result.summary["rewards"]["tag_format"]["max"] == 0.0
    assert result.summary["rewards"]["needs_ref"]["missing"] == 21 and NeedsReference.calls > 0


def test_one_line_says_what_was_left_out_and_quiet_says_nothing(only_ours):
    result = run("eval", str(CHAT_EN), "--metrics", "none")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if "leaves out" in line]
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("rewardhub: the default run leaves out 4 rewards that do not apply: ")
    for name in ("needs_ref", "tag_format", "needs_rubric", "truncated"):
        assert name in line
    assert "--rewards" in line
    assert "leaves out" not in run("eval", str(CHAT_EN), "--metrics", "none", "--quiet").stderr


def test_naming_only_metrics_runs_no_rewards(only_ours):
    result = evaluate_files([CHAT_EN], EvalOptions(metrics="distinct"))
    assert result.summary["rewards"] == {} and "distinct_1" in result.summary["metrics"]
    assert result.left_out == {}


def test_naming_only_rewards_computes_the_builtin_metrics(only_ours, register_plugin):
    class ModelMetric(rewardhub.Metric):
        name = "model_metric"

        def compute(self, samples):
            raise AssertionError("a model-backed metric must not run when only --rewards is named")

    class MetricPlugin:
        @rewardhub.hookimpl
        def register_metrics(register):
            register(ModelMetric)

    register_plugin(MetricPlugin, "model-metric-plugin")
    run_config = resolve_config(EvalOptions(rewards="repetition_penalty")).run
    registry = plugins.registry()
    builtin = sorted(n for n, e in registry.metrics.items() if e.distribution == "rewardhub")
    assert [m.name for m in run_config.metrics] == builtin and "model_metric" not in builtin
    result = evaluate_files([CHAT_EN], EvalOptions(rewards="repetition_penalty"))
    assert "distinct_1" in result.summary["metrics"] and result.metric_errors == {}
    # "none" names nothing: the other list keeps its default
    assert resolve_config(EvalOptions(rewards="none")).run.metrics[-1].name in registry.metrics
    assert {m.name for m in resolve_config(EvalOptions(rewards="none")).run.metrics} == set(registry.metrics)


def test_a_reward_with_no_value_on_any_row_is_one_line_not_a_row(only_ours):
    result = run("eval", str(CHAT_EN), "--rewards", "needs_ref,plain_length", "--metrics", "none")
    assert result.exit_code == 0, result.output
    table = result.stdout.splitlines()
    assert any(line.startswith("plain_length") for line in table)
    assert not any(line.startswith("needs_ref") for line in table)  # no row of dashes
    empty = [line for line in table if line.startswith("no value on any of the 21 rows")]
    assert empty == ["no value on any of the 21 rows: needs_ref (no reference)"]
    assert not any(line.startswith("needs_ref: 21 of 21 missing") for line in table)  # said once
    # the JSON document keeps every reward's entry: it is for programs
    summary = json.loads(run("eval", str(CHAT_EN), "--rewards", "needs_ref", "--metrics", "none", "--json").stdout)
    assert summary["rewards"]["needs_ref"]["missing"] == 21
    assert summary["rewards"]["needs_ref"]["missing_reasons"] == {"no reference": 21}


def test_attributes_are_optional_and_checks_that_fail_keep_the_reward():
    from rewardhub.defaults import why_left_out

    class Legacy:  # a duck-typed reward object without any of the new attributes
        name = "legacy"

    class Broken(rewardhub.Reward):
        name = "broken_check"

        def missing_input(self, samples):
            raise RuntimeError("a plugin bug")

    sample = rewardhub.Sample("text")
    assert why_left_out(Legacy(), [sample]) is None
    assert why_left_out(Broken(), [sample]) is None
    assert why_left_out(NeedsReference(), []) is None  # a stream: nothing peeked, nothing left out
    assert why_left_out(TagFormat(), []) is not None  # a format reward is left out on any data


def test_reward_function_decorator_takes_requires_and_kind(register_plugin, monkeypatch):
    @rewardhub.reward("exact", requires=("reference",), kind="measure")
    def exact(response: str, reference: str | None = None) -> float:
        return float(response == reference)

    class Plugin:
        @rewardhub.hookimpl
        def register_rewards(register):
            register(exact)

    from rewardhub.defaults import applicable

    monkeypatch.setenv("REWARDHUB_LOAD_PLUGINS", "")
    plugins.reset()
    register_plugin(Plugin, "exact-plugin")
    kept, left_out = applicable(
        resolve_config(EvalOptions(rewards="exact")).run.rewards, [rewardhub.Sample("a", reference=None)]
    )
    assert kept == [] and left_out["exact"].startswith("needs 'reference'")
    with pytest.raises(ValueError, match="kind must be one of"):
        rewardhub.reward("bad", kind="formatting")(lambda response: 0.0)


@pytest.mark.realdata
def test_alpaca_eval_default_runs_only_what_applies(realdata):
    """With every plugin installed, a default run on alpaca_eval leaves out the rewards that
    need a reference or images, the format rewards and the shaping penalty, and no reward left
    in the table is constant 0 for want of a format."""
    source = realdata / "alpaca_eval" / "Qwen1.5-7B-Chat.jsonl"
    registry = plugins.registry()
    expected = {"clip_similarity", "code_tests", "math_accuracy", "think_format", "regex_format", "soft_overlong"}
    expected &= set(registry.rewards)
    result = evaluate_files([source], EvalOptions(metrics="none"))
    assert expected <= set(result.left_out)
    assert "truncated" in result.left_out  # no finish_reason in alpaca_eval's rows
    for name, stats in result.summary["rewards"].items():
        reward = registry.rewards[name].obj
        assert getattr(reward, "kind", "measure") == "measure", name
        if stats["missing"] == result.summary["n"]:  # only a group-aware one, on groups of one
            assert getattr(reward, "group_aware", False), name

"""A default run says in one line every reward it leaves out: those that do not apply to the
data and those that cannot be built without args (a judge's ``base_url``, a reward model's
``model``), with no separate warning per reward (``rewardhub/config/resolve.py``)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import rewardhub
from rewardhub import plugins
from rewardhub.cli import cli
from rewardhub.config.resolve import needs_args, resolve_config
from rewardhub.evaluate import EvalOptions, evaluate_files
from tests.conftest import ROOT

CHAT_EN = ROOT / "evaldata" / "chat_en.jsonl"


class Judge(rewardhub.Reward):
    name = "needs_endpoint"

    def __init__(self, base_url: str, model: str):
        self.base_url, self.model = base_url, model

    def score(self, samples):
        return [1.0 for _ in samples]


class Scaled(rewardhub.Reward):
    name = "needs_scale"

    def __init__(self, *, scale: float):
        self.scale = scale

    def score(self, samples):
        return [self.scale for _ in samples]


class Plain(rewardhub.Reward):
    name = "plain_words"

    def score(self, samples):
        return [float(len(s.response.split())) for s in samples]


class ArgsPlugin:
    @rewardhub.hookimpl
    def register_rewards(register):
        for reward in (Judge, Scaled, Plain):
            register(reward)


@pytest.fixture
def ours(register_plugin, monkeypatch):
    monkeypatch.setenv("REWARDHUB_LOAD_PLUGINS", "")
    plugins.reset()
    register_plugin(ArgsPlugin, "args-plugin")


def test_one_line_names_the_rewards_that_need_args_and_no_warning_repeats_it(ours):
    result = CliRunner().invoke(cli, ["eval", str(CHAT_EN), "--metrics", "none"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if "left out" in line or "leaves out" in line]
    assert said == [line for line in result.stderr.splitlines() if "leaves out" in line]  # no per-reward warning
    assert len(said) == 1
    line = said[0]
    assert "needs_endpoint (needs args: base_url, model)" in line
    assert "needs_scale (needs args: scale)" in line
    assert "truncated (needs one of the fields" in line  # the data's reasons share the line
    assert "plain_words" not in line and "with its args in --config" in line


def test_the_api_lists_them_in_left_out_and_runs_the_rest(ours):
    result = evaluate_files([CHAT_EN], EvalOptions(metrics="none"))
    assert result.left_out["needs_endpoint"] == "needs args: base_url, model"
    assert result.warnings == []
    assert "plain_words" in result.summary["rewards"]


def test_an_explicit_preset_still_warns(ours):
    resolved = resolve_config(rewards="all", metrics="none")
    assert resolved.left_out == {}
    assert any("'needs_endpoint' left out" in warning for warning in resolved.warnings)


@pytest.mark.parametrize(
    ("why", "said"),
    [
        (
            "bad args {}: J.__init__() missing 2 required positional arguments: 'base_url' and 'model'",
            "needs args: base_url, model",
        ),
        ("bad args {}: S.__init__() missing 1 required keyword-only argument: 'scale'", "needs args: scale"),
        ("bad args {}: pattern must be a regex", "cannot be built without args"),
    ],
)
def test_needs_args_reads_what_python_says(why, said):
    assert needs_args(why) == said

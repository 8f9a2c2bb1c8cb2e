"""``Reward.run_stats``: a reward's counts over the run (requests, tokens, cache hits...) reach
``eval``'s summary (``--json``), its sidecar and one line under its table; junk and failures
in it are left out without taking the run down."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import rewardhub
from rewardhub.cli import cli


class Counting(rewardhub.Reward):
    """Counts its calls and samples; reports them (and junk that must be left out)."""

    name = "counting_reward"

    def __init__(self):
        self.calls = self.samples = 0

    def score(self, samples):
        self.calls += 1
        self.samples += len(samples)
        return [1.0 for _ in samples]

    def run_stats(self):
        return {
            "calls": self.calls,
            "samples": self.samples,
            "seconds": 0.25,
            "flag": True,
            "nan": float("nan"),
            "x": "y",
        }


class Broken(rewardhub.Reward):
    name = "broken_stats_reward"

    def score(self, samples):
        return [0.5 for _ in samples]

    def run_stats(self):
        raise RuntimeError("stats went wrong")


class Plugin:
    @rewardhub.hookimpl
    def register_rewards(register):
        register(Counting)
        register(Broken)


@pytest.fixture
def data(tmp_path, register_plugin):
    register_plugin(Plugin, "run-stats-test")
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"p{i}", "response": f"r{i}"}) + "\n" for i in range(10)))
    return path


def test_the_counts_reach_the_summary_the_sidecar_and_the_table(data, tmp_path):
    out = tmp_path / "out.jsonl"
    args = [
        "eval",
        str(data),
        "--rewards",
        "counting_reward,broken_stats_reward",
        "--metrics",
        "none",
        "--chunk-size",
        "4",
    ]
    result = CliRunner().invoke(cli, [*args, "--json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{") :])
    assert summary["rewards"]["counting_reward"]["stats"] == {"calls": 3, "samples": 10, "seconds": 0.25}
    assert "stats" not in summary["rewards"]["broken_stats_reward"]  # its failure is its own
    assert summary["rewards"]["broken_stats_reward"]["mean"] == 0.5
    sidecar = json.loads((tmp_path / "out.meta.json").read_text())
    assert sidecar["summary"]["rewards"]["counting_reward"]["stats"]["samples"] == 10
    table = CliRunner().invoke(cli, args)
    assert "counting_reward: calls 3, samples 10, seconds 0.25" in table.output


def test_rewards_without_counts_add_nothing(data):
    result = CliRunner().invoke(
        cli, ["eval", str(data), "--rewards", "repetition_penalty", "--metrics", "none", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert "stats" not in json.loads(result.output)["rewards"]["repetition_penalty"]


def test_the_default_is_none():
    assert rewardhub.Reward().run_stats() is None

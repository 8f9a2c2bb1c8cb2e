"""`rewardhub eval` through click's CliRunner: output, summaries, bad input, failing plugins, resume."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import rewardhub
from rewardhub.cli import cli
from tests.conftest import EVALDATA

CHAT_EN = str(EVALDATA / "chat_en.jsonl")


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_default_run_prints_a_table_of_every_installed_reward():
    result = run("eval", CHAT_EN)
    assert result.exit_code == 0, result.output
    assert "21 samples" in result.output
    for name in rewardhub.host.registry.registry().rewards:
        assert name in result.output


def test_json_summary_has_exactly_the_documented_shape():
    result = run("eval", CHAT_EN, "--rewards", "token_entropy", "--json")
    data = json.loads(result.output)
    assert set(data) == {"n", "rewards", "total", "metrics", "metric_directions", "errors"}
    assert data["n"] == 21 and data["errors"] == 0
    stats = {"mean", "std", "min", "max", "missing"}
    assert set(data["rewards"]["token_entropy"]) == {*stats, "missing_reasons", "higher_is_better"}
    assert set(data["total"]) == stats
    assert 0 <= data["rewards"]["token_entropy"]["min"] < data["rewards"]["token_entropy"]["mean"] <= 1


def test_output_keeps_every_row_and_field_and_writes_provenance(tmp_path):
    out = tmp_path / "scored.jsonl"
    result = run("eval", CHAT_EN, "--rewards", "token_entropy:0.5", "-o", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    inputs = read_jsonl(Path(CHAT_EN))
    rows = read_jsonl(out)
    assert len(rows) == len(inputs)
    for given, row in zip(inputs, rows):
        assert {k: row[k] for k in given} == given
        assert row["reward"] == pytest.approx(0.5 * row["rewards"]["token_entropy"])
        assert row["errors"] == {}
    meta = json.loads((tmp_path / "scored.meta.json").read_text())
    assert meta["config"]["rewards"][0]["weight"] == 0.5
    assert meta["config"]["rewards"][0]["distribution"] == "rewardhub-testing"
    assert meta["inputs"][0]["sha256"] == rewardhub.io.file_sha256(CHAT_EN)
    assert {"rewardhub", "created", "plugins", "summary"} <= set(meta)
    assert not list(tmp_path.glob("*.partial*"))


def test_config_file_with_alias_and_weights(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "rewards:\n  - {name: token_entropy, weight: 2}\n"
        "  - {name: token_entropy, as: entropy_char, args: {tokenize: char}}\n"
    )
    data = json.loads(run("eval", CHAT_EN, "--config", str(config), "--json").output)
    assert set(data["rewards"]) == {"token_entropy", "entropy_char"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"prompt": "p", "response": "ok"}\n{"prompt": "p", "response": \n', "bad.jsonl:2: invalid JSON"),
        (b'{"prompt": "p", "response": "ok"}\n{"prompt": "p"}\n', "bad.jsonl:2: no 'response' field"),
        (b'{"prompt": "p", "response": ["x", 1]}\n', "bad.jsonl:1: field 'response' must be a string"),
        (b'{"prompt": "p", "response": "\xc3\x28"}\n', "bad.jsonl:1: not valid UTF-8"),
        (b"", "bad.jsonl: no samples: the file is empty"),
    ],
)
def test_bad_input_is_one_clear_line_and_never_touches_the_output(tmp_path, content, message):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(content)
    out = tmp_path / "out.jsonl"
    out.write_text("previous results\n")
    result = run("eval", str(bad), "--rewards", "token_entropy", "-o", str(out))
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and message in result.output
    assert "Traceback" not in result.output
    assert out.read_text() == "previous results\n"


def test_skip_invalid_reports_how_many_and_where(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"prompt": "p", "response": "a b"}\nnope\n{"prompt": "p", "response": 5}\n{"prompt": "p", "response": "c"}\n'
    )
    out = tmp_path / "out.jsonl"
    result = run("eval", str(bad), "--rewards", "token_entropy", "--skip-invalid", "-o", str(out))
    assert result.exit_code == 0
    assert f"skipped 2 invalid rows ({bad}:2, {bad}:3)" in result.output
    assert [r["response"] for r in read_jsonl(out)] == ["a b", "c"]


class Fragile(rewardhub.Reward):
    """Raises on one particular response; a throwaway plugin's reward."""

    name = "fragile"
    batch_size = 8

    def score(self, samples):
        if any(s.response == "Smokey." for s in samples):
            raise RuntimeError("choked on a one-word answer")
        return [1.0 for _ in samples]


class FragilePlugin:
    @rewardhub.hookimpl
    def register_rewards(register):
        register(Fragile)


def test_a_reward_raising_on_one_sample_spoils_only_that_sample(tmp_path, register_plugin):
    register_plugin(FragilePlugin, "fragile-plugin")
    out = tmp_path / "out.jsonl"
    result = run("eval", CHAT_EN, "--rewards", "fragile,token_entropy", "-o", str(out), "--json")
    assert json.loads(result.output)["errors"] == 1
    rows = read_jsonl(out)
    bad = [r for r in rows if r["response"] == "Smokey."]
    assert bad[0]["rewards"]["fragile"] is None
    assert bad[0]["errors"] == {"fragile": "RuntimeError: choked on a one-word answer"}
    assert bad[0]["rewards"]["token_entropy"] is not None
    assert all(r["rewards"]["fragile"] == 1.0 for r in rows if r is not bad[0])


class Interrupting(rewardhub.Reward):
    """Deterministic group-aware reward that can press Ctrl-C (a real SIGINT) after some calls."""

    name = "group_rank"
    group_aware = True
    batch_size = 4
    calls_before_kill: int | None = None

    def score(self, samples):
        cls = type(self)
        if cls.calls_before_kill is not None:
            if cls.calls_before_kill == 0:
                # A KeyboardInterrupt raised by a reward is that reward's error; a SIGINT is the user.
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(2)
            cls.calls_before_kill -= 1
        return [
            float(sum(len(t.response) < len(s.response) for t in samples if t.group_key == s.group_key))
            for s in samples
        ]


class InterruptingPlugin:
    @rewardhub.hookimpl
    def register_rewards(register):
        register(Interrupting)


def test_resume_after_an_interruption_gives_the_same_file(tmp_path, register_plugin):
    register_plugin(InterruptingPlugin, "interrupting")
    args = [
        "eval",
        CHAT_EN,
        str(EVALDATA / "chat_zh.jsonl"),
        "--rewards",
        "group_rank,token_entropy",
        "--chunk-size",
        "3",
    ]
    full = tmp_path / "full.jsonl"
    assert run(*args, "-o", str(full)).exit_code == 0

    out = tmp_path / "resumed.jsonl"
    Interrupting.calls_before_kill = 3
    interrupted = CliRunner().invoke(cli, [*args, "-o", str(out)])
    assert interrupted.exit_code == 130
    assert "re-run with --resume" in interrupted.output
    assert not out.exists() and (tmp_path / "resumed.jsonl.partial").stat().st_size > 0
    Interrupting.calls_before_kill = None
    assert run(*args, "-o", str(out), "--resume").exit_code == 0
    assert out.read_bytes() == full.read_bytes()


def test_resume_refuses_a_changed_configuration(tmp_path, register_plugin):
    register_plugin(InterruptingPlugin, "interrupting")
    out = tmp_path / "out.jsonl"
    Interrupting.calls_before_kill = 1
    CliRunner().invoke(cli, ["eval", CHAT_EN, "--rewards", "group_rank", "--chunk-size", "2", "-o", str(out)])
    Interrupting.calls_before_kill = None
    result = run("eval", CHAT_EN, "--rewards", "group_rank:2", "-o", str(out), "--resume")
    assert result.exit_code == 2
    assert "cannot resume" in result.output


def test_resume_needs_an_output():
    result = run("eval", CHAT_EN, "--resume")
    assert result.exit_code == 2 and "--resume needs -o" in result.output


def test_listing_commands_as_json():
    rewards = json.loads(run("rewards", "--json").output)
    assert {"name", "distribution", "version", "description"} <= set(rewards[0])
    metrics = json.loads(run("metrics", "--json").output)
    assert isinstance(metrics, list)
    everything = json.loads(run("plugins", "--all", "--json").output)
    assert any(p["builtin"] for p in everything)


def test_self_bleu_uses_every_response_unless_sampling_is_asked_for():
    from rewardhub.io import read_samples
    from rewardhub.metrics.self_bleu import SelfBleu

    samples = read_samples(CHAT_EN)
    full = json.loads(run("eval", CHAT_EN, "--rewards", "none", "--metrics", "self_bleu", "--json").output)
    assert full["metrics"]["self_bleu_4"] == pytest.approx(SelfBleu().compute(samples)["self_bleu_4"])
    args = ["eval", CHAT_EN, "--rewards", "none", "--metrics", "self_bleu", "--sample", "5", "--json"]
    sampled = json.loads(run(*args, "--seed", "3").output)["metrics"]["self_bleu_4"]
    assert sampled == pytest.approx(SelfBleu(sample=5, seed=3).compute(samples)["self_bleu_4"])
    assert sampled != pytest.approx(full["metrics"]["self_bleu_4"])


def test_metrics_run_before_the_rewards_are_closed(register_plugin):
    """A metric may share a reward's loaded model; eval must not close the rewards first."""
    events: list[str] = []

    class Holder(rewardhub.Reward):
        name = "model_holder"

        def score(self, samples):
            return [1.0 for _ in samples]

        def close(self):
            events.append("reward closed")

    @rewardhub.metric("model_user")
    def model_user(samples):
        events.append("metric computed")
        return {"model_user": 1.0}

    class Plugin:
        @rewardhub.hookimpl
        def register_rewards(register):
            register(Holder)

        @rewardhub.hookimpl
        def register_metrics(register):
            register(model_user)

    register_plugin(Plugin, "holder-plugin")
    assert run("eval", CHAT_EN, "--rewards", "model_holder", "--metrics", "model_user", "--json").exit_code == 0
    assert events == ["metric computed", "reward closed"]

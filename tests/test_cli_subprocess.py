"""The CLI as a real process: real data, a real kill, a real pip install, a light import."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT

RUN = [sys.executable, "-m", "rewardhub"]


def rewardhub_cli(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*RUN, *args], capture_output=True, text=True, env=env, cwd=ROOT, **kwargs)


def test_importing_rewardhub_imports_no_model_library():
    code = (
        "import sys, rewardhub, rewardhub.cli; "
        "print(sorted({'torch', 'transformers', 'sentence_transformers', 'open_clip'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_quiet_eval_without_metrics_imports_neither_numpy_nor_rich(tmp_path):
    """Start-up is a share of every run: numpy (about 0.12 s) comes with the first metric or
    reward that uses it, rich with the first progress bar or table, not with plugin discovery."""
    data = tmp_path / "in.jsonl"
    data.write_text('{"prompt": "Hi", "response": "Hello there, hello again."}\n')
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom rewardhub.cli import cli\n"
        "args = [sys.argv[1], '--rewards', 'token_entropy,repetition_penalty', '--quiet', '--json']\n"
        "quiet = CliRunner().invoke(cli, ['eval', *args, '--metrics', 'none', '-o', sys.argv[2] + '1'])\n"
        "light = sorted({'numpy', 'pandas', 'rich'} & set(sys.modules))\n"
        "metric = CliRunner().invoke(cli, ['eval', *args, '--metrics', 'distinct', '-o', sys.argv[2] + '2'])\n"
        "from rewardhub.lazy import np\n"
        "print(quiet.exit_code, light, metric.exit_code, 'numpy' in sys.modules, np.zeros(2).tolist())"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code, str(data), str(tmp_path / "out.jsonl")], env=env,
                         capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert out.stdout.strip() == "0 [] 0 True [0.0, 0.0]", out.stderr


@pytest.mark.realdata
def test_eval_alpaca_eval_file_with_no_field_flags(realdata, tmp_path):
    out = tmp_path / "out.jsonl"
    result = rewardhub_cli(
        "eval",
        str(realdata / "alpaca_eval" / "alpaca-7b.jsonl"),
        "-o",
        str(out),
        "--json",
        "--rewards",
        "token_entropy",
        "--metrics",
        "distinct",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["n"] == 805 and summary["rewards"]["token_entropy"]["missing"] == 0
    rows = out.read_text().splitlines()
    assert len(rows) == 805
    assert json.loads(rows[0])["generator"] == "alpaca-7b"


SLOW_PLUGIN = """
import time
import rewardhub
from rh_testing import TokenEntropy


class SlowEntropy(TokenEntropy):
    name = "slow_entropy"
    batch_size = 16

    def score(self, samples):
        time.sleep(0.02)
        return super().score(samples)


@rewardhub.hookimpl
def register_rewards(register):
    register(SlowEntropy)
"""


@pytest.mark.realdata
def test_killed_run_resumes_to_an_identical_file(realdata, tmp_path, fake_distribution):
    site = fake_distribution("rewardhub-slow", "rh_slow", SLOW_PLUGIN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    inputs = [str(p) for p in sorted((realdata / "alpaca_eval").glob("*.jsonl"))[:3]]
    args = ["eval", *inputs, "--rewards", "slow_entropy", "--metrics", "none", "--chunk-size", "64", "--quiet"]

    full = tmp_path / "full.jsonl"
    assert rewardhub_cli(*args, "-o", str(full), env=env).returncode == 0

    out = tmp_path / "out.jsonl"
    journal = tmp_path / "out.jsonl.partial"
    proc = subprocess.Popen([*RUN, *args, "-o", str(out)], env=env, cwd=ROOT)
    deadline = time.time() + 60
    while time.time() < deadline and (not journal.exists() or journal.stat().st_size < 50_000):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists(), "the run finished before it could be killed"
    resumed = rewardhub_cli(*args, "-o", str(out), "--resume", env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert out.read_bytes() == full.read_bytes()


def readme_block(marker: str) -> str:
    """The code block of the plugin guide (``docs/plugins.md``) whose first line is ``marker``."""
    text = (ROOT / "docs" / "plugins.md").read_text()
    blocks = re.findall(r"```(?:toml|python)\n(.*?)```", text, flags=re.S)
    return next(b for b in blocks if b.startswith(marker))


@pytest.mark.slow
def test_the_guides_plugin_built_from_scratch_and_pip_installed_is_discovered(tmp_path):
    """The plugin guide's example (``docs/plugins.md``), verbatim, built and pip-installed for real."""
    src = tmp_path / "rewardhub-shout"
    (src / "rewardhub_shout").mkdir(parents=True)
    (src / "pyproject.toml").write_text(readme_block("# pyproject.toml"))
    (src / "rewardhub_shout" / "__init__.py").write_text(readme_block("# rewardhub_shout/__init__.py"))
    target = tmp_path / "site"
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(src),
        ],
        capture_output=True,
        text=True,
    )
    assert pip.returncode == 0, pip.stderr
    env = {**os.environ, "PYTHONPATH": str(target)}
    listed = json.loads(rewardhub_cli("plugins", "--json", env=env).stdout)
    shout = next(p for p in listed if p["distribution"] == "rewardhub-shout")
    assert (shout["version"], shout["rewards"]) == ("0.1.0", ["shout", "mentions_reference"])
    data = tmp_path / "in.jsonl"
    data.write_text(
        '{"prompt": "p", "response": "HELLO there, it is 42", "reference": "42"}\n'
        '{"prompt": "p", "response": "no idea"}\n'
    )
    result = rewardhub_cli("eval", str(data), "--rewards", "shout,mentions_reference:2", "--json", env=env)
    summary = json.loads(result.stdout)
    assert summary["rewards"]["shout"]["mean"] == pytest.approx((5 / 14 + 0) / 2)
    assert summary["rewards"]["mentions_reference"] == {
        **{"mean": 1.0, "std": 0.0, "min": 1.0, "max": 1.0, "missing": 1},
        **{"missing_reasons": {"no reason given": 1}, "higher_is_better": True},
    }


def test_bad_input_in_a_real_process_is_one_line_on_stderr(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "p", "response": "ok"}\n{oops}\n')
    result = rewardhub_cli("eval", str(bad), "--rewards", "token_entropy")
    assert result.returncode == 1
    assert (
        result.stderr
        == f"rewardhub: error: {bad}:2: invalid JSON: Expecting property name enclosed in double quotes (column 2)\n"
    )
    assert result.stdout == ""

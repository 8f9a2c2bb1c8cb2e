"""Progress that moves (issue 16.8): every phase of ``eval`` reports counts against a total,
each metric's computation is counted, a metric may report its own progress through
:func:`rewardhub.progress.report`, and the real command draws it all on a terminal's stderr
while ``--json`` keeps stdout clean and ``--quiet`` draws nothing."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import threading

import pytest

import rewardhub
from rewardhub.evaluation import EvalOptions, evaluate_files
from tests.conftest import EVALDATA, ROOT

CHAT_EN = EVALDATA / "chat_en.jsonl"  # 21 rows

#: A metric whose result takes a while and says how far it is (the shape of an embedding
#: metric): ``steps`` steps of ``RH_SLOW_STEP`` seconds each.
SLOW_METRIC = """
import os, time
import rewardhub
from rewardhub.metrics.state import CollectingState
try:
    from rewardhub.progress import report
except ImportError:  # a host without the hook: the metric still runs, silently
    def report(done, total=None):
        pass


class SlowMetric(rewardhub.Metric):
    name = "slow_metric"
    steps = 8

    def compute(self, samples):
        pause = float(os.environ.get("RH_SLOW_STEP", "0"))
        for step in range(self.steps):
            time.sleep(pause)
            report(step + 1, self.steps)
        return {"slow_metric": float(len(samples))}


@rewardhub.hookimpl
def register_metrics(register):
    register(SlowMetric)
"""


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, int, int | None]] = []

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        self.events.append((phase, done, total))

    def of(self, phase: str) -> list[tuple[int, int | None]]:
        return [(d, t) for p, d, t in self.events if p == phase]

    def phases(self) -> list[str]:
        seen: list[str] = []
        for phase, _, _ in self.events:
            if not seen or seen[-1] != phase:
                seen.append(phase)
        return seen


@pytest.fixture
def slow_metric(fake_distribution):
    return fake_distribution("rewardhub-slow-metric", "rh_slow_metric", SLOW_METRIC)


def test_every_phase_reports_counts_against_a_total(slow_metric):
    recorder = Recorder()
    options = EvalOptions(rewards="entropy", metrics="distinct,slow_metric", chunk_size=8)
    result = evaluate_files([CHAT_EN], options, progress=recorder)
    assert result.summary["metrics"]["slow_metric"] == 21.0

    phases = recorder.phases()
    assert phases[:3] == ["reading", "loading models", "scoring"]
    assert "metrics" in phases and "metric slow_metric" in phases
    # scoring: every chunk counted, against the rows the input holds
    assert recorder.of("scoring") == [(8, 21), (16, 21), (21, 21)]
    assert recorder.of("loading models") == [(0, 21)]
    # metrics: one count per metric finished, of how many
    assert recorder.of("metrics") == [(0, 2), (1, 2), (2, 2)]
    # the metric named as it folds in each of the 3 chunks, then its own reports, through the hook
    assert recorder.of("metric slow_metric") == [(0, None)] * 3 + [(step, 8) for step in range(1, 9)]


def test_grouped_runs_count_the_reading_pass_and_a_metrics_second_pass():
    recorder = Recorder()
    options = EvalOptions(rewards="diversity_bonus", metrics="self_bleu", chunk_size=8, by_group=True)
    evaluate_files([CHAT_EN, EVALDATA / "chat_zh.jsonl"], options, progress=recorder)
    reading = recorder.of("reading")
    assert reading[0] == (0, 2) and (2, 2) in reading  # the files counted
    assert (32, 32) in reading  # the group pass, in rows
    assert recorder.of("scoring")[-1] == (32, 32)
    assert recorder.of("metrics pass 2")[-1] == (32, 32)  # self-BLEU's second pass
    # which metric is at work while the reading pass folds the chunks in: named under it
    first_pass = recorder.events[: recorder.events.index(("reading", 32, 32))]
    assert ("metric self_bleu", 0, None) in first_pass


def test_the_hook_is_silent_without_a_listener_and_scoped_to_its_block():
    from rewardhub.progress import listening, report

    heard: list[tuple[int, int | None]] = []
    report(1, 2)  # nobody listens: nothing happens
    with listening(lambda done, total: heard.append((done, total))):
        report(3, 4)
        report(5)
    report(6, 7)
    assert heard == [(3, 4), (5, None)]


def test_a_metric_that_fails_still_moves_the_count(register_plugin):
    class Broken(rewardhub.Metric):
        name = "broken_metric"

        def compute(self, samples):
            raise RuntimeError("nope")

    class Plugin:
        @rewardhub.hookimpl
        def register_metrics(register):
            register(Broken)

    register_plugin(Plugin, "broken-metric-plugin")
    recorder = Recorder()
    result = evaluate_files([CHAT_EN], EvalOptions(rewards="none", metrics="broken_metric,distinct"), recorder)
    assert "broken_metric" in result.metric_errors
    assert recorder.of("metrics")[-1] == (2, 2)


# -- the real command on a terminal -------------------------------------------------------------

COLOURS = re.compile(r"\x1b\[[0-9;]*m")
CONTROLS = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][A-Z0-9]|\r")


def _run_on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run ``rewardhub ARGS`` with stderr on a pseudo-terminal: (status, stdout, terminal text)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rewardhub", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
        cwd=ROOT,
    )
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        stdout, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(30)
    os.close(master)
    text = COLOURS.sub("", b"".join(chunks).decode("utf-8", "replace"))
    return proc.returncode, stdout.decode(), CONTROLS.sub("\n", text)


def test_the_bar_counts_through_the_metrics_phase_on_a_real_terminal(slow_metric, tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(slow_metric), os.environ.get("PYTHONPATH", "")]),
        "TERM": "xterm-256color",
        "COLUMNS": "150",
        "RH_SLOW_STEP": "0.4",  # 8 steps: the bar refreshes ten times a second
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("NO_COLOR", None)
    args = ["eval", str(CHAT_EN), "--rewards", "entropy", "--metrics", "distinct,slow_metric", "--json"]
    status, stdout, terminal = _run_on_a_terminal(args, env)
    assert status == 0, terminal
    assert json.loads(stdout)["metrics"]["slow_metric"] == 21.0  # stdout is the JSON alone

    lines = [line for line in terminal.splitlines() if line.strip()]
    # the metric's own line: its count moved while it ran, with an estimate of what is left
    own = [line for line in lines if line.lstrip().startswith("slow_metric")]
    counts = {int(m.group(1)) for line in own for m in [re.search(r"\b(\d)/8\b", line)] if m}
    assert len(counts) >= 2, lines[-20:]
    assert any(re.search(r"eta\s+\d+:\d\d:\d\d", line) for line in own), own
    # and above it the phase's line: metrics finished, of how many
    assert any(re.search(r"^metrics\s.*\b[0-2]/2\b", line.strip()) for line in lines), lines[-20:]

    quiet_status, quiet_stdout, quiet_terminal = _run_on_a_terminal([*args, "--quiet"], env)
    assert quiet_status == 0 and json.loads(quiet_stdout)["n"] == 21
    assert quiet_terminal.strip() == ""


def test_without_a_terminal_nothing_is_drawn(slow_metric):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(slow_metric), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-m", "rewardhub", "eval", str(CHAT_EN), "--rewards", "entropy", "--metrics", "slow_metric"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "slow_metric" in out.stdout and "/8" not in out.stderr  # a log file gets no bar frames

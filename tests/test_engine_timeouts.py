"""A per-call timeout holds for every kind of reward (issue 17, items 6 and 11): a ``pure_python``
reward that holds the GIL in one long C call (a backtracking regular expression) is stopped at
its timeout, in-process and in ``rewardhub eval``; its worker process is really gone, a crash
fails only its call, and without a timeout it still runs in the calling thread. See
``rewardhub/isolation.py`` and ``rewardhub/calls.py``."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner

from rewardhub import Reward, Sample, Score, Scorer
from rewardhub.calls import RewardTimeoutWarning, check_timeout
from rewardhub.cli import cli

#: 2**30 backtracking steps: about a minute on the development machine, many seconds anywhere.
FOREVER = 30


class Backtracking(Reward):
    """Pure Python holding the GIL: ``re`` backtracks 2**N steps on "backtrack:N" in one C call."""

    name = "backtracking"
    inputs = ("response",)
    batch_size = 1
    pure_python = True

    def score(self, batch):
        out = []
        for s in batch:
            steps = int(s.response.partition(":")[2]) if s.response.startswith("backtrack:") else 0
            re.match(r"(a+)+b", "a" * steps)
            out.append(float(len(s.response)))
        return out


class WhereAmI(Reward):
    """Scores the id of the process that ran it; "crash" ends that process, "raise" raises
    SystemExit, "value" reports an exception object for that sample."""

    name = "where"
    inputs = ("response",)
    batch_size = 8
    pure_python = True

    def score(self, batch):
        if any(s.response == "crash" for s in batch):
            os._exit(3)
        if any(s.response == "raise" for s in batch):
            raise SystemExit("gave up")
        return [ValueError("not this one") if s.response == "value" else Score(float(os.getpid())) for s in batch]


class SignalsParent(Reward):
    """Presses Ctrl-C on the process that called it, then works for a long time."""

    name = "signals_parent"
    pure_python = True

    def score(self, batch):
        os.kill(os.getppid(), signal.SIGINT)
        time.sleep(60)
        return [1.0] * len(batch)


class Unpicklable(Reward):
    name = "unpicklable"
    pure_python = True

    def __init__(self):
        self.lock = threading.Lock()  # neither pickle nor cloudpickle can take it

    def score(self, batch):
        return [float(os.getpid())] * len(batch)


def bounded(fn, limit: float = 120.0):
    """``fn()`` in a thread; fails the test if it has not returned within ``limit`` (a hang)."""
    box: dict = {}
    worker = threading.Thread(target=lambda: box.setdefault("out", fn()), daemon=True)
    worker.start()
    worker.join(limit)
    assert not worker.is_alive(), f"no answer within {limit}s: the timeout did not hold"
    return box["out"]


def test_a_call_that_holds_the_gil_is_stopped_at_its_timeout():
    scorer = Scorer([Backtracking(), "entropy"], timeout=1)
    samples = [Sample(f"backtrack:{FOREVER}"), Sample("fine words here")]
    batch = bounded(lambda: scorer.score(samples))
    assert batch.components["backtracking"] == [None, 15.0]
    assert batch.errors[0]["backtracking"] == "timed out after 1s (batch of 1)"
    assert batch.components["entropy"][0] is not None  # the other reward is untouched
    assert scorer.timeouts == {"backtracking": 1}
    assert scorer.running_abandoned() == {}  # stopped, not abandoned: nothing keeps running
    assert scorer.score([Sample("again")]).components["backtracking"] == [5.0]  # a fresh worker
    scorer.close()


def test_without_a_timeout_pure_python_stays_in_this_process_and_isolate_moves_it():
    here = Scorer([WhereAmI()]).score([Sample("a")])
    assert here.components["where"] == [float(os.getpid())]
    with Scorer([WhereAmI()], isolate=True) as isolated:
        away = isolated.score([Sample("a"), Sample("b")])
    assert away.components["where"][0] == away.components["where"][1] != float(os.getpid())


def test_a_worker_crash_fails_only_its_sample_and_errors_read_as_in_process():
    samples = [Sample("ok"), Sample("crash"), Sample("raise"), Sample("value"), Sample("fine")]
    with Scorer([WhereAmI()], timeout=60) as scorer:
        batch = bounded(lambda: scorer.score(samples))
    values, errors = batch.components["where"], [e.get("where") for e in batch.errors]
    assert values[0] is not None and values[4] is not None
    assert values[1:4] == [None, None, None]
    assert re.fullmatch(r"RuntimeError: the worker process of 'where' died \(exit code 3\)", errors[1])
    local = Scorer([WhereAmI()]).score([Sample("raise"), Sample("value")])
    assert errors[2:4] == [local.errors[0]["where"], local.errors[1]["where"]]
    assert errors[2:4] == ["SystemExit: gave up", "ValueError: not this one"]


def test_a_reward_that_cannot_be_pickled_stays_in_a_thread_with_a_warning():
    with pytest.warns(RewardTimeoutWarning, match="'unpicklable' runs in a thread, not a worker process"):
        batch = Scorer([Unpicklable()], timeout=30).score([Sample("x")])
    assert batch.components["unpicklable"] == [float(os.getpid())]


def test_a_real_ctrl_c_stops_the_run_and_its_worker():
    scorer = Scorer([SignalsParent()], timeout=120)
    previous = signal.getsignal(signal.SIGINT)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        scorer.score([Sample("x")])
    assert time.monotonic() - started < 60  # not after the worker's 60 s: it was stopped
    assert scorer._callers["signals_parent"]._pool.processes == 0
    assert signal.getsignal(signal.SIGINT) is previous


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), True, "soon"])
def test_a_timeout_must_be_a_positive_finite_number(value):
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
        check_timeout(value)
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
        Scorer(["entropy"], timeout=value)


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_eval_refuses_the_same_timeouts(value, tmp_path):
    data = tmp_path / "rows.jsonl"
    data.write_text('{"response": "x"}\n')
    result = CliRunner().invoke(cli, ["eval", str(data), "--rewards", "entropy", "--timeout", value])
    assert result.exit_code == 2, result.output
    assert f"--timeout must be a positive number of seconds, got {float(value)}" in result.output


def test_eval_timeout_stops_a_pure_python_reward(tmp_path, serve_testing_plugin):
    """``rewardhub eval --timeout 2`` as a real process: the stuck call is stopped, the run ends."""
    site = tmp_path / "site"  # where serve_testing_plugin installed the tests' plugin
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"response": f"backtrack:{FOREVER}"}) + "\n" + json.dumps({"response": "ok"}) + "\n")
    out = tmp_path / "scored.jsonl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "rewardhub", "eval", str(data), "--rewards", "backtracking,entropy"]
    done = subprocess.run([*command, "--timeout", "2", "-o", str(out), "-q"], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["rewards"]["backtracking"] is None
    assert rows[0]["errors"]["backtracking"] == "timed out after 2s (batch of 1)"
    assert rows[1]["rewards"]["backtracking"] == 2.0 and rows[0]["rewards"]["entropy"] is not None

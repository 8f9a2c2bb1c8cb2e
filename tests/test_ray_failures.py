"""The Ray backend fails fast and stops promptly (issue 17.15), as real subprocesses: an address
nothing listens on, or one that answers but is no Ray, is exit status 2 and one line; Ctrl-C
and SIGTERM during a run end it (130, 143) with the interrupted line, and claim rows were kept
only when some were journaled. The assertions are on status and message; the waits are long."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import EVALDATA, ROOT

pytest.importorskip("ray")
pytestmark = pytest.mark.slow

CHAT_EN = str(EVALDATA / "chat_en.jsonl")

SLOW_REWARD = """
import os, time
import rewardhub


class Slow(rewardhub.Reward):
    name = "slow_len"
    batch_size = 2

    def score(self, samples):
        open(os.environ["RH_MARKER"], "a").close()
        time.sleep(2.0)
        return [float(len(s.response)) for s in samples]


@rewardhub.hookimpl
def register_rewards(register):
    register(Slow)
"""


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **extra}
    env.pop("RAY_ADDRESS", None)
    return env


def _eval(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rewardhub", "eval", CHAT_EN, "--rewards", "repetition_penalty", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )


def _one_line(out: subprocess.CompletedProcess, *fragments: str) -> None:
    assert out.returncode == 2, out.stderr[-3000:]
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr[-3000:]
    assert lines[0].startswith("rewardhub: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_an_address_nothing_listens_on_is_one_line_and_status_2():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = _eval(["--backend", "ray", "--ray-address", f"127.0.0.1:{port}", "--quiet"], _env())
    _one_line(out, f"cannot reach a Ray cluster at 127.0.0.1:{port}", "Connection refused")


def test_an_address_that_answers_but_is_no_ray_is_one_line_and_status_2():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    port = server.getsockname()[1]
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:  # answers the connection, says nothing
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        out = _eval(["--backend", "ray", "--ray-address", f"127.0.0.1:{port}", "--quiet"], _env())
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        server.close()
    _one_line(out, f"cannot start or reach Ray (127.0.0.1:{port})")


@pytest.fixture
def slow_site(fake_distribution):
    return fake_distribution("rewardhub-slow-ray", "rh_slow_ray", SLOW_REWARD)


@pytest.mark.parametrize(
    ("sig", "status", "word"), [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")]
)
def test_a_signal_during_a_ray_run_ends_it(slow_site, tmp_path, sig, status, word):
    marker = tmp_path / "scoring"
    env = _env(PYTHONPATH=os.pathsep.join([str(slow_site), os.environ.get("PYTHONPATH", "")]), RH_MARKER=str(marker))
    out = tmp_path / "out.jsonl"
    args = ["eval", CHAT_EN, "--rewards", "slow_len", "--metrics", "none", "--backend", "ray", "-o", str(out)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "rewardhub", *args, "--chunk-size", "2", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300  # a local Ray starts first
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()[1][-3000:]
    proc.send_signal(sig)  # while an actor is scoring
    try:
        _, stderr = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == status, stderr[-3000:]
    last = stderr.strip().splitlines()[-1]
    journal = out.with_name(out.name + ".partial")
    if journal.exists() and b"\n\n" in journal.read_bytes():
        assert (
            last == f"rewardhub: {word}; rows scored so far are kept in {journal}: re-run with --resume --backend local"
        )
    else:
        assert last == f"rewardhub: {word}"
    assert not out.exists()

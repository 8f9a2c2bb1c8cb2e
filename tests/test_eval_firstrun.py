"""A first run that does not mislead (issue 16.11): an ``hf:`` tokenizer that cannot be had
offline fails at once in one line (``HF_HUB_OFFLINE`` honoured; otherwise one bounded probe of
the hub, no retries), and Ctrl-C before any row was journaled does not claim rows were kept."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from rewardhub.text.tokenizers import _huggingface
from tests.conftest import EVALDATA, ROOT

CHAT_EN = str(EVALDATA / "chat_en.jsonl")
NOT_CACHED = "rewardhub-tests/no-such-tokenizer"


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _eval(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rewardhub", "eval", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def _one_error_line(out: subprocess.CompletedProcess, *fragments: str) -> str:
    assert out.returncode == 2, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr  # no retry messages, no traceback
    assert lines[0].startswith("rewardhub: error: tokenizer 'hf:")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def test_hf_tokenizer_with_hub_offline_fails_in_one_line():
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = _eval([CHAT_EN, "--rewards", "repetition_penalty", "--tokenize", f"hf:{NOT_CACHED}"], env)
    _one_error_line(out, "HF_HUB_OFFLINE is set", NOT_CACHED)


def test_hf_tokenizer_with_an_unreachable_hub_fails_in_one_line_without_retries():
    env = {**os.environ, "HF_ENDPOINT": f"http://127.0.0.1:{_closed_port()}"}
    env.pop("HF_HUB_OFFLINE", None)
    env.pop("TRANSFORMERS_OFFLINE", None)
    out = _eval([CHAT_EN, "--rewards", "repetition_penalty", "--tokenize", f"hf:{NOT_CACHED}"], env)
    line = _one_error_line(out, "cannot be reached", env["HF_ENDPOINT"])
    assert "Retrying" not in out.stderr and "Retrying" not in line


def test_the_probe_answers_once_and_offline_never_asks(monkeypatch):
    from rewardhub.text import hub

    endpoint = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    problem = hub.probe("some/model", timeout=2.0)
    assert problem is not None and "Connection refused" in problem
    assert hub.probe("some/model", timeout=2.0) is problem  # asked once per process

    def no_network(*args, **kwargs):
        raise AssertionError("the hub was asked although HF_HUB_OFFLINE is set")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub, "probe", no_network)
    with pytest.raises(ValueError, match="HF_HUB_OFFLINE is set"):
        _huggingface("another/not-cached-model")


def test_a_local_tokenizer_directory_still_loads(tmp_path):
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, "hello": 1, "world": 2}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]").save_pretrained(tmp_path / "tok")
    assert _huggingface(str(tmp_path / "tok"))("hello world") == ["hello", "world"]


# -- Ctrl-C: say rows were kept only when some were ---------------------------------------------

SLOW_FIRST_CALL = """
import os, time
import rewardhub


class WaitFirst(rewardhub.Reward):
    name = "wait_first"
    batch_size = 4

    def score(self, samples):
        marker = os.environ["RH_MARKER"]
        first = not os.path.exists(marker)
        open(marker, "a").close()
        if first or os.environ.get("RH_WAIT_ALWAYS"):
            time.sleep(float(os.environ.get("RH_WAIT", "60")))
        return [float(len(s.response)) for s in samples]


@rewardhub.hookimpl
def register_rewards(register):
    register(WaitFirst)
"""


def _interrupt(args: list[str], env: dict[str, str], marker, after_marker: float = 0.0) -> subprocess.CompletedProcess:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rewardhub", "eval", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(after_marker)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


@pytest.fixture
def slow_env(fake_distribution, tmp_path):
    site = fake_distribution("rewardhub-wait-first", "rh_wait_first", SLOW_FIRST_CALL)
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
        "RH_MARKER": str(tmp_path / "scoring-started"),
        "HF_HUB_OFFLINE": "1",
    }


def test_ctrl_c_before_anything_was_journaled_does_not_say_rows_were_kept(slow_env, tmp_path):
    out = tmp_path / "out.jsonl"
    args = [CHAT_EN, "--rewards", "wait_first", "--metrics", "none", "--chunk-size", "4", "-o", str(out), "--quiet"]
    done = _interrupt(args, slow_env, tmp_path / "scoring-started")
    assert done.returncode == 130, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == ["rewardhub: interrupted"], done.stderr
    assert not out.exists()


def test_ctrl_c_after_rows_were_journaled_says_so_and_resume_finishes(slow_env, tmp_path):
    out = tmp_path / "out.jsonl"
    journal = tmp_path / "out.jsonl.partial"
    args = [CHAT_EN, "--rewards", "wait_first", "--metrics", "none", "--chunk-size", "4", "-o", str(out), "--quiet"]
    env = {**slow_env, "RH_WAIT": "1.5", "RH_WAIT_ALWAYS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rewardhub", "eval", *args],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and b"\n\n" in journal.read_bytes():  # a committed chunk
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert stderr.strip() == f"rewardhub: interrupted; rows scored so far are kept in {journal}: re-run with --resume"
    resumed = _eval([*args, "--resume"], {**slow_env, "RH_WAIT": "0"})
    assert resumed.returncode == 0, resumed.stderr
    assert len(out.read_text().splitlines()) == 21 and not journal.exists()

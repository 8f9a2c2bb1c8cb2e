"""`rewardhub eval -o`: nothing is lost (issue 8, items 9, 11, 12, 13, 17, 19).

Exit codes, locks, signals, pipes and a full disk are tested on a real process; the checks
that need no process (a bad -o, a changed option on --resume) through click's runner.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from rewardhub.cli import cli
from rewardhub.io import output_lock
from tests.conftest import EVALDATA, ROOT

CHAT_EN = str(EVALDATA / "chat_en.jsonl")
RUN = [sys.executable, "-m", "rewardhub"]
LIGHT = ["--rewards", "token_entropy", "--metrics", "none"]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def cli_process(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*RUN, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, **kwargs)


def one_line(stderr: str, *fragments: str) -> None:
    assert stderr.count("\n") == 1 and stderr.startswith("rewardhub: "), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in stderr, stderr


# -- 11: -o is checked before any work ------------------------------------------------------------


def test_an_output_that_is_not_a_regular_file_or_is_an_input_is_refused(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_bytes(Path(CHAT_EN).read_bytes())
    before = source.read_bytes()
    for output, fragment in [
        (source, "is also an input of this run"),
        (Path("/dev/null"), "is not a regular file"),
        (tmp_path, "is a directory"),
        (tmp_path / "missing" / "out.jsonl", "the directory"),
        (Path("-"), "the output must be a file"),
    ]:
        result = run("eval", str(source), *LIGHT, "-o", str(output))
        assert result.exit_code == 1, result.output
        one_line(result.stderr, fragment)
    assert source.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_a_read_only_directory_is_one_line(tmp_path):
    target = tmp_path / "ro"
    target.mkdir()
    target.chmod(0o555)
    try:
        if os.access(target, os.W_OK):  # root writes anywhere: use a directory even root cannot write
            target = Path("/sys")
            if os.access(target, os.W_OK) and (target / "out.jsonl.lock").exists():
                pytest.skip("no directory this user cannot write to")
        result = run("eval", CHAT_EN, *LIGHT, "-o", str(target / "out.jsonl"))
        assert result.exit_code == 1
        one_line(result.stderr, str(target / "out.jsonl"))
        assert not list(Path(target).glob("out.jsonl*"))
    finally:
        (tmp_path / "ro").chmod(0o755)


# -- 11: one run per output; a dead run's lock blocks nothing -------------------------------------


def test_a_second_run_on_the_same_output_is_refused_while_the_first_holds_it(tmp_path):
    out = tmp_path / "out.jsonl"
    with output_lock(out):  # a run in this process holds -o
        second = cli_process("eval", CHAT_EN, *LIGHT, "-o", str(out))
    assert second.returncode == 1
    one_line(second.stderr, "another rewardhub run is writing this output")
    assert not out.exists()
    assert run("eval", CHAT_EN, *LIGHT, "-o", str(out), "-q").exit_code == 0


def test_the_lock_of_a_killed_process_does_not_block_resume(tmp_path):
    out = tmp_path / "out.jsonl"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from rewardhub.io import output_lock\nwith output_lock({str(out)!r}): input()"],
        stdin=subprocess.PIPE,
        cwd=ROOT,
    )
    deadline = time.time() + 30
    while not (tmp_path / "out.jsonl.lock").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    holder.kill()
    holder.wait()
    result = cli_process("eval", CHAT_EN, *LIGHT, "-o", str(out), "--resume", "-q")
    assert result.returncode == 0, result.stderr
    assert len(out.read_text().splitlines()) == 21


# -- 12, 13: the sidecar matches OUT; a full disk is one line and stays resumable -----------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_sidecar_records_the_hash_of_the_file_it_describes(tmp_path):
    out = tmp_path / "out.jsonl"
    assert run("eval", CHAT_EN, *LIGHT, "-o", str(out), "-q").exit_code == 0
    meta = json.loads((tmp_path / "out.meta.json").read_text())
    assert meta["output"] == {"path": "out.jsonl", "sha256": sha256(out), "rows": 21}


def interrupt_at_the_final_rename(monkeypatch, out: Path) -> None:
    """Raise KeyboardInterrupt where a Ctrl-C could land last: just before OUT is renamed."""
    real_replace = os.replace

    def replace(src, dst):
        if Path(dst) == out:
            monkeypatch.setattr(os, "replace", real_replace)
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)


def test_a_kill_before_the_final_rename_leaves_a_run_that_resumes_consistently(tmp_path, monkeypatch):
    """The sidecar is written before OUT's rename; a kill between the two keeps the journal."""
    out = tmp_path / "out.jsonl"
    out.write_text("previous results\n")
    interrupt_at_the_final_rename(monkeypatch, out)
    interrupted = CliRunner().invoke(cli, ["eval", CHAT_EN, *LIGHT, "-o", str(out)])
    assert interrupted.exit_code == 130 and "re-run with --resume" in interrupted.stderr
    assert out.read_text() == "previous results\n" and not (tmp_path / "out.jsonl.tmp").exists()
    assert run("eval", CHAT_EN, *LIGHT, "-o", str(out), "--resume", "-q").exit_code == 0
    meta = json.loads((tmp_path / "out.meta.json").read_text())
    assert meta["output"]["sha256"] == sha256(out) and not (tmp_path / "out.jsonl.partial").exists()


def limit_file_size(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_is_one_line_leaves_no_tmp_and_the_journal_resumes(tmp_path):
    out, full = tmp_path / "out.jsonl", tmp_path / "full.jsonl"
    args = ["eval", CHAT_EN, str(EVALDATA / "chat_zh.jsonl"), *LIGHT, "--chunk-size", "4", "-q"]
    assert run(*args, "-o", str(full)).exit_code == 0
    # Files can grow to 6 KB: the journal fills up part way (EFBIG, as ENOSPC would).
    failed = cli_process(*args, "-o", str(out), preexec_fn=limit_file_size(6_000))
    assert failed.returncode == 1
    one_line(failed.stderr, "cannot write", "re-run with --resume")
    assert not (tmp_path / "out.jsonl.tmp").exists() and not out.exists()
    assert (tmp_path / "out.jsonl.partial").stat().st_size > 0
    assert run(*args, "-o", str(out), "--resume").exit_code == 0
    assert out.read_bytes() == full.read_bytes()


def test_resume_refuses_a_changed_timeout(tmp_path, monkeypatch):
    out = tmp_path / "out.jsonl"
    args = ["eval", CHAT_EN, *LIGHT, "--chunk-size", "4", "-o", str(out)]
    interrupt_at_the_final_rename(monkeypatch, out)
    assert CliRunner().invoke(cli, [*args, "--timeout", "30"]).exit_code == 130
    refused = run(*args, "--timeout", "60", "--resume")
    assert refused.exit_code == 2
    assert "cannot resume: the configuration (timeout) changed" in refused.stderr
    assert run(*args, "--timeout", "30", "--resume", "-q").exit_code == 0


def test_resume_of_standard_input_is_refused(tmp_path):
    result = CliRunner().invoke(cli, ["eval", "-", *LIGHT, "-o", str(tmp_path / "o.jsonl"), "--resume"], input="")
    assert result.exit_code == 2
    one_line(result.stderr, "standard input cannot be resumed")


# -- 17: standard input and a FIFO are read as streams, once ----------------------------------------


def test_standard_input_and_a_fifo_are_read_once_and_hashed_as_read(tmp_path):
    data = Path(CHAT_EN).read_bytes()
    out = tmp_path / "out.jsonl"
    piped = CliRunner().invoke(cli, ["eval", "-", *LIGHT, "-o", str(out), "--json"], input=data)
    assert piped.exit_code == 0, piped.output
    assert json.loads(piped.stdout)["n"] == 21
    [source] = json.loads((tmp_path / "out.meta.json").read_text())["inputs"]
    assert source == {"path": "-", "sha256": hashlib.sha256(data).hexdigest(), "stream": True}

    fifo = tmp_path / "in.jsonl"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(data,), daemon=True)
    writer.start()
    result = cli_process("eval", str(fifo), *LIGHT, "--json")  # a process: a hang would time out
    writer.join(10)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(piped.stdout)
    refused = run("eval", str(fifo), *LIGHT, "-o", str(out), "--resume")
    assert refused.exit_code == 2 and "(a pipe) cannot be resumed" in refused.stderr


def test_a_device_is_refused_as_input():
    result = run("eval", "/dev/zero", *LIGHT)
    assert result.exit_code == 1
    one_line(result.stderr, "/dev/zero: not a regular file or a pipe")


# -- 19: Ctrl-C at any moment is one line, and the journal is kept -----------------------------------

SLOW_PLUGIN = """
import time
import rewardhub


class Slow(rewardhub.Reward):
    name = "slow"
    batch_size = 2

    def score(self, samples):
        time.sleep(0.1)
        return [float(len(s.response)) for s in samples]


@rewardhub.hookimpl
def register_rewards(register):
    register(Slow)
"""


def test_ctrl_c_while_reading_input_is_one_line(tmp_path):
    fifo = tmp_path / "in.jsonl"
    os.mkfifo(fifo)
    proc = subprocess.Popen([*RUN, "eval", str(fifo), *LIGHT], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    with fifo.open("w") as pipe:  # returns once the run has opened its end: it is reading
        pipe.write(Path(CHAT_EN).read_text().splitlines()[0] + "\n")
        pipe.flush()
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert stderr == "rewardhub: interrupted\n"


def test_ctrl_c_while_scoring_is_one_line_and_keeps_the_journal(tmp_path, fake_distribution):
    site = fake_distribution("rewardhub-slow-ctrl-c", "rh_slow_ctrl_c", SLOW_PLUGIN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    out = tmp_path / "out.jsonl"
    args = ["eval", CHAT_EN, "--rewards", "slow", "--metrics", "none", "--chunk-size", "2", "-o", str(out)]
    proc = subprocess.Popen([*RUN, *args], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    journal = tmp_path / "out.jsonl.partial"
    deadline = time.time() + 60
    while time.time() < deadline and (not journal.exists() or journal.stat().st_size == 0):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    one_line(stderr, f"rewardhub: interrupted; rows scored so far are kept in {journal}: re-run with --resume")
    resumed = subprocess.run([*RUN, *args, "--resume", "-q"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert len(out.read_text().splitlines()) == 21

"""code_tests: extraction, scoring, and the sandbox containing infinite loops, fork bombs,
memory bombs and output bombs, leaving no process behind (also through the CLI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rewardhub_verify import CodeTests
from rewardhub_verify.code.extract import extract_code, parse_tests
from rewardhub_verify.code.sandbox import Limits, LocalSandbox

from rewardhub import Sample

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the local sandbox needs Linux")

TESTS = """
import math

def test_add_floats():
    assert math.isclose(add(0.1, 0.2), 0.3)

assert add(1, 2) == 3
assert add(-1, 1) == 0
"""

GOOD = "Here it is:\n```python\ndef add(a, b):\n    return a + b\n```\nDone."
BOMBS = {
    "infinite loop": "```python\nwhile True:\n    pass\n```",
    "fork bomb": "```python\nimport os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    "```",
    "memory bomb": "```python\nblocks = []\nwhile True:\n    blocks.append(bytearray(50 * 2**20))\n```",
    "output bomb": "```python\nwhile True:\n    print('x' * 65536)\n```",
    "escaping daemon": (
        "```python\nimport os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(600)\n"
        "def add(a, b):\n    return a + b\n```"
    ),
}
SHORT = {"timeout": 6, "cpu_seconds": 2, "memory_mb": 512, "processes": 16, "file_size_mb": 1}


def sandbox_processes() -> list[int]:
    """Processes still running out of a sandbox directory."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"rewardhub-sandbox-" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def test_extract_code_prefers_the_last_python_block():
    text = "```python\nfirst\n```\n```py\nsecond\n```\n```bash\nls\n```"
    assert extract_code(text) == "second\n"
    assert extract_code("```\nplain\n```") == "plain\n"
    assert extract_code("no code") is None


def test_parse_tests_counts_asserts_and_test_functions():
    suite = parse_tests(TESTS)
    assert len(suite) == 3 and suite.names[-1] == "test_add_floats"
    with pytest.raises(ValueError, match="no tests"):
        parse_tests("x = 1")
    with pytest.raises(ValueError, match="do not parse"):
        parse_tests("assert (")


def test_share_of_tests_passed_and_all_or_nothing():
    half = "```python\ndef add(a, b):\n    return a + b if a >= 0 else 99\n```"
    samples = [Sample(GOOD, reference=TESTS), Sample(half, reference=TESTS), Sample("no code", reference=TESTS)]
    share = CodeTests(**SHORT).score(samples)
    assert [s.value for s in share] == [1.0, pytest.approx(2 / 3), 0.0]
    assert share[0].info["passed"] == 3 and share[0].info["total"] == 3
    assert share[1].info["first_failure"]["test"].startswith("line 8")
    assert share[2].info["reason"] == "no fenced code block in the response"
    assert [s.value for s in CodeTests(all_or_nothing=True, **SHORT).score(samples)] == [1.0, 0.0, 0.0]


def test_a_reference_without_tests_is_none_with_the_reason():
    none, bad = CodeTests(**SHORT).score([Sample(GOOD), Sample(GOOD, reference="x = (")])
    assert none.value is None and none.info["reason"] == "no reference tests"
    assert bad.value is None and "do not parse" in bad.info["reason"]


def contained_bombs(sandbox: LocalSandbox) -> dict[str, str]:
    """The bombs this machine can contain: a fork bomb needs a process cap (root is exempt from
    RLIMIT_NPROC, so as root it needs a pids cgroup), a daemon that leaves the process group
    needs a PID namespace or a cgroup to be found."""
    bombs = dict(BOMBS)
    if sandbox.isolation["process_cap"].startswith("none"):
        del bombs["fork bomb"]
    if not sandbox.use_namespaces and sandbox.cgroups is None:
        del bombs["escaping daemon"]
    return bombs


@pytest.mark.slow
@pytest.mark.parametrize("namespaces", [None, False], ids=["auto", "no-namespaces"])
def test_bombs_end_as_zero_with_the_reason_and_leave_nothing_behind(namespaces):
    before = set(sandbox_processes())
    reward = CodeTests(workers=2, **SHORT)
    reward._sandbox = sandbox = LocalSandbox(reward.limits, namespaces=namespaces)
    bombs = contained_bombs(sandbox)
    scores = reward.score([Sample(code, reference=TESTS) for code in bombs.values()] + [Sample(GOOD, reference=TESTS)])
    by_name = dict(zip([*bombs, "good"], scores))
    assert by_name["good"].value == 1.0
    for name in {"infinite loop", "fork bomb", "memory bomb", "output bomb"} & set(bombs):
        assert by_name[name].value == 0.0, name
        assert by_name[name].info["reason"], name
    assert "timed out" in by_name["infinite loop"].info["reason"] or "CPU" in by_name["infinite loop"].info["reason"]
    assert "MemoryError" in by_name["memory bomb"].info["reason"]
    assert "File too large" in by_name["output bomb"].info["reason"]
    if "escaping daemon" in bombs:
        assert by_name["escaping daemon"].value == 1.0  # its tests pass; its daemon must still die
    assert set(sandbox_processes()) <= before


def test_no_network_where_namespaces_are_available():
    sandbox = LocalSandbox(Limits(wall_seconds=10))
    if not sandbox.use_namespaces:
        pytest.skip("no user/network namespaces here: the README says what isolation remains")
    probe = "import socket\ns = socket.socket()\ns.settimeout(3)\ns.connect(('1.1.1.1', 80))\n"
    run = sandbox.run_tests(probe, parse_tests("assert True"))
    assert run.reason and "Network is unreachable" in run.reason
    assert sandbox.isolation["network"] == "none"


@pytest.mark.slow
def test_cli_eval_with_timeout_contains_the_bombs(tmp_path):
    """``rewardhub eval FILE --rewards code_tests --timeout 30``, as a user types it: the
    default limits (10 s wall), two samples at a time."""
    bombs = contained_bombs(LocalSandbox())
    rows = [{"prompt": name, "response": code, "reference": TESTS} for name, code in bombs.items()]
    rows.append({"prompt": "good", "response": GOOD, "reference": TESTS})
    data = tmp_path / "code.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "scored.jsonl"
    before = set(sandbox_processes())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [sys.executable, "-m", "rewardhub", "eval", str(data), "--rewards", "code_tests", "--timeout", "30"]
        + ["-o", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    values = {row["prompt"]: row["rewards"]["code_tests"] for row in scored}
    assert values["good"] == 1.0
    for name in {"infinite loop", "fork bomb", "memory bomb", "output bomb"} & set(bombs):
        assert values[name] == 0.0
        row = next(r for r in scored if r["prompt"] == name)
        assert row["reward_info"]["code_tests"]["reason"]
    assert not any(row.get("errors") for row in scored)
    assert json.loads(result.stdout)["rewards"]["code_tests"]["missing"] == 0
    assert set(sandbox_processes()) <= before

"""The sandbox where the machine gives no user namespaces (what it says, what it records,
what still holds), and for a caller that is not root; split from ``test_sandbox_attacks.py``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rewardhub_verify import CodeTests
from rewardhub_verify.code import sandbox as sandbox_module
from rewardhub_verify.code.sandbox import NAMESPACES_ENV
from sandbox_support import (
    ADD_TESTS,
    LIMITS,
    PLUGIN,
    fenced,
    forger_and_victim,
)

from rewardhub import Sample
from rewardhub.io import sidecar_path

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the local sandbox needs Linux")



# --- 5. without user namespaces, and as a user that is not root --------------------------------


def test_without_namespaces_it_says_so_once_and_records_it(monkeypatch):
    monkeypatch.setenv(NAMESPACES_ENV, "0")
    monkeypatch.setattr(sandbox_module, "_warned", set())
    with pytest.warns(UserWarning, match="without namespaces") as caught:
        reward = CodeTests(**LIMITS)
        (result,) = reward.score([Sample(fenced("def add(a, b):\n    return a + b"), reference=ADD_TESTS)])
        CodeTests(**LIMITS).score([Sample(fenced("def add(a, b):\n    return a + b"), reference=ADD_TESTS)])
    assert len([w for w in caught if "without namespaces" in str(w.message)]) == 1
    isolation = result.info["isolation"]
    assert result.value == 1.0
    assert isolation["namespaces"] is False and isolation["reason"] == f"switched off by {NAMESPACES_ENV}=0"
    assert isolation["network"] == "host" and isolation["disk"].startswith("no total cap")
    assert reward.provenance == {"sandbox": isolation}


@pytest.mark.slow
@pytest.mark.parametrize("switch", ["0", None], ids=["no-namespaces", "auto"])
def test_the_cli_warns_once_and_the_sidecar_records_the_isolation(tmp_path, monkeypatch, switch):
    rows = [
        {"prompt": str(i), "response": fenced("def add(a, b):\n    return a + b"), "reference": ADD_TESTS}
        for i in range(3)
    ]
    data = tmp_path / "code.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "scored.jsonl"
    monkeypatch.delenv(NAMESPACES_ENV, raising=False)
    if switch is not None:
        monkeypatch.setenv(NAMESPACES_ENV, switch)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [sys.executable, "-m", "rewardhub", "eval", str(data), "--rewards", "code_tests", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    sidecar = json.loads(sidecar_path(out).read_text())
    (component,) = [c for c in sidecar["config"]["rewards"] if c["name"] == "code_tests"]
    isolation = component["resolved"]["sandbox"]
    warned = result.stderr.count("the sandbox runs without namespaces")
    if switch == "0":
        assert isolation["namespaces"] is False and isolation["reason"] == f"switched off by {NAMESPACES_ENV}=0"
        assert warned == 1, result.stderr
    else:
        assert isolation["namespaces"] is sandbox_module.namespaces_available()[0]
        assert warned == (0 if isolation["namespaces"] else 1), result.stderr


SYSTEM_PYTHON = "/usr/bin/python3"
#: Runs [code, tests] pairs from stdin at the same time, each in a LocalSandbox, loading the
#: sandbox's modules by path (the package's __init__ imports rewardhub, which the system
#: Python lacks); prints the isolation and each run's outcome as JSON.
AS_ANOTHER_USER = """
import json, sys, types
from concurrent.futures import ThreadPoolExecutor
plugin, namespaces = sys.argv[1], {"auto": None, "off": False}[sys.argv[2]]
for name, sub in (("rewardhub_verify", ""), ("rewardhub_verify.code", "/code")):
    module = types.ModuleType(name)
    module.__path__ = [plugin + "/rewardhub_verify" + sub]
    sys.modules[name] = module
from rewardhub_verify.code.extract import parse_tests
from rewardhub_verify.code.sandbox import Limits, LocalSandbox
sandbox = LocalSandbox(Limits(wall_seconds=20, processes=16), namespaces=namespaces)
pairs = json.load(sys.stdin)
with ThreadPoolExecutor(len(pairs)) as pool:
    runs = list(pool.map(lambda pair: sandbox.run_tests(pair[0], parse_tests(pair[1])), pairs))
print(json.dumps({"isolation": sandbox.isolation, "runs": [[r.passed, r.reason] for r in runs]}))
"""


def as_another_user(directory: Path, pairs: list[tuple[str, str]], namespaces: str = "auto") -> dict:
    """What :data:`AS_ANOTHER_USER` prints, run as uid 65534 with the system Python."""
    if os.geteuid() != 0 or not shutil.which("setpriv") or not Path(SYSTEM_PYTHON).exists():
        pytest.skip("needs root, setpriv and a system Python to run as another user")
    driver = directory / "driver.py"
    driver.write_text(AS_ANOTHER_USER)
    driver.chmod(0o644)
    command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", SYSTEM_PYTHON, "-I", str(driver)]
    result = subprocess.run(
        [*command, str(PLUGIN), namespaces],
        input=json.dumps(pairs),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=directory,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.splitlines()[-1])


def unfenced(text: str) -> str:
    return text.split("\n", 1)[1].rsplit("```", 1)[0]


def test_a_caller_that_is_not_root_gets_the_same_isolation(world_dir):
    """The typical host: an unprivileged user with user namespaces."""
    secret = world_dir / "secret.txt"
    secret.write_text("readable by every user of the host")
    secret.chmod(0o644)
    code = f"""
import os
try:
    SEEN = open({str(secret)!r}).read()
except OSError:
    SEEN = None
forked = 0
for _ in range(40):
    try:
        if os.fork() == 0:
            import time
            time.sleep(30)
            os._exit(0)
        forked += 1
    except OSError:
        break
def add(a, b):
    return a + b
"""
    tests = "import os\nassert add(1, 2) == 3\nassert SEEN is None\nassert os.getuid() == 1000\nassert forked < 16\n"
    report = as_another_user(world_dir, [(code, tests)])
    if not report["isolation"]["namespaces"]:
        pytest.skip(f"no user namespaces for an unprivileged user here: {report['isolation']['reason']}")
    assert report["runs"] == [[[True] * 4, None]], report
    assert report["isolation"]["user"].startswith("uid 1000 in its own user namespace, uid 65534 outside")


def test_without_namespaces_runs_of_a_user_that_is_not_root_stay_apart(world_dir):
    """No namespaces, an unprivileged caller: the forger runs as the same user as its victim,
    yet finds neither a results file nor a descriptor of the victim's it may write to."""
    forger, victim = forger_and_victim()
    report = as_another_user(world_dir, [(unfenced(forger), ADD_TESTS), (unfenced(victim), ADD_TESTS)], "off")
    assert report["isolation"]["namespaces"] is False
    (forger_passed, _), (victim_passed, victim_reason) = report["runs"]
    assert victim_passed == [False, False, False] and victim_reason is None, report
    assert forger_passed == [False, False, False], report

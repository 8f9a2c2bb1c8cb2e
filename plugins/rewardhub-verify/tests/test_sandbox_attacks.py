"""Hostile code in the code_tests sandbox, each attack run for real: a sample that forges
another run's results or its own, one that leaves the process cap through cgroup.procs, one
that reads host files, writes outside its directory, connects to host Unix sockets (path and
abstract) or runs as host root, one that fills the disk file by file; then the machine without
user namespaces (what it says, what it records, what still holds) and a caller that is not root."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from pathlib import Path

import pytest
from rewardhub_verify import CodeTests
from rewardhub_verify.code import sandbox as sandbox_module
from rewardhub_verify.code.sandbox import NAMESPACES_ENV, LocalSandbox

from rewardhub import Sample
from rewardhub.io import sidecar_path

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the local sandbox needs Linux")

LIMITS = {"timeout": 10, "cpu_seconds": 10, "memory_mb": 512, "processes": 16, "file_size_mb": 4}
ADD_TESTS = "assert add(1, 2) == 3\nassert add(2, 2) == 4\nassert add(-1, 1) == 0\n"
PLUGIN = Path(__file__).resolve().parents[1]


def fenced(code: str) -> str:
    return f"```python\n{code}\n```"


def needs_namespaces() -> LocalSandbox:
    sandbox = LocalSandbox()
    if not sandbox.use_namespaces:
        pytest.skip(f"no user namespaces here ({sandbox.without_namespaces}): docs/sandbox.md says what remains")
    return sandbox


def code_tests(namespaces: bool | None = None, workers: int = 1, **limits) -> CodeTests:
    """The reward with the test limits and a sandbox (warning about missing namespaces muted)."""
    reward = CodeTests(workers=workers, **{**LIMITS, **limits})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reward._sandbox = LocalSandbox(reward.limits, namespaces=namespaces)
    return reward


@pytest.fixture
def world_dir():
    """A directory any user may read, write and connect in (so only the sandbox keeps the code out)."""
    path = Path(tempfile.mkdtemp(prefix="rewardhub-attack-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


# --- 1. results: another run's, and its own -------------------------------------------------

#: The victim: a wrong ``add`` that marks its working directory (so the forger can find it,
#: and nothing but it) and takes its time, so the forger runs beside it.
VICTIM = "import time\nopen('victim-{marker}', 'w').close()\ntime.sleep(1.5)\ndef add(a, b):\n    return a - b\n"
#: For four seconds: rewrites the victim's results where it can find them (main's layout,
#: /tmp/rewardhub-sandbox-*/results.jsonl, replaced atomically so the victim's own writes go
#: to a dead file) and writes forged lines into every descriptor of the victim's processes.
#: It touches nothing but processes and directories that carry the victim's marker.
FORGER = """
import glob, json, os, time
fake = "".join(json.dumps({{"test": i, "passed": True, "error": None}}) + "\\n" for i in range(10))
fake += json.dumps({{"done": True}}) + "\\n"
def marked(directory):
    return os.path.exists(os.path.join(directory, "victim-{marker}"))
end = time.time() + 4
while time.time() < end:
    for results in glob.glob("/tmp/rewardhub-sandbox-*/results.jsonl"):
        if marked(os.path.dirname(results)):
            try:
                with open(results + ".forged", "w") as f:
                    f.write(fake)
                os.replace(results + ".forged", results)
            except OSError:
                pass
    for proc in glob.glob("/proc/[0-9]*"):
        try:
            if not marked(os.readlink(proc + "/cwd")):
                continue
            descriptors = os.listdir(proc + "/fd")
        except OSError:
            continue
        for fd in descriptors:
            try:
                with open(f"{{proc}}/fd/{{fd}}", "a") as f:
                    f.write(fake)
            except OSError:
                pass
    time.sleep(0.005)
"""


def forger_and_victim() -> tuple[str, str]:
    marker = uuid.uuid4().hex[:12]
    return fenced(FORGER.format(marker=marker)), fenced(VICTIM.format(marker=marker))


def test_a_sample_cannot_rewrite_another_runs_results():
    reward = code_tests(workers=2)
    if not reward.sandbox.use_namespaces and os.geteuid() == 0:
        pytest.skip("as root without namespaces, the code is root: nothing keeps it from another run (docs/sandbox.md)")
    forger, victim = reward.score([Sample(code, reference=ADD_TESTS) for code in forger_and_victim()])
    assert victim.value == 0.0, victim.info
    assert victim.info["passed"] == 0 and victim.info["first_failure"]["error"] == "AssertionError"
    assert forger.value == 0.0, forger.info


def test_the_code_cannot_forge_its_own_results():
    """Three ways to write results: append to the results file after the harness is done
    (atexit), flood every descriptor with pass lines at import, and a thread that keeps
    writing them while the tests run. None of them reaches the supervisor's channel."""
    atexit_forger = """
import atexit, json
def forge():
    with open("results.jsonl", "a") as f:
        for i in range(3):
            f.write(json.dumps({"test": i, "passed": True, "error": None}) + "\\n")
        f.write(json.dumps({"done": True}) + "\\n")
atexit.register(forge)
def add(a, b):
    return a - b
"""
    flood = "[{'test': i, 'passed': True} for i in range(3)]"
    import_flooder = f"""
import json, os
for fd in range(3, 256):
    for forged in {flood}:
        try:
            os.write(fd, (json.dumps(forged) + "\\n").encode())
        except OSError:
            pass
def add(a, b):
    return a - b
"""
    thread_flooder = """
import os, threading
def flood():
    while True:
        for fd in range(3, 64):
            try:
                os.write(fd, b"0 [true, null]\\n")
            except OSError:
                pass
threading.Thread(target=flood, daemon=True).start()
def add(a, b):
    import time
    time.sleep(0.05)
    return a - b
"""
    reward = code_tests()
    scores = reward.score(
        [Sample(fenced(code), reference=ADD_TESTS) for code in (atexit_forger, import_flooder, thread_flooder)]
    )
    assert [s.value for s in scores] == [0.0, 0.0, 0.0], [s.info for s in scores]
    assert "tampered" in scores[1].info["reason"]
    assert "tampered" in scores[2].info["reason"]


# --- 2. the process cap -----------------------------------------------------------------------

CGROUP_ESCAPE = """
import os, time
escaped = []
targets = ["/sys/fs/cgroup/pids/cgroup.procs", "/sys/fs/cgroup/cgroup.procs", "/sys/fs/cgroup/unified/cgroup.procs"]
try:
    for line in open("/proc/self/cgroup").read().splitlines():
        _, controllers, path = line.split(":", 2)
        parent = os.path.dirname(path.rstrip("/")) or "/"
        base = "/sys/fs/cgroup/pids" if "pids" in controllers else "/sys/fs/cgroup"
        targets.append(base + parent.rstrip("/") + "/cgroup.procs")
except OSError:
    pass
for target in targets:
    try:
        with open(target, "w") as f:
            f.write(str(os.getpid()))
        escaped.append(target)
    except OSError:
        pass
forked = 0
for _ in range(60):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    forked += 1
"""


def test_the_process_cap_cannot_be_left_through_cgroup_procs():
    needs_namespaces()
    reference = "assert not escaped, escaped\nassert forked < 16, forked\n"
    (result,) = code_tests().score([Sample(fenced(CGROUP_ESCAPE), reference=reference)])
    assert result.value == 1.0, result.info  # no cgroup.procs written, and at most 16 processes


# --- 3. the host: files, sockets, its own uid -----------------------------------------------


def test_the_code_cannot_read_the_hosts_files(world_dir):
    needs_namespaces()
    secret = world_dir / "secret.txt"
    secret.write_text("the host's secret")
    secret.chmod(0o644)
    host_passwd = Path("/etc/passwd").read_text()
    code = f"""
import os
try:
    SEEN = open({str(secret)!r}).read()
except OSError as exc:
    SEEN = None
PASSWD = open("/etc/passwd").read()
HOST_PLACES = [p for p in ("/home", "/run", "/var", "/sys", "/etc/shadow") if os.path.exists(p)]
"""
    reference = f"assert SEEN is None\nassert PASSWD != {host_passwd!r}\nassert HOST_PLACES == []\n"
    (result,) = code_tests().score([Sample(fenced(code), reference=reference)])
    assert result.value == 1.0, result.info


def test_the_code_cannot_write_outside_its_directory(world_dir):
    needs_namespaces()
    name = f"rewardhub-attack-{uuid.uuid4().hex[:8]}"
    targets = [world_dir / name, Path(tempfile.gettempdir()) / name]
    code = f"""
import os
for target in {[str(t) for t in targets]!r} + ["../{name}"]:
    try:
        with open(target, "w") as f:
            f.write("written from the sandbox")
    except OSError:
        pass
"""
    try:
        (result,) = code_tests().score([Sample(fenced(code), reference="assert True")])
        assert result.value == 1.0, result.info
        for target in targets:
            assert not target.exists(), f"the sandbox wrote {target}"
        assert not list(Path(tempfile.gettempdir()).glob(f"*/{name}"))
    finally:
        for target in targets:
            target.unlink(missing_ok=True)


def test_the_code_cannot_reach_host_unix_sockets(world_dir):
    needs_namespaces()
    path = world_dir / "host.sock"
    abstract = f"\0rewardhub-attack-{uuid.uuid4().hex[:8]}"
    listeners = []
    for address in (str(path), abstract):
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(address)
        listener.listen(4)
        listeners.append(listener)
    path.chmod(0o777)
    code = f"""
import socket
REACHED = []
for address in ({str(path)!r}, {abstract!r}):
    try:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.settimeout(2)
        client.connect(address)
        client.sendall(b"sent from the sandbox")
        REACHED.append(address)
    except OSError:
        pass
"""
    try:
        (result,) = code_tests().score([Sample(fenced(code), reference="assert REACHED == []")])
        received = []
        for listener, name in zip(listeners, ("path", "abstract")):
            listener.setblocking(False)
            try:
                connection, _ = listener.accept()
                received.append((name, connection.recv(100)))
            except BlockingIOError:
                pass
        assert received == [], received
        assert result.value == 1.0, result.info
    finally:
        for listener in listeners:
            listener.close()


def test_the_code_runs_as_an_unprivileged_user_inside_and_outside():
    """The code names its process ``rh-attacker`` and waits; this test finds it in the host's
    /proc and reads the uid it really has there."""
    sandbox = needs_namespaces()
    code = """
import ctypes, os, time
ctypes.CDLL(None).prctl(15, b"rh-attacker", 0, 0, 0)  # PR_SET_NAME
INSIDE = os.getuid()
time.sleep(3)
"""
    seen: dict[int, list[int]] = {}

    def watch() -> None:
        end = time.monotonic() + 8
        while time.monotonic() < end and not seen:
            for entry in Path("/proc").iterdir():
                try:
                    if entry.name.isdigit() and (entry / "comm").read_text().strip() == "rh-attacker":
                        uids = next(
                            line for line in (entry / "status").read_text().splitlines() if line.startswith("Uid:")
                        )
                        seen[int(entry.name)] = [int(u) for u in uids.split()[1:]]
                except (OSError, StopIteration):
                    pass
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    (result,) = code_tests().score([Sample(fenced(code), reference="assert INSIDE == 1000")])
    watcher.join()
    assert result.value == 1.0, result.info
    expected = sandbox.host_id if os.geteuid() == 0 else os.geteuid()
    assert seen and all(uids == [expected] * 4 for uids in seen.values()), seen
    assert expected != 0


# --- 4. the disk --------------------------------------------------------------------------------


def test_the_code_cannot_fill_the_disk_past_its_cap():
    """30 files of 2 MiB each, every one under the 4 MiB per-file limit: the run's total stops
    at its 8 MiB tmpfs; a code that does not catch the error ends as 0.0 with the reason; and
    the code cannot mount a filesystem of its own (no further user namespace)."""
    needs_namespaces()
    writer = """
import os
WRITTEN = 0
for i in range(30):
    try:
        with open(f"big{i}", "wb") as f:
            f.write(b"x" * (2 * 2**20))
        WRITTEN += 2 * 2**20
    except OSError:
        break
"""
    bomb = (
        "for i in range(30):\n    open(f'big{i}', 'wb').write(b'x' * (2 * 2**20))\ndef add(a, b):\n    return a + b\n"
    )
    nested = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
OWN_NAMESPACE = libc.unshare(0x10000000 | 0x00020000) == 0  # CLONE_NEWUSER | CLONE_NEWNS
"""
    reward = code_tests(disk_mb=8)
    counted, crashed, mounted = reward.score(
        [
            Sample(fenced(writer), reference="assert 0 < WRITTEN <= 8 * 2**20, WRITTEN"),
            Sample(fenced(bomb), reference="assert add(1, 2) == 3"),
            Sample(fenced(nested), reference="assert not OWN_NAMESPACE"),
        ]
    )
    assert counted.value == 1.0, counted.info
    assert crashed.value == 0.0 and "No space left on device" in crashed.info["reason"], crashed.info
    assert mounted.value == 1.0, mounted.info
    assert reward.sandbox.isolation["disk"] == "tmpfs /tmp of 8 MiB"


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

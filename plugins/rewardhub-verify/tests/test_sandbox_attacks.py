"""Hostile code in the code_tests sandbox, each attack run for real: a sample that forges
another run's results or its own, one that leaves the process cap through cgroup.procs, one
that reads host files, writes outside its directory, connects to host Unix sockets (path and
abstract) or runs as host root, one that fills the disk file by file. Without user namespaces
and as a caller that is not root: ``test_sandbox_fallback.py``."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from sandbox_support import (
    ADD_TESTS,
    code_tests,
    fenced,
    forger_and_victim,
    needs_namespaces,
)

from rewardhub import Sample

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the local sandbox needs Linux")



# --- 1. results: another run's, and its own -------------------------------------------------

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

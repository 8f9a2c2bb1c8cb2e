"""Where code runs: the :class:`Sandbox` interface and :class:`LocalSandbox`.

A sandbox takes code and a :class:`~.extract.Suite` and returns a :class:`TestRun`: which
tests passed, and why the run ended early if it did. :class:`LocalSandbox` starts
:mod:`.confine` in a child process per run and reads the outcome from a pipe only that
process's supervisor holds. Where the machine allows user namespaces (probed once per
process), the code runs:

- as uid 1000 in a user namespace of its own, with no capabilities and ``no_new_privs``;
  outside it is the calling user, or uid 65534 (``host_id``) when the caller is root;
- in a private filesystem view: the system and Python directories read-only, a minimal
  ``/etc`` and ``/dev``, its own ``/proc``, and a tmpfs of ``disk_bytes`` at ``/tmp`` (its
  working directory) as the only writable place; no home, no other run, no host socket;
- with no network (a network namespace with no interface up, so no abstract socket of the
  host either), its own IPC and PID namespaces (every process dies with the run), and no
  further user namespace (so no filesystem of its own);
- under ``RLIMIT_CPU``, ``RLIMIT_AS``, ``RLIMIT_FSIZE`` (its stdout and stderr are files),
  ``RLIMIT_NPROC``, no core files, and a pids cgroup where one can be made (joined from
  outside, before any namespace), with a wall deadline after which everything is killed.

Without user namespaces (or with ``namespaces=False``, or ``REWARDHUB_SANDBOX_NAMESPACES=0``
in the environment), one warning per process says so, :attr:`LocalSandbox.isolation` records
it, and the code runs as the calling user in a fresh directory of the host's tree, with the
host's network, under the same limits (no total disk cap: files are capped one by one).

Tested in ``tests/test_code_tests.py`` (bombs, no network, nothing left behind) and
``tests/test_sandbox_attacks.py`` (hostile code: forged results, cgroup escape, host files
and sockets, disk filling, and the machine without namespaces).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from rewardhub_verify.code.cgroups import PidsCgroups

if TYPE_CHECKING:
    from rewardhub_verify.code.extract import Suite

CONFINE = Path(__file__).with_name("confine.py")
#: The child's whole environment: nothing but one thread per numeric library, so an import of
#: numpy neither trips the process cap nor reserves a buffer per core against the memory limit.
CHILD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: Set to ``0`` to run without namespaces (what a machine without user namespaces gets).
NAMESPACES_ENV = "REWARDHUB_SANDBOX_NAMESPACES"
#: The host uid (and gid) the sandbox's root maps to when the caller is root.
NOBODY = 65534
#: Processes of the sandbox's own (confine, its PID 1, a helper) counted by the pids cgroup.
OWN_PROCESSES = 3
MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one run may use. ``wall_seconds`` bounds the whole run, tests included;
    ``disk_bytes`` is the size of the writable tmpfs (with namespaces)."""

    wall_seconds: float = 10.0
    cpu_seconds: int | None = 10
    memory_bytes: int | None = 1024 * MIB
    processes: int | None = 32
    file_size: int | None = 16 * MIB
    disk_bytes: int = 64 * MIB


@dataclass
class TestRun:
    """One run's outcome: ``passed[i]`` for test ``i``; ``reason`` when the run ended early."""

    passed: list[bool]
    reason: str | None = None
    errors: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0

    __test__ = False  # not a pytest test class

    @property
    def share(self) -> float:
        return sum(self.passed) / len(self.passed) if self.passed else 0.0


class Sandbox(Protocol):
    """Anything that runs code against a suite: a local child process, a remote service."""

    def run_tests(self, code: str, suite: Suite) -> TestRun: ...


class LocalSandbox:
    """Runs code in a child process on this machine, contained as the module doc says.

    :param namespaces: ``None`` probes (once per process), ``False`` runs without them,
        ``True`` insists (each run fails with the reason where they do not work).
    :param host_id: the host uid and gid the sandbox maps to when the caller is root.
    :param read_only_paths: more host directories the code may read (with namespaces).
    """

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        namespaces: bool | None = None,
        host_id: int = NOBODY,
        read_only_paths: tuple[str, ...] = (),
    ) -> None:
        self.limits = limits or Limits()
        self.host_id, self.read_only_paths = int(host_id), tuple(str(p) for p in read_only_paths)
        if namespaces is None:
            namespaces, self.without_namespaces = namespaces_available()
        else:
            self.without_namespaces = None if namespaces else "namespaces=False"
        self.use_namespaces = bool(namespaces)
        self.cgroups = PidsCgroups.find() if self.limits.processes else None
        if not self.use_namespaces:
            _warn_once(self.without_namespaces or "unknown")

    @property
    def isolation(self) -> dict[str, object]:
        """What this sandbox enforces on this machine (recorded in every result's ``info``
        and in the run's sidecar)."""
        caller = os.geteuid()
        cap = "cgroup" if self.cgroups else ("none (root)" if caller == 0 and not self.use_namespaces else "rlimit")
        if self.use_namespaces:
            outside = self.host_id if caller == 0 else caller
            return {
                "namespaces": True,
                "user": f"uid 1000 in its own user namespace, uid {outside} outside, no capabilities",
                "filesystem": "private read-only view (system and Python directories); writable: /tmp",
                "disk": f"tmpfs /tmp of {self.limits.disk_bytes // MIB} MiB",
                "network": "none",
                "process_cap": cap,
                "results": "pipe held by the supervisor, one nonce per test",
            }
        return {
            "namespaces": False,
            "reason": self.without_namespaces,
            "user": f"the calling user (uid {caller})",
            "filesystem": "the host's, with the calling user's rights; working directory of its own",
            "disk": "no total cap (RLIMIT_FSIZE per file)",
            "network": "host",
            "process_cap": cap,
            "results": "pipe held by the supervisor, one nonce per test"
            + (" (as root: any run can read the supervisor's memory)" if caller == 0 else ""),
        }

    def run_tests(self, code: str, suite: Suite) -> TestRun:
        start = time.monotonic()
        rundir = Path(tempfile.mkdtemp(prefix="rewardhub-sandbox-"))
        cgroup = self.cgroups.create(self.limits.processes + OWN_PROCESSES) if self.cgroups else None
        try:
            spec = {
                "code": code,
                "steps": [{"source": s.source, "test": s.test} for s in suite.steps],
                "limits": {**asdict(self.limits), "processes": self._process_limit()},
                "cgroup": str(cgroup / "cgroup.procs") if cgroup else None,
                "namespaces": self.use_namespaces,
                "host_id": self.host_id,
                "paths": list(self.read_only_paths),
            }
            events, timed_out = self._execute(rundir, spec, start, cgroup)
            run = _outcome(events, len(suite), self.limits, timed_out, rundir / "stderr")
        finally:
            if cgroup is not None:
                self.cgroups.remove(cgroup)
            shutil.rmtree(rundir, ignore_errors=True)
        run.seconds = time.monotonic() - start
        return run

    def _process_limit(self) -> int | None:
        limit = self.limits.processes
        uid = self.host_id if self.use_namespaces and os.geteuid() == 0 else os.geteuid()
        if limit is None or uid == 0:
            return limit  # root ignores RLIMIT_NPROC: the cgroup, where there is one, caps
        if self.use_namespaces and _kernel() >= (5, 14):
            return limit  # RLIMIT_NPROC counts the processes of the run's own user namespace
        # Before Linux 5.14 (or without namespaces) it counts every process of the user on
        # the machine: leave room for the ones already running.
        return limit + _processes_of_user(uid)

    def _execute(self, rundir: Path, spec: dict, start: float, cgroup: Path | None) -> tuple[list[dict], bool]:
        read_end, write_end = os.pipe()
        spec["channel"] = write_end
        command = [sys.executable, "-I", str(CONFINE), "--run", rundir.name]
        try:
            with open(rundir / "stdout", "wb") as out, open(rundir / "stderr", "wb") as err:
                proc = subprocess.Popen(
                    command,
                    cwd=rundir,
                    env=CHILD_ENV,
                    stdin=subprocess.PIPE,
                    stdout=out,
                    stderr=err,
                    pass_fds=(write_end,),
                    start_new_session=True,
                )
            os.close(write_end)
            write_end = -1
            try:
                with proc.stdin:
                    proc.stdin.write(json.dumps(spec).encode())
            except BrokenPipeError:
                pass  # it failed to start: its stderr says why
            deadline = start + self.limits.wall_seconds
            data, timed_out = _read_until(read_end, deadline)
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(proc)
                if cgroup is not None:
                    self.cgroups.kill_all(cgroup)
        finally:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)
        events = []
        for line in data.decode("utf-8", errors="replace").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                event = json.loads(line)
                if isinstance(event, dict):
                    events.append(event)
        return events, timed_out


def _read_until(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Everything written to ``fd`` until its writer closes it, or until ``deadline``."""
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"".join(chunks), True
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks), False
            chunks.append(chunk)


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _outcome(events: list[dict], total: int, limits: Limits, timed_out: bool, stderr: Path) -> TestRun:
    passed = [False] * total
    errors: dict[int, str] = {}
    code_error = end = None
    for event in events:
        if "test" in event:
            index = event["test"]
            if isinstance(index, int) and 0 <= index < total:
                passed[index] = event.get("passed") is True
                if event.get("error"):
                    errors[index] = str(event["error"])
        elif "code_error" in event:
            code_error = str(event["code_error"])
        else:
            end = event
    if timed_out:
        reason: str | None = f"timed out after {limits.wall_seconds:g}s (wall clock)"
    elif end is None:
        said = stderr.read_bytes()[-300:].decode(errors="replace").strip() if stderr.exists() else ""
        reason = "the sandbox ended without a result" + (f": {said}" if said else "")
    elif "tampered" in end:
        passed = [False] * total
        reason = f"the code tampered with the result channel ({end['tampered']})"
    elif "setup_error" in end:
        reason = f"sandbox setup failed: {end['setup_error']}"
    elif "exit" in end:
        reason = _exit_reason(end["exit"], limits)
    else:
        reason = f"the code raised {code_error}" if code_error is not None else None
    return TestRun(passed, reason, errors)


def _exit_reason(status: dict, limits: Limits) -> str:
    sig = status.get("signal")
    if sig is None:
        return f"the program ended before the tests finished (exit code {status.get('code')})"
    name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else f"signal {sig}"
    if sig in (signal.SIGXCPU, signal.SIGKILL) and limits.cpu_seconds is not None:
        return f"killed by {name} (CPU limit {limits.cpu_seconds}s)"
    if sig == signal.SIGXFSZ:
        return f"file size limit ({limits.file_size} bytes) exceeded"
    return f"killed by {name}"


def _kernel() -> tuple[int, ...]:
    numbers = []
    for part in os.uname().release.split(".")[:2]:
        digits = "".join(c for c in part if c.isdigit())
        numbers.append(int(digits or 0))
    return tuple(numbers)


def _processes_of_user(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                count += entry.stat().st_uid == uid
    return count


_probe_lock = threading.Lock()
_probed: list[tuple[bool, str | None]] = []
_warned: set[str] = set()


def namespaces_available() -> tuple[bool, str | None]:
    """(whether a sandboxed run works here, why not): one trivial run, once per process;
    ``REWARDHUB_SANDBOX_NAMESPACES=0`` answers no without trying."""
    if os.environ.get(NAMESPACES_ENV, "").strip().lower() in ("0", "false", "no", "off"):
        return False, f"switched off by {NAMESPACES_ENV}={os.environ[NAMESPACES_ENV]}"
    with _probe_lock:
        if not _probed:
            from rewardhub_verify.code.extract import parse_tests

            sandbox = LocalSandbox(Limits(wall_seconds=30, processes=None), namespaces=True)
            run = sandbox.run_tests("", parse_tests("assert True"))
            _probed.append((True, None) if run.passed == [True] else (False, run.reason or "the probe failed"))
        return _probed[0]


def _warn_once(reason: str) -> None:
    if reason in _warned:
        return
    _warned.add(reason)
    warnings.warn(
        f"code_tests: the sandbox runs without namespaces ({reason}): the code runs as the calling "
        f"user (uid {os.geteuid()}), can read and write what that user can, reach the network, and "
        "fill the disk file by file. See docs/sandbox.md.",
        UserWarning,
        stacklevel=3,
    )

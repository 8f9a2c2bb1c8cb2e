"""Per-run ``pids`` cgroups (v1 or v2) under this process's own cgroup, where it may make them
(usually only as root). :mod:`.confine` joins the run's cgroup before it enters any namespace,
so nothing inside the sandbox can reach the cgroup's files (no ``/sys`` in its view, and an
unprivileged uid). Tested in ``tests/test_sandbox_attacks.py`` (a code that writes its pid
into ``cgroup.procs``, then forks) and ``tests/test_code_tests.py`` (the fork bomb).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path


class PidsCgroups:
    """Makes, empties and removes one cgroup per run under ``base``."""

    def __init__(self, base: Path) -> None:
        self.base = base

    @classmethod
    def find(cls) -> PidsCgroups | None:
        """Where this process may make pids cgroups that a child can join, if anywhere."""
        try:
            own = Path("/proc/self/cgroup").read_text().splitlines()
        except OSError:
            return None
        for line in own:
            _, controllers, path = line.split(":", 2)
            if "pids" in controllers.split(","):  # cgroup v1
                candidate = Path("/sys/fs/cgroup/pids") / path.lstrip("/")
            elif controllers == "":  # cgroup v2: pids must be enabled for our children
                candidate = Path("/sys/fs/cgroup") / path.lstrip("/")
                try:
                    if "pids" not in (candidate / "cgroup.subtree_control").read_text().split():
                        continue
                except OSError:
                    continue
            else:
                continue
            found = cls(candidate)
            if found._works():
                return found
        return None

    def _works(self) -> bool:
        """Make one, let a child join it the way :mod:`.confine` does, remove it."""
        try:
            probe = self.create(4)
        except OSError:
            return False
        try:
            join = f"open({str(probe / 'cgroup.procs')!r}, 'w').write('0')"
            command = [sys.executable, "-I", "-S", "-c", join]
            result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
            return result.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False
        finally:
            self.remove(probe)

    def create(self, max_pids: int | None) -> Path:
        path = self.base / f"rewardhub-sandbox-{uuid.uuid4().hex[:12]}"
        path.mkdir()
        if max_pids is not None:
            (path / "pids.max").write_text(str(max_pids))
        return path

    def kill_all(self, path: Path) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def remove(self, path: Path) -> None:
        for _ in range(100):
            try:
                path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.02)  # the last killed processes are still being reaped

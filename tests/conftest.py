"""Shared fixtures: paths to data, throwaway plugins, fake installed distributions."""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
from pathlib import Path

import pytest

from rewardhub import plugins

# Tests use local models only; never wait on a model hub this machine cannot reach.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
EVALDATA = ROOT / "evaldata"
REALDATA = ROOT.parent / "shared" / "realdata"


@pytest.fixture
def evaldata() -> Path:
    return EVALDATA


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata is not present")
    return REALDATA


@pytest.fixture(autouse=True)
def _fresh_plugins():
    """Every test sees the plugins as installed, with no leftovers from another test."""
    plugins.reset()
    yield
    for name in list(plugins._extra):
        plugins.remove(name)
    plugins.reset()


@pytest.fixture
def register_plugin():
    """Register a throwaway plugin object for one test: ``register_plugin(obj, "name")``."""
    return plugins.add


@pytest.fixture
def fake_distribution(tmp_path, monkeypatch):
    """Make a distribution 'installed' for this process: a module and a dist-info on sys.path.

    ``fake_distribution("dist-name", "module_name", code)`` writes ``module_name.py`` with
    ``code`` and a ``.dist-info`` whose entry point (group ``rewardhub``) points at it, then
    returns the folder, which can also go on a subprocess's PYTHONPATH.
    """
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def make(dist: str, module: str, code: str, version: str = "1.0") -> Path:
        (site / f"{module}.py").write_text(textwrap.dedent(code))
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[rewardhub]\n{module} = {module}\n")
        sys.modules.pop(module, None)
        importlib.invalidate_caches()
        plugins.reset()
        return site

    return make


# -- rewardhub serve as a real subprocess (tests/test_serve*.py, tests/test_remote.py) --------

#: Rewards for the serve tests, installed in every server subprocess: ``sleepy`` costs
#: ``seconds`` per call (a GPU model's shape: the cost is per call), ``failing`` fails on purpose
#: on every response containing "fail", ``backtracking`` is pure Python that holds the GIL for
#: 2**N steps on a response "backtrack:N" (a regular expression that backtracks, in one C call),
#: ``per_sample`` costs ``seconds`` per sample and ``group_cost`` the same per sample but sees
#: whole groups (a group-aware reward whose cost grows with the group).
SERVE_TESTING_PLUGIN = """
import re
import time
import rewardhub


class Sleepy(rewardhub.Reward):
    name = "sleepy"
    version = "1"
    batch_size = 4096
    inputs = ("response",)

    def __init__(self, seconds=0.02):
        self.seconds = float(seconds)

    def score(self, samples):
        time.sleep(self.seconds)
        return [float(len(s.response)) for s in samples]


class Failing(rewardhub.Reward):
    name = "failing"
    version = "1"
    inputs = ("response",)

    def score(self, samples):
        return [ValueError("refused on purpose") if "fail" in s.response else 1.0 for s in samples]


class Backtracking(rewardhub.Reward):
    name = "backtracking"
    version = "1"
    inputs = ("response",)
    batch_size = 1
    pure_python = True

    def score(self, samples):
        out = []
        for s in samples:
            steps = int(s.response.partition(":")[2]) if s.response.startswith("backtrack:") else 0
            re.match(r"(a+)+b", "a" * steps)  # 2**steps backtracking steps, the GIL held throughout
            out.append(float(len(s.response)))
        return out


class PerSample(rewardhub.Reward):
    name = "per_sample"
    version = "1"
    inputs = ("response",)
    batch_size = 4096

    def __init__(self, seconds=0.01):
        self.seconds = float(seconds)

    def score(self, samples):
        time.sleep(self.seconds * len(samples))
        return [float(len(s.response)) for s in samples]


class GroupCost(PerSample):
    name = "group_cost"
    group_aware = True


@rewardhub.hookimpl
def register_rewards(register):
    register(Sleepy)
    register(Failing)
    register(Backtracking)
    register(PerSample)
    register(GroupCost)
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def free_port() -> int:
    return _free_port()


@pytest.fixture
def serve_testing_plugin(fake_distribution) -> str:
    """The serve tests' plugin, installed in this process too (for in-process comparisons)."""
    fake_distribution("rewardhub-serve-testing", "rh_serve_testing", SERVE_TESTING_PLUGIN)
    return SERVE_TESTING_PLUGIN


@pytest.fixture
def sleepy_config(tmp_path):
    """``sleepy_config(seconds)``: a config file serving ``sleepy`` at that cost per call."""

    def make(seconds: float) -> str:
        path = tmp_path / f"sleepy-{seconds}.yaml"
        path.write_text(f"rewards:\n  - {{name: sleepy, args: {{seconds: {seconds}}}}}\n")
        return str(path)

    return make


class ServerProcess:
    """A ``rewardhub serve`` subprocess on a free port: ``url``, ``proc``, ``stop()``, ``metric()``."""

    def __init__(self, args: list[str], env: dict[str, str], port: int, log: Path):
        import subprocess

        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log  # a file, not a pipe: a pipe nobody reads would block a chatty server
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "rewardhub", "serve", "--port", str(port), *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 60.0) -> ServerProcess:
        import time

        import httpx

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rewardhub serve exited {self.proc.returncode}: {self.log.read_text()}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"rewardhub serve not ready in {timeout}s")

    def metric(self, name: str, token: str | None = None, **labels: str) -> float:
        """The sum of the samples of metric ``name`` whose labels include ``labels``."""
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        text = httpx.get(self.url + "/metrics", headers=headers, timeout=10).text
        total = 0.0
        for line in text.splitlines():
            series, _, value = line.rpartition(" ")
            if series.split("{")[0] == name and all(f'{k}="{v}"' in series for k, v in labels.items()):
                total += float(value)
        return total

    def stop(self, sig: int | None = None) -> int:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(sig or signal.SIGTERM)
            try:
                self.proc.wait(30)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture(scope="session")
def serve_process(tmp_path_factory):
    """Start ``rewardhub serve ARGS`` as a subprocess: ``serve_process(args)``, ready to answer.

    The serve tests' plugin (:data:`SERVE_TESTING_PLUGIN`) is 'installed' for the subprocess (a
    dist-info on its PYTHONPATH). Every server started is stopped at the end of the session.
    """
    started: list[ServerProcess] = []
    site = tmp_path_factory.mktemp("serve-site")
    module = "rh_serve_testing"
    (site / f"{module}.py").write_text(textwrap.dedent(SERVE_TESTING_PLUGIN))
    info = site / "rewardhub_serve_testing-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rewardhub-serve-testing\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[rewardhub]\n{module} = {module}\n")

    def start(args: list[str], ready: bool = True, port: int | None = None) -> ServerProcess:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        env.pop("REWARDHUB_TOKEN", None)
        env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
        port = port or _free_port()
        server = ServerProcess(args, env, port, site.parent / f"serve-{port}-{len(started)}.log")
        started.append(server)
        return server.wait_ready() if ready else server

    yield start
    for server in started:
        server.stop()

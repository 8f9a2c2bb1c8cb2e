"""``rewardhub report RUN_DIR -o run.html``: the dashboard's views of a finished run in one
self-contained HTML file (plotly.js and the data inlined; no server, no network).

The page holds every step's record and the samples of the last steps (at most
:data:`REPORT_STEPS` steps and :data:`REPORT_ROWS` samples, so a long run stays a file a
browser opens): histogram clicks and the GRPO group view work on those steps and say so on the
others. Tested in ``tests/test_dashboard.py`` (headless Chromium, no console error).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from rewardhub.telemetry import page
from rewardhub.telemetry.recorder import STEPS_FILE
from rewardhub.telemetry.steps import StepsTail, step_samples

REPORT_STEPS = 10
REPORT_ROWS = 5000


def is_run_dir(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a run directory (a directory holding ``steps.jsonl``)."""
    return Path(path).is_dir() and (Path(path) / STEPS_FILE).is_file()


def write_run_report(run_dir: str | os.PathLike[str], output: str | os.PathLike[str]) -> Path:
    """Write the report of ``run_dir`` to ``output``; returns its path."""
    root = Path(run_dir)
    if not is_run_dir(root):
        raise ValueError(f"{run_dir}: not a run directory (no {STEPS_FILE})")
    tail = StepsTail(root)
    steps = tail.read()
    if not steps:
        raise ValueError(f"{root / STEPS_FILE}: no complete step recorded yet")
    samples: dict[str, list] = {}
    rows = 0
    for record in reversed(steps[-REPORT_STEPS:]):
        key = str(record.get("step"))
        if key in samples:
            continue
        found = step_samples(root, record)
        if rows + len(found) > REPORT_ROWS and samples:
            break
        samples[key] = found[:REPORT_ROWS]
        rows += len(samples[key])
    data = {"steps": steps, "samples": samples, "written": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    path = Path(output)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page.render(root.resolve().name, data), encoding="utf-8")
    tmp.replace(path)
    return path

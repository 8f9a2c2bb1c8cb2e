"""The must-show run: a real 3-step TRL GRPO run on the tiny model, with a diversity reward and
``run_dir``, while the dashboard is open in headless Chromium: each step reaches the page as it
is trained (no reload, no console error), the trainer's own logs carry rewardhub's numbers, and
the run directory holds every step and its samples. ``REWARDHUB_DASHBOARD_SCREENSHOT=PATH``
saves the page at the end (``docs/dashboard.png`` was taken so)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rewardhub.telemetry import read_steps
from rewardhub.telemetry.steps import step_samples
from tests.dashboard_support import CHARTS_JS, browser_page, dashboard

pytest.importorskip("trl")
pytest.importorskip("datasets")
pytest.importorskip("starlette")
pytest.importorskip("plotly")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "grpo_trl.py"

WATCH_JS = """() => {
  window.__seen = [];
  window.__same_document = true;
  new MutationObserver(() => window.__seen.push(document.getElementById('latest-step').textContent))
    .observe(document.getElementById('latest-step'), {childList: true, characterData: true, subtree: true});
}"""


@pytest.mark.slow
def test_a_tiny_grpo_run_is_watched_live(tmp_path):
    run = tmp_path / "run"
    with dashboard(run) as url, browser_page({"width": 1280, "height": 1000}) as (page, errors):
        page.goto(url + "/")
        page.wait_for_function("document.getElementById('status').textContent === 'live'", timeout=60_000)
        page.evaluate(WATCH_JS)
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        command = [
            sys.executable,
            str(EXAMPLE),
            "--max-steps",
            "3",
            "--run-dir",
            str(run),
            "--output-dir",
            str(tmp_path / "out"),
        ]
        trainer = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        try:
            page.wait_for_function("document.getElementById('latest-step').textContent === '3'", timeout=600_000)
            output, _ = trainer.communicate(timeout=300)
        finally:
            if trainer.poll() is None:
                trainer.kill()
        assert trainer.returncode == 0, output[-3000:]
        assert page.evaluate("window.__seen.filter(v => v !== '–')") == ["1", "2", "3"]  # one by one, as trained
        assert page.evaluate("window.__same_document") is True  # no reload
        page.wait_for_function("document.querySelectorAll('#group-view table tr').length === 5", timeout=30_000)
        charts = page.evaluate(CHARTS_JS)
        assert {"dist-diversity_bonus", "diversity-chart", "spearman-chart"} <= {c["id"] for c in charts}
        # every chart draws points, but reward against length where no length varies (the tiny model
        # always writes its 16 tokens): the page says so instead
        empty = [c["id"] for c in charts if c["marks"] == 0]
        assert set(empty) <= {"spearman-chart"}, charts
        if empty:
            assert "every response has the same length" in page.inner_text("#spearman-none")
        if os.environ.get("REWARDHUB_DASHBOARD_SCREENSHOT"):
            page.screenshot(path=os.environ["REWARDHUB_DASHBOARD_SCREENSHOT"], full_page=True)
    assert errors == []
    # TRL logged rewardhub's numbers beside its own, per step
    logged = re.search(r"rewardhub/distinct_2 per step: \[(.*)\]", output)
    assert logged and len(logged.group(1).split(",")) == 3
    records = read_steps(run)
    assert [r["step"] for r in records] == [1, 2, 3] and all(r["source"] == "trl" for r in records)
    for record in records:
        assert set(record["rewards"]) == {"entropy", "repetition_penalty", "diversity_bonus"}
        assert record["length"]["source"] == "trainer tokens" and record["corpus"]["distinct_2"] is not None
        assert record["corpus"]["truncated_rate"] is not None  # max_completion_length given to the recorder
        rows = step_samples(run, record)
        assert len(rows) == record["n"] == 8 and all(row["tokens"] <= 16 for row in rows)
    assert records[-1]["cumulative"]["completions"] == 24

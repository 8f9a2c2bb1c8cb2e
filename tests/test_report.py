"""``rewardhub report``: one self-contained page (no network), text escaped, bounded in size for
large runs, and every chart rendering in a real headless Chromium with no JavaScript error."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from rewardhub.cli import cli
from rewardhub.compare.analysis import analyse
from rewardhub.compare.report import write_report
from rewardhub.compare.sides import ScoredRow, Side
from rewardhub.types import Sample
from tests.conftest import EVALDATA

pytest.importorskip("plotly")

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
HOSTILE = "<script>alert('pwned')</script> & <b>bold</b>"


def rows() -> list[dict]:
    return [json.loads(line) for line in (EVALDATA / "chat_en.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def comparison_page(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    before = [*rows(), {"prompt": "Say hi.", "response": HOSTILE}]
    after = [{**r, "response": r["response"] + " " + r["response"]} for r in before]
    for name, data in (("before", before), ("after", after)):
        (tmp / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in data))
    out = tmp / "report.html"
    result = CliRunner().invoke(
        cli,
        [
            "report",
            "--compare",
            str(tmp / "before.jsonl"),
            str(tmp / "after.jsonl"),
            "-o",
            str(out),
            "-q",
            "--rewards",
            "repetition_penalty,entropy",
            "--metrics",
            "distinct,repetition,self_bleu",
            "--work-dir",
            str(tmp / "work"),
            "--bootstrap",
            "200",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return out


def test_the_page_is_self_contained_and_escapes_text(comparison_page):
    page = comparison_page.read_text()
    assert not re.search(r"<script[^>]+src=", page) and "cdn." not in page.split("<body>")[1]
    assert HOSTILE not in page and "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in page
    for heading in ("Did anything change?", "Reward distributions", "How rewards relate", "Provenance"):
        assert heading in page
    assert "sha256" in page and "repetition_penalty" in page


def test_a_report_of_scored_files(tmp_path):
    out = tmp_path / "one.html"
    result = CliRunner().invoke(
        cli,
        [
            "report",
            str(EVALDATA / "chat_en.jsonl"),
            "-o",
            str(out),
            "--rewards",
            "entropy",
            "--work-dir",
            str(tmp_path / "w"),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "spread inside groups" in page and "Highest and lowest" in page


def test_a_report_of_raw_files_reads_the_fields_it_is_told(tmp_path):
    data = tmp_path / "odd.jsonl"
    rows = [{"q": f"question {i}", "a": f"answer number {i} here"} for i in range(4)]
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "odd.html"
    args = ["report", str(data), "-o", str(out), "--rewards", "entropy", "--work-dir", str(tmp_path / "w")]
    result = CliRunner().invoke(cli, [*args, "--prompt-field", "q", "--response-field", "a"])
    assert result.exit_code == 0, result.output
    assert "answer number 3 here" in out.read_text()


@pytest.mark.slow
def test_a_100k_row_report_stays_small(tmp_path):
    rng = np.random.default_rng(0)
    n = 100_000

    def side(label: str, shift: float) -> Side:
        values = rng.normal(shift, 1, (n, 2))
        data = [
            ScoredRow(Sample(response="x" * int(20 + abs(v[0]) * 50), prompt=f"p{i}"), {"r1": v[0], "r2": v[1]}, {})
            for i, v in enumerate(values)
        ]
        return Side(label, [f"{label}.jsonl"], data)

    comparison = analyse(side("a", 0.0), side("b", 0.1), ["r1", "r2"], {"r1": True, "r2": None}, [], permutations=50)
    out = write_report(tmp_path / "big.html", comparison=comparison)
    from plotly.offline import get_plotlyjs

    data_bytes = out.stat().st_size - len(get_plotlyjs())
    assert data_bytes < 1_500_000  # binned, sampled: not 100k points per chart
    assert "at most 2,000 random samples" in out.read_text()


def _browser_or_skip():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("no Chromium here (Debian: apt-get install chromium)")
    return sync_api


@pytest.mark.slow
def test_every_chart_renders_in_headless_chromium_without_errors(comparison_page):
    sync_api = _browser_or_skip()
    errors: list[str] = []
    with sync_api.sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        try:
            browser = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=FLAGS, headless=True)
        except Exception as exc:  # a Chromium that cannot start here is a skip, not a failure
            pytest.skip(f"Chromium does not start here: {exc}")
        page = browser.new_page()
        page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.goto(comparison_page.as_uri())
        page.wait_for_load_state("load")
        charts = page.locator("div.plotly-graph-div").count()
        drawn = page.evaluate(
            "Array.from(document.querySelectorAll('div.plotly-graph-div'))"
            ".filter(d => d.querySelector('svg.main-svg') && d.getBoundingClientRect().height > 0).length"
        )
        browser.close()
    page_text = comparison_page.read_text()
    assert charts == page_text.count('class="plotly-graph-div"') and charts >= 8
    assert drawn == charts
    assert errors == []

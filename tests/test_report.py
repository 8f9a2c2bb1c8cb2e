"""``rewardhub report``: one self-contained page (no network), text escaped, bounded in size for
large runs, every chart rendering with points in a real headless Chromium with no JavaScript
error (a chart with nothing to show is left out with the reason), a ``length`` reward drawn as
itself, and the metrics of a single-file report in a table."""

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


@pytest.fixture(scope="module")
def single_page(tmp_path_factory) -> tuple[Path, list[dict]]:
    """A report of one scored file: ``length`` counts tokens, ``repetition_penalty`` has no
    usable value at all (null in every row)."""
    tmp = tmp_path_factory.mktemp("single")
    scored = tmp / "scored.jsonl"
    args = ["eval", str(EVALDATA / "chat_en.jsonl"), "--rewards", "entropy,length,repetition_penalty"]
    done = CliRunner().invoke(cli, [*args, "-o", str(scored), "-q"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    data = [json.loads(line) for line in scored.read_text().splitlines()]
    for row in data:
        row["rewards"]["repetition_penalty"] = None
    scored.write_text("".join(json.dumps(r) + "\n" for r in data))
    out = tmp / "one.html"
    result = CliRunner().invoke(
        cli, ["report", str(scored), "-o", str(out), "-q", "--metrics", "distinct,self_bleu"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return out, data


def test_a_single_file_report_leaves_out_empty_charts_and_tables_its_metrics(single_page):
    out, _ = single_page
    page = out.read_text()
    assert "repetition_penalty: no usable value on any side" in page  # no empty chart: a reason
    assert "repetition_penalty against length: no usable value" in page
    assert '"title":{"text":"repetition_penalty"' not in page
    from rewardhub import compute_metrics
    from rewardhub.io import read_samples

    expected = compute_metrics(["distinct", "self_bleu"], read_samples(EVALDATA / "chat_en.jsonl")).values
    metrics = page.split("<h2>Metrics</h2>")[1].split("</table>")[0]
    for name in ("distinct_1", "distinct_2", "self_bleu_4"):
        assert f"{name}</td><td>{expected[name]:.4g}</td>" in metrics
    assert "length (characters)" in page and "response length (characters)" in page


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


#: every plotly chart on the page: its title, how many marks it draws with an area (bars, markers,
#: heatmap cells), and its traces' x values
CHARTS_JS = """Array.from(document.querySelectorAll('div.plotly-graph-div')).map(gd => {
  const sel = '.barlayer .point path, .scatterlayer path.point, .heatmaplayer image';
  const marks = Array.from(gd.querySelectorAll(sel)).filter(m => {
    const r = m.getBoundingClientRect(); return r.width > 0 && r.height > 0; });
  const shown = gd.getBoundingClientRect().height > 0 && gd.querySelector('svg.main-svg') !== null;
  return {title: (gd.layout.title || {}).text || '', marks: shown ? marks.length : 0,
          x: gd._fullData.map(t => Array.from(t.x || []))};
})"""


def render(path: Path) -> tuple[list[dict], list[str]]:
    """Open ``path`` in headless Chromium: each chart as :data:`CHARTS_JS` sees it, and errors."""
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
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        charts = page.evaluate(CHARTS_JS)
        browser.close()
    return charts, errors


@pytest.mark.slow
@pytest.mark.parametrize("which", ["comparison", "single"])
def test_every_chart_renders_with_points_in_headless_chromium(which, comparison_page, single_page):
    path = comparison_page if which == "comparison" else single_page[0]
    charts, errors = render(path)
    assert len(charts) == path.read_text().count('class="plotly-graph-div"') and len(charts) >= 7
    empty = [c["title"] for c in charts if c["marks"] == 0]
    assert empty == [], f"charts drawn without a single point: {empty}"
    assert errors == []
    if which == "single":
        # the length reward's histogram shows its values (tokens), not characters
        tokens = max(row["rewards"]["length"] for row in single_page[1])
        characters = max(len(row["response"]) for row in single_page[1])
        [length] = [c for c in charts if c["title"] == "length"]
        assert max(max(x) for x in length["x"]) <= tokens < characters
        assert not [c for c in charts if c["title"].startswith("repetition_penalty")]

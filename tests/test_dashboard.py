"""``rewardhub dashboard RUN_DIR`` as a real uvicorn subprocess: its JSON API and refusals, the
server-sent events, the token rule, the live page in headless Chromium (new steps arrive in the
DOM without a reload, a histogram bar lists its samples, no console error), and ``rewardhub report
RUN_DIR`` as one self-contained file showing the same views."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from rewardhub.cli import cli
from rewardhub.telemetry import read_steps
from tests.dashboard_support import CHARTS_JS, browser_page, dashboard, write_steps

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("plotly")
httpx = pytest.importorskip("httpx")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "run"
    write_steps(path, 3)
    return path


def a_bar(record: dict, key: str) -> int:
    """The fullest bin of ``key``'s histogram at that step."""
    counts = record["rewards"][key]["hist"]["counts"]
    return max(range(len(counts)), key=lambda b: counts[b])


def test_the_api_answers_and_refuses_with_reasons(run_dir):
    records = read_steps(run_dir)
    with dashboard(run_dir) as url:
        steps = httpx.get(url + "/api/steps").json()
        assert steps["count"] == 3 and [r["step"] for r in steps["steps"]] == [1, 2, 3]
        assert httpx.get(url + "/api/steps?after=2").json()["steps"] == [records[2]]
        b = a_bar(records[1], "length")
        got = httpx.get(url + f"/api/samples?step=2&component=length&bin={b}").json()
        assert got["count"] == records[1]["rewards"]["length"]["hist"]["counts"][b] > 0
        lo, hi = got["range"]
        assert all(lo <= row["rewards"]["length"] <= hi for row in got["rows"])
        whole = httpx.get(url + "/api/samples?step=2").json()
        assert whole["count"] == 16 and {"rewards", "total", "advantage", "group"} <= set(whole["rows"][0])
        group = whole["rows"][0]["group"]
        assert httpx.get(url + "/api/samples", params={"step": 2, "group": group}).json()["count"] == 4
        for query, status, reason in (
            ("step=abc", 400, "step: not an integer"),
            ("", 400, "step: required"),
            ("step=99", 404, "step 99: not recorded"),
            ("step=1&component=nope&bin=0", 400, "no reward 'nope'"),
            ("step=1&component=length&bin=20", 400, "bin: an integer from 0 to 19"),
        ):
            answer = httpx.get(url + "/api/samples?" + query)
            assert answer.status_code == status and reason in answer.json()["error"], query


def test_events_send_each_new_step_once_and_resume_after_the_last_id(tmp_path):
    run = tmp_path / "run"
    write_steps(run, 1)
    with dashboard(run) as url:
        with httpx.stream("GET", url + "/events?after=0", timeout=60) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            events = []
            writer = None
            for line in lines:
                if line.startswith("id: "):
                    events.append(int(line[4:]))
                if line.startswith("data: "):
                    assert json.loads(line[6:])["step"] == len(events)
                    if len(events) == 1:
                        writer = write_steps(run, 2, wait=False)  # the page is open; the run goes on
                    if len(events) == 3:
                        break
            assert events == [1, 2, 3]
            assert writer.wait(timeout=120) == 0
        # a browser reconnecting with Last-Event-ID gets only what it has not seen
        with httpx.stream("GET", url + "/events?after=0", headers={"Last-Event-ID": "2"}, timeout=60) as stream:
            first = next(line for line in stream.iter_lines() if line.startswith("id: "))
            assert first == "id: 3"


def test_the_token_rule_is_serves(run_dir):
    refused = CliRunner().invoke(cli, ["dashboard", str(run_dir), "--host", "0.0.0.0"])
    assert refused.exit_code == 2 and "refusing to listen on 0.0.0.0 without a token" in refused.output
    with dashboard(run_dir, "--token", "s3cret") as url:
        assert httpx.get(url + "/api/steps").status_code == 401
        assert httpx.get(url + "/events").status_code == 401
        assert httpx.get(url + "/", params={"token": "wrong"}).status_code == 401
        assert httpx.get(url + "/api/steps", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        with httpx.Client() as client:  # the browser's way: open /?token=T once, then the cookie
            page = client.get(url + "/", params={"token": "s3cret"})
            assert page.status_code == 200 and "rewardhub_dashboard" in page.headers["set-cookie"]
            assert "httponly" in page.headers["set-cookie"].lower()
            assert client.get(url + "/api/steps").status_code == 200


@pytest.mark.slow
def test_the_live_page_shows_new_steps_without_a_reload_and_lists_a_bars_samples(tmp_path):
    run = tmp_path / "run"
    write_steps(run, 2)
    with dashboard(run) as url, browser_page() as (page, errors):
        page.goto(url + "/")
        page.wait_for_function("document.getElementById('latest-step').textContent === '2'", timeout=60_000)
        page.evaluate("window.__same_document = true")  # gone if the page reloads
        page.wait_for_function("document.getElementById('status').textContent === 'live'", timeout=30_000)
        writer = write_steps(run, 3, pause=1.0, wait=False)
        page.wait_for_function("document.getElementById('latest-step').textContent === '5'", timeout=120_000)
        assert writer.wait(timeout=60) == 0
        assert page.evaluate("window.__same_document") is True
        assert page.inner_text("#step-count") == "5"
        assert page.eval_on_selector_all("#step-log tr", "rows => rows.map(r => r.dataset.step)") == [
            "5",
            "4",
            "3",
            "2",
            "1",
        ]
        charts = {c["id"]: c for c in page.evaluate(CHARTS_JS)}
        assert {"dist-length", "hist-length", "diversity-chart", "spearman-chart", "shares-chart"} <= set(charts)
        assert all(c["marks"] > 0 for c in charts.values()), charts
        # a histogram bar, clicked, lists exactly the samples it counts
        record = read_steps(run)[-1]
        b = a_bar(record, "length")
        page.evaluate(
            "([id, b]) => { const gd = document.getElementById(id);"
            " gd.emit('plotly_click', {points: [{customdata: b, data: gd.data[0]}]}); }",
            ["hist-length", b],
        )
        want = record["rewards"]["length"]["hist"]["counts"][b]
        page.wait_for_function(f"document.querySelectorAll('#bin-samples .sample').length === {want}", timeout=30_000)
        assert f"at step 5: {want} samples" in page.inner_text("#bin-samples h3")
        # the GRPO group: four answers, each reward and its advantage
        page.wait_for_function("document.querySelectorAll('#group-view table tr').length === 5", timeout=30_000)
        header = page.eval_on_selector_all("#group-view th", "ths => ths.map(t => t.textContent)")
        assert header == ["response", "tokens", "length", "repetition_penalty", "diversity_bonus", "total", "advantage"]
    assert errors == []


@pytest.mark.slow
def test_report_of_a_run_dir_is_one_self_contained_page_with_the_same_views(run_dir, tmp_path):
    out = tmp_path / "run.html"
    result = CliRunner().invoke(cli, ["report", str(run_dir), "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert not re.search(r"<script[^>]+src=", html) and "cdn." not in html.split("<body>")[1]
    with browser_page() as (page, errors):
        page.goto(out.as_uri())
        page.wait_for_function("document.getElementById('latest-step').textContent === '3'", timeout=60_000)
        assert "a finished run" in page.inner_text("#status")
        charts = page.evaluate(CHARTS_JS)
        assert len(charts) >= 9 and all(c["marks"] > 0 for c in charts), charts
        record = read_steps(run_dir)[-1]
        b = a_bar(record, "diversity_bonus")
        page.evaluate(
            "([id, b]) => document.getElementById(id).emit('plotly_click', {points: [{customdata: b}]})",
            ["hist-diversity_bonus", b],
        )
        want = record["rewards"]["diversity_bonus"]["hist"]["counts"][b]
        page.wait_for_function(f"document.querySelectorAll('#bin-samples .sample').length === {want}", timeout=30_000)
    assert errors == []
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "steps.jsonl").write_text("")
    failed = CliRunner().invoke(cli, ["report", str(empty), "-o", str(tmp_path / "x.html")])
    assert failed.exit_code == 2 and "no complete step recorded yet" in failed.output

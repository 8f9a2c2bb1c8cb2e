"""The API key reaches the endpoint and nothing else: not the output rows, the sidecar, the
journal, the summary, the table, stderr, a compare report, an error, a repr; not even when
the endpoint echoes it back in an error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from rewardhub_judge import LLMJudge, PairwiseJudge

REWARDHUB = [sys.executable, "-m", "rewardhub"]  # this interpreter's, activated or not

KEY_ENV = "REWARDHUB_JUDGE_TEST_KEY"
KEY = "sk-rewardhub-TEST-KEY-" + uuid.uuid4().hex  # recognisable, and in no file before the test


def rows(path: Path, n: int = 4) -> None:
    tag = uuid.uuid4().hex
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n):
            handle.write(json.dumps({"prompt": f"q {i}", "response": f"a {tag} {i} <<reply:[[{i + 3}]]>>"}) + "\n")


def every_file(folder: Path) -> dict[str, str]:
    return {
        str(p): p.read_text(encoding="utf-8", errors="replace")
        for p in folder.rglob("*")
        if p.is_file() and p.suffix != ".sqlite3"
    }


def test_the_key_is_sent_and_never_written(fake_endpoint, tmp_path):
    env = {**os.environ, KEY_ENV: KEY}
    data = tmp_path / "in.jsonl"
    rows(data)
    outputs: list[str] = []
    for mode in ("ok", "echokey", "http500", "garbage"):
        args = {
            "base_url": fake_endpoint.url(mode),
            "model": "fake-judge",
            "api_key_env": KEY_ENV,
            "retries": 1,
            "backoff": 0.01,
        }
        config = tmp_path / f"{mode}.yaml"
        config.write_text(
            json.dumps(
                {
                    "rewards": [{"name": "llm_judge", "args": {**args, "cache": str(tmp_path / "c.sqlite3")}}],
                    "metrics": [],
                }
            )
        )
        for extra in ([], ["--json"]):
            out = tmp_path / f"{mode}{len(extra)}.jsonl"
            run = subprocess.run(
                [*REWARDHUB, "eval", str(data), "--config", str(config), "-o", str(out), *extra],
                env=env, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert run.returncode == 0, run.stderr
            outputs += [run.stdout, run.stderr]
    mark = fake_endpoint.mark()
    for mode in ("ok", "echokey"):  # a comparison judged with the key: table, --json, report
        judge = tmp_path / f"judge-{mode}.yaml"
        judge.write_text(
            json.dumps(
                {"args": {"base_url": fake_endpoint.url(mode), "model": "m", "api_key_env": KEY_ENV, "cache": False}}
            )
        )
        other = tmp_path / "other.jsonl"
        other.write_text(data.read_text().replace(" a ", " b "))
        for extra in ([], ["--json"]):
            run = subprocess.run(
                [*REWARDHUB, "compare", str(data), str(other), "--rewards", "none", "--metrics", "none",
                 "--judge", str(judge), "--work-dir", str(tmp_path / "work"), *extra],
                env=env, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert run.returncode == 0, run.stderr
            outputs += [run.stdout, run.stderr]
        report = subprocess.run(
            [*REWARDHUB, "report", "--compare", str(data), str(other), "--rewards", "none", "--metrics", "none",
             "--judge", str(judge), "--work-dir", str(tmp_path / "work"), "-o", str(tmp_path / f"report-{mode}.html")],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        outputs += [report.stdout, report.stderr]
    assert any("judge: HTTP 401" in text for text in outputs)  # the echoing endpoint was reached
    assert all(r["authorization"] for r in fake_endpoint.requests(since=mark))  # the key was sent
    written = every_file(tmp_path)
    assert any(name.endswith(".meta.json") for name in written) and any(name.endswith(".html") for name in written)
    leaks = [name for name, text in written.items() if KEY in text] + [
        f"output {i}" for i, t in enumerate(outputs) if KEY in t
    ]
    assert leaks == []
    assert any(KEY_ENV in text for text in written.values())  # the variable's name is recorded, its value not


@pytest.mark.parametrize("cls", [LLMJudge, PairwiseJudge])
def test_nor_in_the_objects_a_program_may_print(fake_endpoint, monkeypatch, cls):
    from rewardhub import Sample

    monkeypatch.setenv(KEY_ENV, KEY)
    reward = cls(base_url=fake_endpoint.url("echokey"), model="m", api_key_env=KEY_ENV, cache=False)
    try:
        scores = reward.score([Sample("x", prompt="y", meta={"baseline": "z"})])
        said = [repr(reward), repr(reward.client()), json.dumps(reward.provenance), json.dumps(reward.run_stats()),
                json.dumps([s.info for s in scores])]  # fmt: skip
    finally:
        reward.close()
    assert scores[0].value is None and "judge: HTTP 401" in json.dumps(scores[0].info)
    assert "[api key]" in json.dumps(scores[0].info)  # what the endpoint echoed, scrubbed
    assert not any(KEY in text for text in said)

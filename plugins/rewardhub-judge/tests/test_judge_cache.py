"""The SQLite cache: two real processes share one file at once; a re-run, a ``--resume`` and a
run with other args of the same requests make no call for what was judged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

JUDGE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from rewardhub import Sample
    from rewardhub_judge import LLMJudge

    url, cache, tag, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    reward = LLMJudge(base_url=url, model="fake-judge", cache=cache, max_concurrency=4)
    samples = [Sample(f"answer {tag} {i} <<reply:[[{1 + i % 10}]]>>", prompt=f"q {tag} {i}") for i in range(n)]
    values = [s.value for s in reward.score(samples)]
    print(json.dumps({"values": values, "stats": reward.run_stats()}))
    reward.close()
    """
)


def run_judges(endpoint, cache: Path, tag: str, n: int, processes: int) -> list[dict]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", JUDGE_SCRIPT, endpoint.url("ok"), str(cache), tag, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def test_two_processes_share_one_cache_file_and_a_rerun_calls_nothing(fake_endpoint, tmp_path):
    cache, tag, n = tmp_path / "judge.sqlite3", uuid.uuid4().hex, 60
    expected = [(i % 10) / 9 for i in range(n)]
    mark = fake_endpoint.mark()
    first, second = run_judges(fake_endpoint, cache, tag, n, processes=2)
    assert first["values"] == second["values"] == pytest.approx(expected)
    asked = len(fake_endpoint.requests("ok", since=mark))
    # each process asks what it did not find; at most both ask the same one, never an error
    assert n <= asked <= 2 * n
    assert first["stats"]["requests"] + second["stats"]["requests"] == asked

    mark = fake_endpoint.mark()
    (third,) = run_judges(fake_endpoint, cache, tag, n, processes=1)
    assert third["values"] == pytest.approx(expected)
    assert fake_endpoint.requests(since=mark) == []  # nothing reached the server
    assert third["stats"]["cache_hits"] == n and third["stats"]["requests"] == 0


def test_the_key_covers_rubric_and_sampling_but_not_the_address(fake_endpoint, tmp_path):
    from rewardhub_judge import LLMJudge

    from rewardhub import Sample

    cache = tmp_path / "c.sqlite3"
    samples = [Sample(f"a {uuid.uuid4().hex} <<reply:[[3]]>>", prompt="q")]

    def asked(**args) -> int:
        mark = fake_endpoint.mark()
        args = {"base_url": fake_endpoint.url("ok"), "model": "fake-judge", "cache": str(cache), **args}
        reward = LLMJudge(**args)
        try:
            reward.score(samples)
        finally:
            reward.close()
        return len(fake_endpoint.requests(since=mark))

    assert asked() == 1
    assert asked() == 0
    assert asked(base_url=f"http://localhost:{fake_endpoint.port}/ok/v1") == 0  # another address, same model
    assert asked(max_tokens=100) == 1
    assert asked(temperature=0.5) == 1
    assert asked(rubric="safety") == 1
    assert asked(model="another-judge") == 1
    assert asked(cache=False) == 1 and asked(cache=False) == 1  # no cache: asked every time


def test_a_failed_call_is_not_cached(fake_endpoint, tmp_path):
    from rewardhub_judge import LLMJudge

    from rewardhub import Sample

    cache = tmp_path / "c.sqlite3"
    reward = LLMJudge(base_url=fake_endpoint.url("http500"), model="m", cache=str(cache), retries=0)
    try:
        (score,) = reward.score([Sample("x", prompt="y")])
    finally:
        reward.close()
    assert score.value is None
    from rewardhub_judge.cache import AnswerCache

    stored = AnswerCache(cache)
    try:
        assert len(stored) == 0
    finally:
        stored.close()


def write_rows(path: Path, n: int, tag: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n):
            handle.write(
                json.dumps({"prompt": f"q {tag} {i}", "response": f"a {tag} {i} <<reply:[[{1 + i % 10}]]>>"}) + "\n"
            )


def test_a_resumed_eval_asks_nothing_twice(fake_endpoint, tmp_path):
    """Interrupt ``eval`` after some judgments, ``--resume`` it: the server sees each row once."""
    tag, n = uuid.uuid4().hex, 24
    data, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_rows(data, n, tag)
    config = tmp_path / "judge.yaml"
    config.write_text(
        json.dumps(
            {
                "rewards": [
                    {
                        "name": "llm_judge",
                        "args": {
                            "base_url": fake_endpoint.url("slow"),
                            "model": "fake-judge",
                            "cache": str(tmp_path / "cache.sqlite3"),
                            "max_concurrency": 1,
                        },
                    }
                ],
                "metrics": [],
            }
        )
    )
    command = [sys.executable, "-m", "rewardhub", "eval", str(data), "--config", str(config), "-o", str(out)]
    command += ["--chunk-size", "6", "-q"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    mark = fake_endpoint.mark()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    # stop in the middle of the third chunk (rows 12-17): two of its rows judged, none journaled
    while len(fake_endpoint.requests("slow", since=mark)) < 14 and time.monotonic() < deadline:
        time.sleep(0.05)
    stopped = time.time()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert not out.exists()

    resumed = subprocess.run(command + ["--resume", "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    seen = fake_endpoint.requests("slow", since=mark)
    total, first = len(seen), sum(r["start"] < stopped for r in seen)
    assert 0 < first < n
    # every row asked once in all; the one request in flight at the interrupt (max_concurrency 1)
    # may be asked again: the server answered it, the stopped client never read the answer
    assert n <= total <= n + 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["rewards"]["llm_judge"] for r in rows] == pytest.approx([(i % 10) / 9 for i in range(n)])
    stats = json.loads(resumed.stdout)["rewards"]["llm_judge"]["stats"]
    assert stats["requests"] == total - first
    assert stats["cache_hits"] >= 1  # judged before the stop but not journaled: from the cache

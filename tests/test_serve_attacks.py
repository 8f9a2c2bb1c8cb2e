"""``rewardhub serve`` against slow rewards and slow, broken or hostile clients (issue 17,
items 6, 7, 9, 10 and 11), as a real subprocess on a free port, spoken to over HTTP and raw
sockets:

- a pure-Python reward that holds the GIL for minutes: ``/health`` still answers, a request's
  deadline still gives its 504 on time, ``--timeout`` stops the call, SIGTERM still stops the
  server;
- a request of many samples (or one big group) does not hold up a small request sent after it;
  ``--max-request-samples`` gives 413;
- a client that stops mid-body: 408 after ``--body-timeout``, and no hold on SIGTERM; one that
  disconnects mid-body: counted as 499, no traceback, no 500;
- a chat content part whose ``text`` is not a string: 422 naming the field (and ``eval``'s
  one-line error);
- ``--timeout`` 0, negative, NaN or infinite: refused at start, as ``eval`` refuses it.

Liveness is checked with generous bounds (a hang fails the test); no speed is asserted.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner

from rewardhub.cli import cli

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

FOREVER = "backtrack:30"  # 2**30 backtracking steps in one C call: about a minute here


def post(server, body, headers=None, timeout=60.0, path="/v1/score") -> httpx.Response:
    return httpx.post(server.url + path, json=body, headers=headers or {}, timeout=timeout)


def in_thread(fn) -> tuple[threading.Thread, dict]:
    box: dict = {}

    def run() -> None:
        try:
            box["out"] = fn()
        except httpx.HTTPError as exc:
            box["error"] = exc
        box["at"] = time.monotonic()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    return worker, box


def wait_until(condition, limit: float = 60.0) -> None:
    end = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.05)


def batches_started(server) -> float:
    return server.metric("rewardhub_batch_size_count")


# -- item 6: a slow pure-Python reward ---------------------------------------------------------


@pytest.mark.slow
def test_a_reward_holding_the_gil_neither_freezes_the_server_nor_outlives_its_timeout(serve_process):
    server = serve_process(["--rewards", "backtracking,entropy", "--timeout", "2"])
    slow, box = in_thread(lambda: post(server, {"samples": [{"response": FOREVER}, {"response": "quick"}]}))
    wait_until(lambda: batches_started(server) >= 1)
    health = httpx.get(server.url + "/health", timeout=15)  # the event loop is free: no wait for the call
    assert health.status_code == 200 and health.json()["status"] == "ok"
    late = post(server, {"samples": [{"response": "behind it"}]}, {"X-Rewardhub-Deadline": "0.5"}, timeout=15)
    assert late.status_code == 504 and "deadline" in late.json()["error"]
    slow.join(60)
    assert not slow.is_alive(), "--timeout 2 did not stop the call"
    results = box["out"].json()["results"]
    assert results[0]["rewards"]["backtracking"] is None
    assert results[0]["errors"]["backtracking"] == "timed out after 2s (batch of 1)"
    assert results[1]["rewards"]["backtracking"] == 5.0 and results[0]["rewards"]["entropy"] is not None
    again = post(server, {"samples": [{"response": "after"}]}, timeout=30)  # a fresh worker
    assert again.json()["results"][0]["rewards"]["backtracking"] == 5.0


@pytest.mark.slow
def test_without_a_timeout_a_stuck_reward_holds_neither_health_deadlines_nor_sigterm(serve_process):
    server = serve_process(["--rewards", "backtracking", "--shutdown-timeout", "2"])
    stuck, _ = in_thread(lambda: post(server, {"samples": [{"response": FOREVER}]}, timeout=120))
    wait_until(lambda: batches_started(server) >= 1)
    assert httpx.get(server.url + "/health", timeout=15).status_code == 200
    late = post(server, {"samples": [{"response": "x"}]}, {"X-Rewardhub-Deadline": "0.5"}, timeout=15)
    assert late.status_code == 504
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(60)  # the stuck call's worker process is stopped after --shutdown-timeout
    stuck.join(60)
    assert not stuck.is_alive()  # its client was let go (the connection closed)


# -- item 7: head-of-line blocking -------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("reward", "big_rows"),
    [
        ("per_sample", [{"response": f"big {i}"} for i in range(300)]),  # many small slices
        ("group_cost", [{"response": f"big {i}", "group": "one"} for i in range(300)]),  # one group of 300
    ],
)
def test_a_small_request_passes_a_big_one(serve_process, tmp_path, reward, big_rows):
    config = tmp_path / "cost.yaml"
    config.write_text(f"rewards:\n  - {{name: {reward}, args: {{seconds: 0.02}}}}\n")  # 6 s for the big request
    server = serve_process(["--config", str(config), "--max-batch", "16"])
    big, big_box = in_thread(lambda: post(server, {"samples": big_rows}, timeout=300))
    wait_until(lambda: batches_started(server) >= 1)
    small = post(server, {"samples": [{"response": "small"}]}, timeout=300)
    small_at = time.monotonic()
    assert small.status_code == 200 and small.json()["results"][0]["rewards"][reward] == 5.0
    big.join(300)
    assert big_box["out"].status_code == 200
    assert [r["rewards"][reward] for r in big_box["out"].json()["results"]] == [
        float(len(r["response"])) for r in big_rows
    ]
    assert small_at < big_box["at"]  # it did not wait for the whole big request


def test_max_request_samples_gives_413(serve_process):
    server = serve_process(["--rewards", "entropy", "--max-request-samples", "3"])
    assert post(server, {"samples": [{"response": "a"}] * 3}).status_code == 200
    refused = post(server, {"samples": [{"response": "a"}] * 4})
    assert refused.status_code == 413
    assert refused.json()["error"] == "samples: request has 4 samples; this server takes at most 3 per request"


# -- item 9: clients that stop or vanish mid-body ----------------------------------------------


def start_body(port: int, declared: int = 1000, sent: bytes = b'{"samples": [') -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = f"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    conn.sendall(head.encode() + sent)
    return conn


def read_all(conn: socket.socket) -> str:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := conn.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_a_client_that_stops_mid_body_gets_408_after_the_body_timeout(serve_process):
    server = serve_process(["--rewards", "entropy", "--body-timeout", "1"])
    with start_body(server.port) as conn:
        answer = read_all(conn)
    assert answer.startswith("HTTP/1.1 408"), answer
    assert "body: not received within 1s" in answer


@pytest.mark.slow
def test_a_client_that_stops_mid_body_does_not_hold_sigterm(serve_process):
    server = serve_process(["--rewards", "entropy"])  # default body timeout: a minute
    with start_body(server.port) as conn:
        time.sleep(0.5)  # the request has started and waits for its body
        server.proc.send_signal(signal.SIGTERM)
        answer = read_all(conn)
        assert server.proc.wait(30) in (0, -signal.SIGTERM)
    assert answer.startswith("HTTP/1.1 503"), answer


def test_a_client_that_disconnects_mid_body_is_counted_without_a_traceback(serve_process):
    server = serve_process(["--rewards", "entropy"])
    for _ in range(3):
        conn = start_body(server.port)
        time.sleep(0.2)
        conn.close()
    wait_until(lambda: server.metric("rewardhub_requests_total", endpoint="/v1/score", status="499") == 3)
    assert server.metric("rewardhub_requests_total", status="500") == 0
    assert post(server, {"samples": [{"response": "still fine"}]}).status_code == 200
    assert "Traceback" not in server.log.read_text()


# -- item 10: a content part whose text is not a string ----------------------------------------

BAD_PARTS = [
    (
        {"prompt": "p", "completion": [{"role": "assistant", "content": [{"type": "text", "text": None}]}]},
        "completion[0].content[0].text",
        "null",
    ),
    (
        {"prompt": [{"role": "user", "content": [{"type": "text", "text": 5}]}], "response": "r"},
        "prompt[0].content[0].text",
        "int",
    ),
    (
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": [{"text": ["a"]}]}]},
        "messages[1].content[0].text",
        "list",
    ),
    (
        {"response": "r", "history": [{"role": "user", "content": [{"text": None}]}]},
        "history[0].content[0].text",
        "null",
    ),
]


@pytest.mark.parametrize(("row", "field", "got"), BAD_PARTS)
def test_a_text_part_that_is_not_a_string_is_422_naming_it(serve_process, row, field, got):
    server = serve_process(["--rewards", "entropy"])
    response = post(server, {"samples": [{"response": "fine"}, row]})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error.startswith(f"samples[1].{field}: ") and f"must be a string, got {got}" in error


def fixed(row: dict, field: str) -> dict:
    """``row`` with the part at ``field`` ("a[0].content[1].text") set to a string."""
    row = json.loads(json.dumps(row))
    *steps, last = re.findall(r"\w+|\[\d+\]", field)
    node = row
    for step in steps:
        node = node[int(step[1:-1])] if step.startswith("[") else node[step]
    node[last] = "fine"
    return row


@pytest.mark.parametrize(("row", "field", "got"), BAD_PARTS)
def test_eval_says_which_line_and_field_and_skip_invalid_counts_it(tmp_path, row, field, got):
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps(fixed(row, field)) + "\n" + json.dumps(row) + "\n")
    result = CliRunner().invoke(cli, ["eval", str(data), "--rewards", "entropy", "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 1, result.output
    assert result.output == f"rewardhub: error: {data}:2: field '{field}' must be a string, got {got}\n"
    out = tmp_path / "s.jsonl"
    skipped = CliRunner().invoke(cli, ["eval", str(data), "--rewards", "entropy", "--skip-invalid", "-o", str(out)])
    assert skipped.exit_code == 0, skipped.output
    assert len(out.read_text().splitlines()) == 1
    assert f"rewardhub: skipped 1 invalid rows ({data}:2)" in skipped.output
    assert "Traceback" not in skipped.output


# -- item 11: --timeout must be a positive number ----------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_serve_refuses_a_timeout_that_is_not_a_positive_number(value, free_port):
    command = [sys.executable, "-m", "rewardhub", "serve", "--rewards", "entropy", "--port", str(free_port)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([*command, "--timeout", value], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2
    assert (
        done.stderr.strip() == f"rewardhub: error: --timeout must be a positive number of seconds, got {float(value)}"
    )

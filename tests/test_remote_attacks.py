"""The client, :class:`rewardhub.remote.RemoteScorer`, against servers that misbehave (issue 17,
item 12): a real HTTP server (in a thread) that answers one byte at a time cannot hold a call
past its ``timeout``; NaN, ``1e999``, ``true`` or a string sent as a value become that sample's
error, never a component value or a total; a token with non-ASCII characters works end to end
against a real ``rewardhub serve`` (UTF-8 on both sides), and one that cannot be sent is
refused at once."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rewardhub import Sample
from rewardhub.remote import REMOTE_KEY, RemoteScorer

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx")

REWARDS = {
    "rewardhub": "test",
    "missing": "skip",
    "rewards": [{"key": "a", "weight": 1.0}, {"key": "b", "weight": 2.0}],
}


@contextmanager
def http_server(answer: Callable[[str], tuple[bytes, float]]) -> Iterator[str]:
    """A real HTTP/1.1 server in a thread: ``answer(path) -> (body, seconds between bytes)``."""
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            self.reply()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.reply()

        def reply(self) -> None:
            body, drip = answer(self.path)
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            data = head.encode() + body
            try:
                if not drip:
                    self.wfile.write(data)
                    return
                for i in range(len(data)):  # one byte at a time: never idle long enough for a read timeout
                    if stop.is_set():
                        return
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
                    time.sleep(drip)
            except OSError:  # the client gave up
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def bounded(fn, limit: float = 30.0):
    box: dict = {}
    worker = threading.Thread(target=lambda: box.setdefault("out", fn()), daemon=True)
    worker.start()
    worker.join(limit)
    assert not worker.is_alive(), f"the call was still running after {limit}s"
    return box["out"]


def results(*rows: str) -> bytes:
    """A /v1/score answer written by hand, so it can hold what json.dumps would not write."""
    return ('{"results": [' + ", ".join(rows) + "]}").encode()


def test_a_server_that_drips_bytes_cannot_hold_a_call_past_its_timeout():
    def answer(path: str) -> tuple[bytes, float]:
        if path == "/v1/rewards":
            return json.dumps(REWARDS).encode(), 0.0
        return results('{"rewards": {"a": 1.0, "b": 1.0}, "reward": 3.0}') + b" " * 300, 0.2  # 75 s in all

    with http_server(answer) as url:
        remote = RemoteScorer(url, timeout=2, retries=3)
        batch = bounded(lambda: remote.score([Sample("x")]))  # within 30 s: the deadline, not the drip
        remote.close()
    assert batch.totals == [None] and batch.components == {"a": [None], "b": [None]}
    assert "no complete answer within the 2s deadline" in batch.errors[0]["a"]


def test_a_server_that_drips_its_reward_list_cannot_hold_a_call_either():
    with http_server(lambda path: (json.dumps(REWARDS).encode() + b" " * 200, 0.2)) as url:
        remote = RemoteScorer(url, timeout=1.5, retries=0)
        batch = bounded(lambda: remote.score([Sample("x"), Sample("y")]))
        remote.close()
    assert batch.totals == [None, None]
    assert all("no complete answer within the 1.5s deadline" in e[REMOTE_KEY] for e in batch.errors)


def test_values_that_are_not_finite_numbers_are_errors_never_values_or_totals():
    rows = [
        '{"rewards": {"a": NaN, "b": 1.0}, "reward": NaN}',
        '{"rewards": {"a": 1e999, "b": true}, "reward": 1e999}',
        '{"rewards": {"a": 0.5, "b": 0.25}, "reward": 1.0}',
        '{"rewards": {"a": "3", "b": 1}, "reward": true}',
        '{"rewards": {"a": -Infinity, "b": null}, "reward": 7.0, "errors": {"b": "the server\'s own error"}}',
    ]

    def answer(path: str) -> tuple[bytes, float]:
        return (json.dumps(REWARDS).encode() if path == "/v1/rewards" else results(*rows)), 0.0

    with http_server(answer) as url, RemoteScorer(url, timeout=10) as remote:
        batch = remote.score([Sample(f"s{i}") for i in range(len(rows))])
    a, b = batch.components["a"], batch.components["b"]
    assert a == [None, None, 0.5, None, None] and b == [1.0, None, 0.25, 1.0, None]
    assert batch.totals == [2.0, None, 1.0, 2.0, None]  # recomputed from the valid values ("skip")
    every = [*a, *b, *batch.totals]
    assert all(v is None or (type(v) is float and math.isfinite(v)) for v in every)
    errors = batch.errors
    assert errors[0]["a"] == f"rewardhub serve at {url} sent an invalid value: nan, not a finite number"
    assert errors[1]["a"].endswith("inf, not a finite number")
    assert errors[1]["b"].endswith("true, not a number")
    assert errors[3]["a"].endswith('"3", not a number') and "b" not in errors[3]
    assert errors[4] == {"a": f"rewardhub serve at {url} sent an invalid value: -inf, not a finite number",
                         "b": "the server's own error"}  # fmt: skip
    assert errors[2] == {}


TOKEN = "clé-秘密-🔑"


@pytest.fixture(scope="module")
def server(serve_process):
    return serve_process(["--rewards", "entropy", "--token", TOKEN])


def test_a_non_ascii_token_works_in_utf8_on_both_sides(server):
    with RemoteScorer(server.url, token=TOKEN, timeout=30) as remote:
        batch = remote.score([Sample("some words here")])
    assert batch.errors == [{}] and batch.components["entropy"][0] is not None
    utf8 = {"Authorization": b"Bearer " + TOKEN.encode("utf-8")}
    assert httpx.get(server.url + "/v1/rewards", headers=utf8, timeout=10).status_code == 200
    with RemoteScorer(server.url, token="clé-wrong", timeout=30, retries=0) as wrong:
        refused = wrong.score([Sample("x")])
    assert "HTTP 401" in refused.errors[0][REMOTE_KEY]


@pytest.mark.parametrize("token", ["line\nbreak", " padded", "\udcff-not-utf8"])
def test_a_token_that_cannot_be_sent_is_refused_at_once(token):
    with pytest.raises(ValueError, match="^token: "):
        RemoteScorer("http://127.0.0.1:9", token=token)


@pytest.mark.parametrize("token", ["line\nbreak", " padded"])
def test_serve_refuses_a_token_that_cannot_be_sent(token, free_port):
    command = [sys.executable, "-m", "rewardhub", "serve", "--rewards", "entropy", "--port", str(free_port)]
    done = subprocess.run([*command, "--token", token], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("rewardhub: error: --token / REWARDHUB_TOKEN: ")

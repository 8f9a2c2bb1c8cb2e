"""The client, :class:`rewardhub.remote.RemoteScorer`, against real servers: the same results
as an in-process Scorer, retries on connection errors, 503 (Retry-After) and 504, never on
other 4xx, and a bounded give-up where every sample is ``None`` with the error."""

from __future__ import annotations

import threading
import time

import pytest

from rewardhub import Sample, Scorer
from rewardhub.remote import REMOTE_KEY, RemoteScorer

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx")


SAMPLES = [
    Sample(response="Blue, like the sea and the sky.", prompt="Name a colour.", group="g", id=0),
    Sample(response="Red red red red red.", prompt="Name a colour.", group="g", id=1),
    Sample(response="this will fail", prompt="Say hi.", reference="hi", id=2, meta={"topic": "x"}),
    Sample(response="Hi!", prompt=[{"role": "user", "content": "Say hi."}], id=3),
]


def call_bounded(fn, limit: float = 60.0):
    """``fn()`` in a thread; fails the test if it has not returned within ``limit`` (a hang)."""
    box: dict = {}
    worker = threading.Thread(target=lambda: box.setdefault("out", fn()))
    worker.start()
    worker.join(limit)
    assert not worker.is_alive(), "the call hung"
    return box["out"]


def wait_until(condition, limit: float = 30.0) -> None:
    end = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def server(serve_process):
    return serve_process(
        ["--rewards", "token_entropy,repetition_penalty:0.5,diversity_bonus:0.25,failing", "--token", "tok"]
    )


def test_remote_scores_equal_the_in_process_scorer(server, serve_testing_plugin):
    local = Scorer(["token_entropy", "repetition_penalty:0.5", "diversity_bonus:0.25", "failing"]).score(SAMPLES)
    with RemoteScorer(server.url, token="tok") as remote:
        assert [c.key for c in remote.components] == list(local.components)
        assert remote.weights == local.weights
        got = remote.score(SAMPLES)
    for key in local.components:
        assert got.components[key] == pytest.approx(local.components[key]), key
    assert got.totals == pytest.approx(local.totals)
    assert got.errors == local.errors
    assert got.errors[2]["failing"].endswith("refused on purpose") and got.components["failing"][2] is None


def test_a_subset_and_ascore(server):
    import asyncio

    with RemoteScorer(server.url + "/v1/score", token="tok", rewards=["token_entropy"]) as remote:
        batch = asyncio.run(remote.ascore(SAMPLES[:2]))
    assert list(batch.components) == ["token_entropy"]
    assert batch.totals == batch.components["token_entropy"]
    with pytest.raises(ValueError, match="does not serve"):
        _ = RemoteScorer(server.url, token="tok", rewards=["nope"]).components


def test_4xx_is_never_retried_and_every_sample_gets_the_error(server):
    before = metric_401(server)
    remote = RemoteScorer(server.url, token="wrong", retries=5, backoff=0.01)
    batch = call_bounded(lambda: remote.score(SAMPLES))
    assert all(v is None for v in batch.totals)
    assert all("HTTP 401" in e[REMOTE_KEY] for e in batch.errors)
    assert metric_401(server) == before + 1  # one request, no retries


def metric_401(server) -> float:
    return server.metric("rewardhub_requests_total", "tok", status="401")


def test_gives_up_within_the_deadline_when_nothing_listens(free_port):
    remote = RemoteScorer(f"http://127.0.0.1:{free_port}", timeout=2, retries=50, backoff=0.05)
    batch = call_bounded(lambda: remote.score(SAMPLES), limit=30)
    assert batch.totals == [None] * len(SAMPLES)
    assert all("gave up after" in e[REMOTE_KEY] and "ConnectError" in e[REMOTE_KEY] for e in batch.errors)


@pytest.mark.slow
def test_retries_connection_errors_until_the_server_is_up(serve_process, free_port):
    port = free_port
    remote = RemoteScorer(f"http://127.0.0.1:{port}", timeout=90, retries=30, backoff=0.2, max_backoff=1.0)
    box: dict = {}
    worker = threading.Thread(target=lambda: box.setdefault("batch", remote.score(SAMPLES[:2])))
    worker.start()
    time.sleep(0.5)  # the client is already retrying against a closed port
    serve_process(["--rewards", "token_entropy"], port=port, ready=False)
    worker.join(90)
    assert not worker.is_alive()
    batch = box["batch"]
    assert batch.errors == [{}, {}] and all(v is not None for v in batch.components["token_entropy"])


@pytest.mark.slow
def test_503_retry_after_is_honoured_then_succeeds(serve_process, sleepy_config):
    server = serve_process(["--config", sleepy_config(1.5), "--max-queue", "1", "--max-batch", "1"])
    post = lambda text: httpx.post(server.url + "/v1/score", json={"samples": [{"response": text}]}, timeout=60)  # noqa: E731
    first = threading.Thread(target=post, args=("first",))
    first.start()
    wait_until(lambda: server.metric("rewardhub_batch_size_count") >= 1)  # "first" is being scored
    second = threading.Thread(target=post, args=("second",))
    second.start()
    wait_until(lambda: httpx.get(server.url + "/health", timeout=5).json()["queued"] >= 1)  # the queue is full
    remote = RemoteScorer(server.url, timeout=60, retries=10)
    remote.components  # noqa: B018 (asked before the flood clears, so only the score call meets the 503)
    batch = call_bounded(lambda: remote.score([Sample(response="third")]))
    first.join(30)
    second.join(30)
    assert batch.errors == [{}] and batch.components["sleepy"] == [5.0]
    assert server.metric("rewardhub_requests_total", endpoint="/v1/score", status="503") >= 1


@pytest.mark.slow
def test_504_is_retried_until_the_deadline_then_none_with_the_error(serve_process, sleepy_config):
    server = serve_process(["--config", sleepy_config(2.0)])
    remote = RemoteScorer(server.url, timeout=1.2, retries=3, backoff=0.05)
    remote.components  # noqa: B018
    batch = call_bounded(lambda: remote.score([Sample(response="too slow")]), limit=30)
    assert batch.totals == [None] and batch.components["sleepy"] == [None]
    error = batch.errors[0]["sleepy"]
    assert "gave up after" in error
    assert "HTTP 504" in error or "Timeout" in error  # on a loaded machine the client's own clock may win
    assert server.metric("rewardhub_requests_total", endpoint="/v1/score", status="504") >= 1

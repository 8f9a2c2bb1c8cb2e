"""``backend: vllm`` and ``backend: sglang`` against a real local HTTP server speaking those
shapes (``pooling_server.py``, a subprocess on a free port, backed by the tiny decoder RM):
the same scores as in-process, token ids rendered here, retries, deadlines, ``None`` with the
error when the server fails."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rewardhub_rm import RewardModel

from rewardhub import Sample, Scorer

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

SERVER = Path(__file__).resolve().parent / "pooling_server.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, model: str, flavor: str, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(SERVER), "--model", model, "--port", str(self.port), "--flavor", flavor],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.log = log
        end = time.monotonic() + 60
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pooling server exited: {log.read_text()}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise TimeoutError("pooling server not ready in 60 s")

    def control(self, **settings) -> None:
        httpx.post(self.url + "/control", json=settings, timeout=5).raise_for_status()

    def received(self) -> list[dict]:
        return httpx.get(self.url + "/control", timeout=5).json()["received"]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def servers(decoder_rm, tmp_path_factory):
    logs = tmp_path_factory.mktemp("pooling-logs")
    started = {flavor: Server(decoder_rm, flavor, logs / f"{flavor}.log") for flavor in ("vllm", "sglang")}
    yield started
    for server in started.values():
        server.stop()


@pytest.fixture(autouse=True)
def _healthy(servers):
    for server in servers.values():
        server.control(fail=0, hang=False, retry_after=None, status=500, received=[])


SAMPLES = [
    Sample("The rain falls on the roof.", prompt="Write a poem about the rain."),
    Sample("Blue light scatters more.", prompt=[{"role": "user", "content": "Why is the sky blue?"}]),
    Sample("", prompt="Say nothing."),
    Sample("the sea and the moon " * 12, prompt="Describe the sea."),
]


def values(scores) -> list[float]:
    return [s.value for s in scores]


@pytest.mark.parametrize(("flavor", "endpoint"), [("vllm", "classify"), ("vllm", "pooling"), ("sglang", "classify")])
def test_server_scores_equal_in_process_scores(servers, decoder_rm, flavor, endpoint):
    server = servers[flavor]
    local = RewardModel(model=decoder_rm, device="cpu")
    remote = RewardModel(
        model=decoder_rm, backend=flavor, base_url=server.url, endpoint=endpoint, max_tokens_per_batch=80
    )
    expected = local.score(SAMPLES)
    got = remote.score(SAMPLES)
    assert values(got) == pytest.approx(values(expected), abs=1e-4)
    assert [s.info["tokens"] for s in got] == [s.info["tokens"] for s in expected]
    received = server.received()
    assert len(received) > 1  # packed under the token budget into several requests
    key = "input_ids" if flavor == "sglang" else "input"
    sent = [ids for r in received for ids in r["body"][key]]
    encoded = local.load()[1].encode(SAMPLES)
    assert sorted(map(tuple, sent)) == sorted(tuple(e.input_ids) for e in encoded)  # the RM's own rendering
    if flavor == "vllm":
        assert all(r["body"]["use_activation"] is False for r in received)  # raw logits, not sigmoid
    assert remote.provenance["backend"] == flavor and remote.provenance["url"] == f"{server.url}/{endpoint}"


def test_transient_500s_are_retried(servers, decoder_rm):
    server = servers["vllm"]
    server.control(fail=2, status=500)
    reward = RewardModel(model=decoder_rm, backend="vllm", base_url=server.url, retries=3)
    scores = reward.score(SAMPLES[:2])
    assert all(s.value is not None for s in scores)
    assert len(server.received()) == 3


def test_503_retry_after_is_honoured(servers, decoder_rm):
    server = servers["sglang"]
    server.control(fail=1, status=503, retry_after=1)
    reward = RewardModel(model=decoder_rm, backend="sglang", base_url=server.url, retries=2)
    start = time.monotonic()
    assert all(s.value is not None for s in reward.score(SAMPLES[:1]))
    assert time.monotonic() - start >= 1.0


def test_a_server_that_keeps_failing_gives_none_with_the_error(servers, decoder_rm):
    server = servers["vllm"]
    server.control(fail=100, status=500)
    scorer = Scorer(
        [
            {
                "name": "reward_model",
                "args": {"model": decoder_rm, "backend": "vllm", "base_url": server.url, "retries": 1},
            }
        ]
    )
    batch = scorer.score(SAMPLES[:2])
    assert batch.components["reward_model"] == [None, None]  # never 0
    assert "gave up after 2 tries: HTTP 500: failing on purpose" in batch.errors[0]["reward_model"]


def test_a_4xx_is_final_at_once(servers, decoder_rm):
    server = servers["vllm"]
    server.control(fail=100, status=400)
    reward = RewardModel(model=decoder_rm, backend="vllm", base_url=server.url, retries=5)
    (result,) = reward.score(SAMPLES[:1])
    assert isinstance(result, Exception) and "HTTP 400" in str(result)
    assert len(server.received()) == 1


def test_a_hanging_server_cannot_hang_the_run(servers, decoder_rm):
    server = servers["sglang"]
    server.control(hang=True)
    reward = RewardModel(model=decoder_rm, backend="sglang", base_url=server.url, timeout=1.5)
    start = time.monotonic()
    results = reward.score(SAMPLES)
    assert time.monotonic() - start < 10
    assert all(isinstance(r, Exception) and "gave up" in str(r) for r in results)


def test_an_unreachable_server_gives_none_with_the_error(decoder_rm):
    reward = RewardModel(
        model=decoder_rm, backend="vllm", base_url=f"http://127.0.0.1:{free_port()}", retries=1, timeout=5
    )
    results = reward.score(SAMPLES[:1])
    assert isinstance(results[0], Exception) and "ConnectError" in str(results[0])


def test_a_pair_encoded_rm_needs_a_template_on_a_server(servers, minilm_rm):
    reward = RewardModel(model=minilm_rm, backend="vllm", base_url=servers["vllm"].url)
    with pytest.raises(ValueError, match="token_type_ids"):
        reward.score(SAMPLES[:1])

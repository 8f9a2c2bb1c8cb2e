"""``rewardhub serve --devices``: device names checked with one line, one copy of the rewards per
device (``device``/``replica`` passed to the rewards that take them), each batch to the
least-loaded copy, results equal to one copy's (:mod:`rewardhub.serve.replicas`).

A throwaway reward stands in for a model: it takes ``device`` and ``replica`` and says in each
score's info which copy scored it. The reward-model version, with two real model copies on the
CPU, is ``plugins/rewardhub-rm/tests/test_rm_serve_replicas.py``.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner

from rewardhub import Sample, Scorer
from rewardhub.cli import cli
from rewardhub.config import ComponentConfig
from rewardhub.serve.batcher import Batcher
from rewardhub.serve.replicas import Replicas, parse_devices, replica_rewards

ON_DEVICE = """
import threading
import rewardhub


class OnDevice(rewardhub.Reward):
    name = "on_device"
    version = "1"
    batch_size = 4096
    inputs = ("response",)

    def __init__(self, device="auto", replica=0, scale=1.0):
        self.device, self.replica, self.scale = device, replica, scale
        self.go = threading.Event()
        self.go.set()
        self.calls = []

    def score(self, samples):
        self.calls.append(len(samples))
        self.go.wait(30)
        info = {"device": self.device, "replica": self.replica}
        return [rewardhub.Score(self.scale * len(s.response), dict(info)) for s in samples]


@rewardhub.hookimpl
def register_rewards(register):
    register(OnDevice)
"""


@pytest.fixture
def on_device(fake_distribution):
    return fake_distribution("rewardhub-on-device", "rh_on_device", ON_DEVICE)


def test_device_lists_are_checked_with_one_line():
    assert parse_devices("cpu,cpu") == ["cpu", "cpu"]
    assert parse_devices("cuda:0, cuda:1,cuda", cuda_count=lambda: 2) == ["cuda:0", "cuda:1", "cuda"]
    for given, message in [
        ("gpu0", "'gpu0' is not a device (use cpu, mps, cuda or cuda:N, comma-separated)"),
        ("cpu,,cpu", "'an empty entry' is not a device"),
        ("cuda:x", "'cuda:x' is not a device"),
    ]:
        with pytest.raises(ValueError, match="^--devices: " + message.replace("(", r"\(").replace(")", r"\)")):
            parse_devices(given, cuda_count=lambda: 8)
    with pytest.raises(ValueError, match=r"^--devices: cuda:2 is not available \(this machine has 2 CUDA devices\)$"):
        parse_devices("cuda:0,cuda:2", cuda_count=lambda: 2)
    with pytest.raises(ValueError, match=r"cuda:0 is not available \(this machine has no CUDA device\)"):
        parse_devices("cuda:0", cuda_count=lambda: 0)


def test_each_copy_gets_its_device_and_number(on_device):
    rewards = [
        ComponentConfig("on_device", 2.0, {"device": "cuda:5", "scale": 3.0}, "model"),
        ComponentConfig("diversity_bonus"),
    ]
    copy = replica_rewards(rewards, "cpu", 1)
    assert copy[0] == ComponentConfig("on_device", 2.0, {"device": "cpu", "scale": 3.0, "replica": 1}, "model")
    assert copy[1] == rewards[1] and rewards[0].args == {"device": "cuda:5", "scale": 3.0}  # (not changed)
    with pytest.raises(ValueError, match=r"none of the served rewards \(diversity_bonus\) takes a device"):
        replica_rewards(rewards[1:], "cpu", 0)


def test_batches_go_to_the_least_loaded_copy_and_results_equal_one_copys(on_device):
    copies = [Scorer(replica_rewards([ComponentConfig("on_device")], "cpu", i)) for i in range(2)]
    replicas = Replicas(copies, ["cpu", "cpu"])
    held = copies[0].components[0].reward
    held.go.clear()
    seen = []
    replicas.observe = lambda index, device, size: seen.append((index, device, size))
    batcher = Batcher(replicas, max_batch=2, max_wait_ms=0, workers=2)
    samples = [Sample("a" * (i + 1)) for i in range(6)]

    async def main():
        batcher.start()
        first = asyncio.ensure_future(batcher.score(samples[:2]))  # copy 0, held
        while not held.calls:
            await asyncio.sleep(0.01)
        rest = [asyncio.ensure_future(batcher.score(samples[i : i + 2])) for i in (2, 4)]
        while replicas.describe()[1]["batches"] < 2:  # copy 1 takes both while copy 0 is busy
            await asyncio.sleep(0.01)
        held.go.set()
        out = await asyncio.gather(first, *rest)
        await batcher.drain()
        return out

    batches = asyncio.run(main())
    assert [index for index, _, _ in seen] == [0, 1, 1]
    assert [d["batches"] for d in replicas.describe()] == [1, 2]
    one = Scorer(["on_device"]).score(samples)
    assert [v for b in batches for v in b.components["on_device"]] == one.components["on_device"]
    assert [i["replica"] for b in batches for i in b.infos["on_device"]] == [0, 0, 1, 1, 1, 1]
    # idle copies take turns
    for _ in range(4):
        replicas.score([Sample("x")])
    assert [d["batches"] for d in replicas.describe()] == [4, 3]  # 2, 2; 3, 2; 3, 3; 4, 3
    replicas.close()


def test_warm_up_loads_every_copy_at_once(on_device):
    copies = [Scorer(replica_rewards([ComponentConfig("on_device")], "cpu", i)) for i in range(3)]
    batches = Replicas(copies, ["cpu"] * 3).warm_up([Sample("probe")])
    assert [b.infos["on_device"][0]["replica"] for b in batches] == [0, 1, 2]


@pytest.mark.parametrize(
    ("devices", "message"),
    [
        ("gpu", "--devices: 'gpu' is not a device"),
        ("cuda:64", "--devices: cuda:64 is not available"),
        ("cpu,cpu", "--devices: none of the served rewards (token_entropy) takes a device"),
    ],
)
def test_bad_devices_stop_serve_with_one_line(devices, message):
    result = CliRunner().invoke(cli, ["serve", "--rewards", "token_entropy", "--devices", devices])
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_real_server_spreads_batches_over_two_cpu_copies(serve_process, on_device, monkeypatch):
    import httpx

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(on_device), os.environ.get("PYTHONPATH", "")]))
    server = serve_process(["--rewards", "on_device", "--devices", "cpu,cpu", "--max-wait-ms", "0"])
    rows = [{"prompt": "p", "response": "r" * (i + 1)} for i in range(40)]

    def post(row):
        return httpx.post(server.url + "/v1/score", json={"samples": [row]}, timeout=30).json()["results"][0]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(post, rows))
    assert [r["rewards"]["on_device"] for r in results] == [float(i + 1) for i in range(40)]
    assert {r["reward_info"]["on_device"]["replica"] for r in results} == {0, 1}
    assert {r["reward_info"]["on_device"]["device"] for r in results} == {"cpu"}
    for i in (0, 1):
        assert server.metric("rewardhub_replica_batches_total", replica=str(i), device="cpu") > 0
    scored = sum(server.metric("rewardhub_replica_samples_total", replica=str(i)) for i in (0, 1))
    assert scored == 40  # (the warm-up is not counted)

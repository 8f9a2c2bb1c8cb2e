"""OpenRLHF's own HTTP client (``SingleTurnAgentExecutor._fetch_rewards_via_http``, openrlhf
0.11.2) gets ``reward_model``'s scores from ``rewardhub serve --config rm.yaml``: the same values
as the reward in this process, which equal a hand-written forward (``test_rm_scores.py``)."""

from __future__ import annotations

import asyncio
import importlib
import os
import socket
import subprocess
import sys
import time

import pytest
from rewardhub_rm import RewardModel

from rewardhub import Sample

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")

#: OpenRLHF with --apply_chat_template sends prompts already in the policy's template.
POLICY_PROMPT = "<|im_start|>user\nCount to four.<|im_end|>\n<|im_start|>assistant\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(decoder_rm, tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve-rm")
    config = folder / "rm.yaml"
    config.write_text(f"rewards:\n  - name: reward_model\n    args: {{model: {decoder_rm}, device: cpu}}\n")
    port = free_port()
    log = folder / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("REWARDHUB_TOKEN", None)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rewardhub", "serve", "--config", str(config), "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    end = time.monotonic() + 90
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"rewardhub serve exited: {log.read_text()}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise TimeoutError("rewardhub serve not ready")
    yield url
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def openrlhf_client(url: str):
    try:
        agent = importlib.import_module("openrlhf.utils.agent")
    except Exception as exc:  # installed --no-deps; its agent module needs aiohttp
        pytest.skip(f"openrlhf.utils.agent cannot be imported here: {type(exc).__name__}: {exc}")
    return agent.SingleTurnAgentExecutor(remote_rm_url=url + "/get_reward")


@pytest.mark.slow
def test_openrlhf_client_gets_the_in_process_scores(served, decoder_rm, reference):
    executor = openrlhf_client(served)
    prompts = ["Count to four.", "Describe the sea."]  # OpenRLHF without --apply_chat_template
    responses = ["one two three four", "The sea is calm tonight."]
    queries = [p + r for p, r in zip(prompts, responses)]
    (answer,) = asyncio.run(executor._fetch_rewards_via_http(queries, prompts, [None, None]))
    samples = [Sample(r, prompt=p) for p, r in zip(prompts, responses)]
    local = [s.value for s in RewardModel(model=decoder_rm, device="cpu").score(samples)]
    assert answer["rewards"] == pytest.approx(local, abs=1e-5)
    assert answer["scores"] == answer["rewards"]
    assert answer["extra_logs"]["reward_model"] == pytest.approx(local, abs=1e-5)
    assert answer["rewards"] == pytest.approx(reference(decoder_rm, samples), abs=1e-4)


@pytest.mark.slow
def test_policy_templated_prompts_reach_the_rm_as_they_are_sent(served, decoder_rm):
    """With --apply_chat_template OpenRLHF's prompt is the policy-templated text: /get_reward
    takes the response out of the query and passes that prompt on as the user turn, so the RM
    renders the policy's markup inside its own template (reported to the serve owner)."""
    executor = openrlhf_client(served)
    query = POLICY_PROMPT + "one two three four<|im_end|>"
    (answer,) = asyncio.run(executor._fetch_rewards_via_http([query], [POLICY_PROMPT], ["4"]))
    (local,) = RewardModel(model=decoder_rm, device="cpu").score([Sample("one two three four", prompt=POLICY_PROMPT)])
    assert answer["rewards"] == pytest.approx([local.value], abs=1e-5)

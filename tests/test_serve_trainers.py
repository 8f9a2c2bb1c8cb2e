"""The trainers against a real ``rewardhub serve``: OpenRLHF's own HTTP client code, and every
adapter pointed at the server by URL giving what it gives in-process."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import math
from pathlib import Path

import pytest

from rewardhub.adapters import openrlhf, swift, trl, verl
from rewardhub.adapters.scorer import clear_shared

pytest.importorskip("starlette")

REWARDS = "token_entropy,repetition_penalty:0.5,diversity_bonus:0.25"
PROMPT = "<|im_start|>user\nCount to four.<|im_end|>\n<|im_start|>assistant\n"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def server(serve_process):
    return serve_process(["--rewards", REWARDS])


@pytest.fixture(autouse=True)
def _fresh_adapter_caches(monkeypatch):
    monkeypatch.delenv("REWARDHUB_URL", raising=False)
    monkeypatch.delenv("REWARDHUB_CONFIG", raising=False)
    clear_shared()
    yield
    clear_shared()


@pytest.mark.slow
def test_openrlhf_own_http_client_gets_rewards_from_the_server(server, monkeypatch):
    """OpenRLHF's ``SingleTurnAgentExecutor._fetch_rewards_via_http``: its request, its retries."""
    try:
        agent = importlib.import_module("openrlhf.utils.agent")
    except Exception as exc:  # openrlhf is installed --no-deps; its agent module needs aiohttp and a few more
        pytest.skip(f"openrlhf.utils.agent cannot be imported here: {type(exc).__name__}: {exc}")
    executor = agent.SingleTurnAgentExecutor(remote_rm_url=server.url + "/get_reward")
    queries = [PROMPT + "one two three four<|im_end|>", PROMPT + "four four four four<|im_end|>"]
    results = asyncio.run(executor._fetch_rewards_via_http(queries, [PROMPT, PROMPT], ["4", "4"]))
    got = results[0]
    monkeypatch.setenv("REWARDHUB_CONFIG", REWARDS)
    local = openrlhf.reward_func(queries, [PROMPT, PROMPT], ["4", "4"])
    assert got["rewards"] == pytest.approx([float(v) for v in local["rewards"]])
    assert got["scores"] == got["rewards"]
    assert got["extra_logs"]["token_entropy"] == pytest.approx([float(v) for v in local["extra_logs"]["token_entropy"]])


def test_openrlhf_python_file_with_rewardhub_url(server, monkeypatch):
    monkeypatch.setenv("REWARDHUB_URL", server.url)
    remote = openrlhf.reward_func([PROMPT + "one two<|im_end|>"], [PROMPT], [None])
    monkeypatch.delenv("REWARDHUB_URL")
    monkeypatch.setenv("REWARDHUB_CONFIG", REWARDS)
    local = openrlhf.reward_func([PROMPT + "one two<|im_end|>"], [PROMPT], [None])
    assert [float(v) for v in remote["rewards"]] == pytest.approx([float(v) for v in local["rewards"]])


def test_trl_reward_funcs_with_a_url_equal_local_ones(server):
    prompts = ["Say a colour."] * 2 + ["Say a number."] * 2
    completions = ["blue sky blue", "red", "one two three", "three three three"]
    remote = trl.reward_funcs(url=server.url, num_generations=2)
    local = trl.reward_funcs(REWARDS, num_generations=2)
    assert remote.names == local.names and remote.weights == local.weights
    for r, lo in zip(remote, local):
        assert r(prompts, completions) == pytest.approx(lo(prompts, completions))
    picked = trl.reward_funcs(["token_entropy"], url=server.url)
    assert picked.names == ["token_entropy"]
    asynchronous = trl.reward_funcs(url=server.url, asynchronous=True, num_generations=2)

    async def columns():
        return await asyncio.gather(*(f(prompts, completions) for f in asynchronous))

    for got, lo in zip(asyncio.run(columns()), local):
        assert got == pytest.approx(lo(prompts, completions))


def test_trl_reward_funcs_take_a_remote_scorer_as_they_take_a_scorer(server):
    from rewardhub.remote import RemoteScorer

    prompts, completions = ["Say a colour."] * 2, ["blue sky blue", "red"]
    with RemoteScorer(server.url, rewards=["token_entropy"]) as remote:
        funcs = trl.reward_funcs(remote, num_generations=2)
        assert funcs.names == ["token_entropy"]
        assert funcs[0](prompts, completions) == pytest.approx(
            trl.reward_funcs(["token_entropy"])[0](prompts, completions)
        )


def test_verl_reward_kwargs_with_rewardhub_url(server):
    args = (["gsm8k"] * 2, ["the answer is 4", "4 4 4 4"], ["4", "4"], [{"index": 0}, {"index": 0}])
    remote = verl.compute_score_batch(*args, rewardhub_url=server.url)
    local = verl.compute_score_batch(*args, rewards=REWARDS)
    assert remote == [pytest.approx(row) for row in local]
    one = verl.compute_score("gsm8k", "the answer is 4", "4", {"question": "2+2?"}, rewardhub_url=server.url)
    assert set(one) == {"score", "token_entropy", "repetition_penalty", "diversity_bonus", "rewardhub_missing"}

    async def reward_loop():  # verl's reward loop awaits an async compute_score, many at once
        url = server.url
        texts = enumerate(args[1])
        calls = [verl.compute_score_async("gsm8k", s, "4", {"index": i}, rewardhub_url=url) for i, s in texts]
        return await asyncio.gather(*calls)

    solo = [verl.compute_score("gsm8k", s, "4", {"index": i}, rewards=REWARDS) for i, s in enumerate(args[1])]
    assert asyncio.run(reward_loop()) == [pytest.approx(row) for row in solo]


def test_swift_orms_score_on_the_server_with_rewardhub_url(server, monkeypatch):
    class ORM:
        def __init__(self, args=None, **kwargs):
            self.args = args

    monkeypatch.setenv("REWARDHUB_URL", server.url)
    orms: dict = {}
    added = swift.register(orms, ORM)
    assert added == {key: key for key in ("token_entropy", "repetition_penalty", "diversity_bonus")}
    functions = [orms[name]() for name in added]
    completions = ["blue sky blue", "red red"]
    kwargs = {"prompt_id": ["p", "p"], "messages": [[{"role": "user", "content": "colour?"}]] * 2}
    remote = [f(completions, **kwargs) for f in functions]
    local = trl.reward_funcs(REWARDS).scorer.score(swift.to_samples(completions, kwargs))
    assert remote == [pytest.approx(local.components[k]) for k in added.values()]


@pytest.mark.slow
def test_grpo_example_trains_against_a_server_it_starts(tmp_path):
    pytest.importorskip("trl")
    spec = importlib.util.spec_from_file_location("example_grpo_trl_remote", EXAMPLES / "grpo_trl_remote.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    rewards = "token_entropy,repetition_penalty,diversity_bonus:0.5"  # the tests' own plugin, not rewardhub-entropy
    trainer = example.main(["--max-steps", "2", "--output-dir", str(tmp_path), "--rewards", rewards])
    logs = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert trainer.state.global_step == 2 and len(logs) == 2
    for name in ("token_entropy", "repetition_penalty", "diversity_bonus"):
        assert all(math.isfinite(entry[f"rewards/{name}/mean"]) for entry in logs), name

"""``rewardhub serve --devices cpu,cpu`` with ``reward_model``: two copies of the model (on the
CPU here; ``cuda:0,cuda:1`` on a GPU machine), both get work, and the results equal one copy's
(and the hand-written forward's)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from rewardhub_rm import RewardModel

from rewardhub import Sample

httpx = pytest.importorskip("httpx")


def test_copies_with_different_numbers_load_their_own_model(decoder_rm):
    first, same = RewardModel(model=decoder_rm, device="cpu"), RewardModel(model=decoder_rm, device="cpu")
    second = RewardModel(model=decoder_rm, device="cpu", replica=1)
    assert first.load()[0] is same.load()[0]  # shared, as before
    assert second.load()[0] is not first.load()[0]
    samples = [Sample("one two three four", prompt="Count to four.")]
    assert second.score(samples)[0].value == pytest.approx(first.score(samples)[0].value, abs=1e-6)
    with pytest.raises(ValueError, match="replica must be a non-negative integer, got -1"):
        RewardModel(model=decoder_rm, replica=-1)


def test_the_cost_is_the_tokens_read_and_the_budget_the_token_budget(decoder_rm):
    rm = RewardModel(model=decoder_rm, device="cpu", max_tokens_per_batch=512, max_length=12)
    samples = [Sample("one two", prompt="Count."), Sample("The sea is calm tonight. " * 20, prompt="Sea?")]
    scores = rm.score(samples)
    assert rm.cost_budget == 512
    assert rm.cost(samples) == [s.info["tokens"] for s in scores] == rm.token_counts(samples)
    assert rm.cost(samples)[1] == 12  # after truncation: what the forward pass reads


@pytest.mark.slow
def test_two_cpu_copies_both_score_and_agree_with_one(serve_rm, decoder_rm, reference):
    server = serve_rm(
        f"  - name: reward_model\n    args: {{model: {decoder_rm}, device: auto}}\n", ("--devices", "cpu,cpu")
    )
    rows = [{"prompt": f"Count to {i}.", "response": " ".join(["one two three"] * (1 + i % 4))} for i in range(24)]

    def post(row):
        response = httpx.post(
            server.url + "/get_reward",
            json={"query": [row["prompt"] + row["response"]], "prompts": [row["prompt"]]},
            timeout=60,
        )
        return response.json()["rewards"][0]

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(post, rows))
    samples = [Sample(r["response"], prompt=r["prompt"]) for r in rows]
    one = [s.value for s in RewardModel(model=decoder_rm, device="cpu").score(samples)]
    assert got == pytest.approx(one, abs=1e-5)
    assert got == pytest.approx(reference(decoder_rm, samples), abs=1e-4)
    batches = [server.metric("rewardhub_replica_batches_total", replica=str(i), device="cpu") for i in (0, 1)]
    assert all(n > 0 for n in batches), batches
    assert sum(server.metric("rewardhub_replica_samples_total", replica=str(i)) for i in (0, 1)) == 24
    described = httpx.get(server.url + "/v1/rewards", timeout=10).json()["rewards"][0]
    assert described["args"]["device"] == "cpu" and described["resolved"]["device"] == "cpu"

"""``rewardhub serve --config rm.yaml`` as OpenRLHF's remote reward model: OpenRLHF's own HTTP
client (``SingleTurnAgentExecutor._fetch_rewards_via_http``, openrlhf 0.11.2) gets the scores
``reward_model`` gives in this process, which equal a hand-written forward
(``test_rm_scores.py``), for plain prompts and for ``--apply_chat_template`` prompts rendered in
the policy's chat template (read back into messages, rendered in the RM's own); and the batcher
closes batches by the RM's token budget.
"""

from __future__ import annotations

import asyncio
import importlib
import math
from concurrent.futures import ThreadPoolExecutor

import pytest
from rewardhub_rm import RewardModel

from rewardhub import Sample

httpx = pytest.importorskip("httpx")

#: Policy chat templates, as OpenRLHF's --apply_chat_template renders prompts with them (the
#: tiny RM's own is ChatML: ``conftest.CHAT_TEMPLATE``).
CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
LLAMA3 = (
    "{{ '<|begin_of_text|>' }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
GEMMA = (
    "{{ '<bos>' }}{% for message in messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)
MISTRAL = (
    "{{ '<s>' }}{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% else %}{{ message['content'] + '</s>' }}{% endif %}{% endfor %}"
)
POLICIES = {  # template, end of the policy's turn, takes a system turn
    "chatml": (CHATML, "<|im_end|>", True),
    "llama3": (LLAMA3, "<|eot_id|>", True),
    "gemma": (GEMMA, "<end_of_turn>", False),
    "mistral": (MISTRAL, "</s>", False),
}
CONVERSATIONS = [
    ([{"role": "user", "content": "Count to four."}], "one two three four"),
    (
        [
            {"role": "user", "content": "Describe the sea."},
            {"role": "assistant", "content": "It is calm."},
            {"role": "user", "content": "And the rain?"},
        ],
        "The rain falls on the roof.",
    ),
]
WITH_SYSTEM = (
    [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "A poem?"}],
    "Rivers run.",
)


@pytest.fixture(scope="module")
def served(serve_rm, decoder_rm):
    return serve_rm(f"  - name: reward_model\n    args: {{model: {decoder_rm}, device: cpu}}\n").url


def openrlhf_client(url: str):
    try:
        agent = importlib.import_module("openrlhf.utils.agent")
    except Exception as exc:  # installed --no-deps; its agent module needs aiohttp
        pytest.skip(f"openrlhf.utils.agent cannot be imported here: {type(exc).__name__}: {exc}")
    return agent.SingleTurnAgentExecutor(remote_rm_url=url + "/get_reward")


def in_process(decoder_rm: str, samples: list[Sample]) -> list[float]:
    return [s.value for s in RewardModel(model=decoder_rm, device="cpu").score(samples)]


@pytest.mark.slow
def test_openrlhf_client_gets_the_in_process_scores(served, decoder_rm, reference):
    executor = openrlhf_client(served)
    prompts = ["Count to four.", "Describe the sea."]  # OpenRLHF without --apply_chat_template
    responses = ["one two three four", "The sea is calm tonight."]
    queries = [p + r for p, r in zip(prompts, responses)]
    (answer,) = asyncio.run(executor._fetch_rewards_via_http(queries, prompts, [None, None]))
    samples = [Sample(r, prompt=p) for p, r in zip(prompts, responses)]
    local = in_process(decoder_rm, samples)
    assert answer["rewards"] == pytest.approx(local, abs=1e-5)
    assert answer["scores"] == answer["rewards"]
    assert answer["extra_logs"]["reward_model"] == pytest.approx(local, abs=1e-5)
    assert answer["rewards"] == pytest.approx(reference(decoder_rm, samples), abs=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("policy", list(POLICIES))
def test_policy_templated_prompts_are_scored_in_the_rms_own_template(served, decoder_rm, reference, policy):
    """--apply_chat_template: the prompt is in the policy's template. The RM scores the
    conversation as it would the dataset's messages in process, never the policy's markup."""
    from transformers import AutoTokenizer

    template, end, system = POLICIES[policy]
    policy_tokenizer = AutoTokenizer.from_pretrained(decoder_rm)
    policy_tokenizer.chat_template = template
    cases = CONVERSATIONS + ([WITH_SYSTEM] if system else [])
    prompts = [policy_tokenizer.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m, _ in cases]
    queries = [p + r + end for p, (_, r) in zip(prompts, cases)]
    (answer,) = asyncio.run(openrlhf_client(served)._fetch_rewards_via_http(queries, prompts, ["x"] * len(cases)))
    samples = [Sample(r, prompt=m) for m, r in cases]
    local = in_process(decoder_rm, samples)
    assert answer["rewards"] == pytest.approx(local, abs=1e-5)
    assert answer["rewards"] == pytest.approx(reference(decoder_rm, samples), abs=1e-4)
    assert answer["extra_logs"]["rewardhub_missing"] == [0.0] * len(cases)
    # what the prompt's text in the RM's template would score (the policy's markup as a user turn)
    as_text = in_process(decoder_rm, [Sample(r, prompt=p) for p, (_, r) in zip(prompts, cases)])
    assert all(not math.isclose(a, b, abs_tol=1e-3) for a, b in zip(answer["rewards"], as_text))
    # serve_rm's request shape, 'query' alone: each query read as a whole conversation
    alone = httpx.post(served + "/get_reward", json={"query": queries}, timeout=60)
    assert alone.status_code == 200, alone.text
    assert alone.json()["rewards"] == pytest.approx(local, abs=1e-5)


@pytest.mark.slow
def test_batches_close_at_the_rms_token_budget(serve_rm, decoder_rm):
    rows = [
        {"prompt": f"Write about the sea, part {i}.", "response": "The sea is calm. " * (1 + i % 3)} for i in range(12)
    ]
    samples = [Sample(r["response"], prompt=r["prompt"]) for r in rows]
    lengths = RewardModel(model=decoder_rm, device="cpu").token_counts(samples)
    budget = sum(sorted(lengths)[:4])  # a batch holds at most four of them, the shortest ones
    server = serve_rm(
        f"  - name: reward_model\n    args: {{model: {decoder_rm}, device: cpu, max_tokens_per_batch: {budget}}}\n",
        ("--max-wait-ms", "200"),
    )

    def post(row):
        return httpx.post(server.url + "/v1/score", json={"samples": [row]}, timeout=60).json()["results"][0]

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(post, rows))
    got = [r["rewards"]["reward_model"] for r in results]
    assert got == pytest.approx(in_process(decoder_rm, samples), abs=1e-5)
    batches = server.metric("rewardhub_batch_size_count")
    assert server.metric("rewardhub_batch_size_bucket", le="4.0") == batches  # none over four samples
    assert batches >= math.ceil(sum(lengths) / budget)  # and none over the budget

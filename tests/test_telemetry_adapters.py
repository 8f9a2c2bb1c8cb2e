"""Every trainer adapter records its calls into a run directory through the one telemetry hook,
driven by each trainer's own code where it is installed (verl's ``BatchRewardManager`` and GDPO
advantage, OpenRLHF's executor, ms-swift's reward loop and advantage), and each trainer gets what
it expects for a multi-reward run (verl's ``gdpo_reward_keys``, ms-swift's per-reward lists)."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import numpy as np
import pytest

from rewardhub import Sample, Scorer
from rewardhub.adapters import openrlhf, swift, verl
from rewardhub.adapters.scorer import clear_shared
from rewardhub.telemetry import trainer_hook

REWARDS = ["token_entropy", "repetition_penalty:0.5"]
KEYS = ["token_entropy", "repetition_penalty"]


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    for name in ("REWARDHUB_RUN_DIR", "REWARDHUB_RECORD_EVERY", "REWARDHUB_CONFIG", "REWARDHUB_URL", "RANK"):
        monkeypatch.delenv(name, raising=False)
    clear_shared()
    trainer_hook.forget_shared()
    yield
    trainer_hook.forget_shared()
    clear_shared()


def steps(run_dir) -> list[dict]:
    trainer_hook.forget_shared()  # closes the hooks: the last step recorded, every file written
    path = run_dir / "steps.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def check_rewards(record: dict, n: int) -> None:
    assert record["n"] == n
    assert set(record["rewards"]) == set(KEYS)
    for stats in record["rewards"].values():
        assert stats["n"] + stats["missing"] == n
        assert stats["min"] <= stats["mean"] <= stats["max"]
        assert sum(stats["hist"]["counts"]) == stats["n"]


# -- verl ----------------------------------------------------------------------------------------

# equal lengths (verl whitens over tokens: equal lengths make it a per-sample whitening)
TEXTS = ["alpha beta gamma", "alpha alpha alpha", "delta delta omega", "one two three four"]
INDEX = [0, 0, 1, 1]


def verl_batch(torch):
    from verl import DataProto

    width = max(map(len, TEXTS))
    texts = [t.ljust(width, ".") for t in TEXTS]
    responses = torch.tensor([[ord(c) for c in t] for t in texts])
    prompts = torch.ones(len(texts), 2, dtype=torch.long)
    mask = torch.ones(len(texts), 2 + width, dtype=torch.long)
    data = DataProto.from_dict(
        tensors={"prompts": prompts, "responses": responses, "attention_mask": mask},
        non_tensors={
            "data_source": np.array(["toy"] * len(texts), dtype=object),
            "reward_model": np.array([{"ground_truth": None} for _ in texts], dtype=object),
            "extra_info": np.array([{"index": i, "question": f"q{i}"} for i in INDEX], dtype=object),
            "uid": np.array([f"uid-{i}" for i in INDEX], dtype=object),
        },
    )
    return data, texts


class CharTokenizer:  # one id per character, enough for the managers' decode
    def decode(self, ids, skip_special_tokens=True):
        return "".join(chr(int(i)) for i in ids if int(i) > 0)


@pytest.mark.slow
def test_verl_batch_manager_records_and_its_gdpo_gets_rewardhubs_advantages(tmp_path):
    pytest.importorskip("verl")
    torch = pytest.importorskip("torch")
    from verl.trainer.ppo.core_algos import compute_gdpo_outcome_advantage
    from verl.workers.reward_manager.batch import BatchRewardManager

    run_dir = tmp_path / "run"
    data, texts = verl_batch(torch)
    manager = BatchRewardManager(
        CharTokenizer(), 0, verl.compute_score_batch, rewards=REWARDS, run_dir=str(run_dir)
    )
    out = manager(data, return_dict=True)
    [record] = steps(run_dir)
    check_rewards(record, len(texts))
    assert record["source"] == "verl" and record["groups"] == 2

    # verl's trainer puts reward_extra_info into non_tensor_batch; its GDPO reads the keys named
    # by algorithm.gdpo_reward_keys, which gdpo_overrides gives
    overrides = dict(o.split("=", 1) for o in verl.gdpo_overrides(REWARDS))
    assert overrides["algorithm.adv_estimator"] == "gdpo"
    keys = overrides["algorithm.gdpo_reward_keys"].strip("[]").split(",")
    weights = [float(w) for w in overrides["algorithm.gdpo_reward_weights"].strip("[]").split(",")]
    assert keys == KEYS and weights == [1.0, 0.5]
    data.non_tensor_batch.update({k: np.array(v) for k, v in out["reward_extra_info"].items()})
    width = data.batch["responses"].shape[1]
    advantages, _ = compute_gdpo_outcome_advantage(
        token_level_rewards=out["reward_tensor"],
        response_mask=torch.ones(len(texts), width),
        index=data.non_tensor_batch["uid"],
        config={"gdpo_reward_keys": keys, "gdpo_reward_weights": weights},
        non_tensor_batch=data.non_tensor_batch,
        batch=data.batch,
    )
    ours = Scorer(REWARDS, aggregation="gdpo").score(
        [Sample(response=t, group=g) for t, g in zip(texts, INDEX, strict=True)]
    )
    assert any(abs(a) > 0.1 for a in ours.advantages)  # a real signal, not all zeros
    # verl whitens over response tokens (Bessel over N*L tokens, not N samples): with equal lengths
    # L its advantages are rewardhub's times sqrt((NL-1)/(L(N-1))), the same for every sample
    n, length = len(texts), width
    ratios = [a / b for a, b in zip(advantages[:, 0].tolist(), ours.advantages, strict=True)]
    assert ratios == pytest.approx([((n * length - 1) / (length * (n - 1))) ** 0.5] * n, rel=1e-3)


def test_verl_per_sample_calls_record_a_step_per_record_every(tmp_path):
    run_dir = tmp_path / "run"
    kwargs = {"rewards": REWARDS, "run_dir": str(run_dir), "record_every": 4}
    for i, text in enumerate(TEXTS * 2 + TEXTS[:1]):  # 9 calls: 4 + 4 + the last 1 at close
        row = verl.compute_score("toy", text, None, {"index": i % 2, "question": f"q{i % 2}"}, **kwargs)
        assert set(row) == {"score", *KEYS, "rewardhub_missing"}
    records = steps(run_dir)
    assert [r["n"] for r in records] == [4, 4, 1]
    assert [r["step"] for r in records] == [1, 2, 3]
    check_rewards(records[0], 4)


# -- OpenRLHF ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_openrlhf_executor_calls_record_with_the_environment(tmp_path, monkeypatch):
    pytest.importorskip("openrlhf")
    agent = pytest.importorskip("openrlhf.utils.agent")
    pytest.importorskip("torch")
    run_dir = tmp_path / "run"
    monkeypatch.setenv("REWARDHUB_CONFIG", ",".join(REWARDS))
    monkeypatch.setenv("REWARDHUB_RUN_DIR", str(run_dir))
    monkeypatch.setenv("REWARDHUB_RECORD_EVERY", "3")
    executor = agent.SingleTurnAgentExecutor(remote_rm_url=openrlhf.__file__)  # loads the file as OpenRLHF does
    prompt = "<|im_start|>user\nCount.<|im_end|>\n<|im_start|>assistant\n"
    for text in TEXTS + TEXTS[:2]:  # one query per call, as the executor sends them
        asyncio.run(executor._fetch_rewards_via_func([prompt + text + "<|im_end|>"], [prompt], [None]))
    records = steps(run_dir)
    assert [r["n"] for r in records] == [3, 3]
    assert records[0]["source"] == "openrlhf"
    check_rewards(records[1], 3)


def test_openrlhf_default_is_a_step_per_record_every_queries(tmp_path):
    run_dir = tmp_path / "run"
    prompt = "Q: "
    for text in TEXTS:
        openrlhf.reward_func([prompt + text], [prompt], None, rewardhub_config=REWARDS, run_dir=str(run_dir))
    [record] = steps(run_dir)  # fewer than RECORD_EVERY: one last step at close
    assert record["n"] == len(TEXTS) < openrlhf.RECORD_EVERY


# -- ms-swift ------------------------------------------------------------------------------------


class SwiftSample:  # the two members ms-swift's compute_rewards_per_func reads
    def __init__(self, prompt, completion, prompt_id):
        self.messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion}]
        self.prompt_id = prompt_id

    def to_reward_row(self):
        return {"messages": self.messages, "prompt_id": self.prompt_id}


@pytest.mark.slow
def test_swift_reward_loop_records_its_step_and_its_gdpo_agrees(tmp_path, monkeypatch):
    pytest.importorskip("swift.rewards")
    torch = pytest.importorskip("torch")
    from swift.rl_core.advantage import compute_advantages
    from swift.rl_core.grpo_algorithm import compute_rewards_per_func
    from swift.rlhf_trainers.utils import resolve_reward_funcs

    run_dir = tmp_path / "run"
    config = tmp_path / "rewards.yaml"
    config.write_text("rewards: [token_entropy, {name: repetition_penalty, weight: 0.5}]\naggregation: gdpo\n")
    monkeypatch.setenv("REWARDHUB_CONFIG", str(config))
    monkeypatch.setenv("REWARDHUB_RUN_DIR", str(run_dir))
    swift.register()  # what loading the file with --external_plugins does (tests/test_adapters_swift.py)
    args = swift.grpo_args()
    assert args == ["--reward_funcs", *KEYS, "--reward_weights", "1.0", "0.5", "--scale_rewards", "gdpo"]
    funcs, _ = resolve_reward_funcs(args[1:3])
    samples = [SwiftSample(f"q{g}", t, g) for t, g in zip(TEXTS, INDEX, strict=True)]
    per_func = compute_rewards_per_func(
        samples, funcs, None, device=torch.device("cpu"), trainer_state=SimpleNamespace(global_step=6)
    )
    [record] = steps(run_dir)
    check_rewards(record, len(TEXTS))
    assert record["step"] == 7 and record["source"] == "ms-swift"
    assert record["advantage"]["source"] == "rewardhub gdpo"  # the config's aggregation

    advantages, _ = compute_advantages(
        per_func, torch.tensor([1.0, 0.5]), num_generations=2, scale_rewards="gdpo"
    )
    ours = Scorer(REWARDS, aggregation="gdpo").score(
        [Sample(response=t, group=g) for t, g in zip(TEXTS, INDEX, strict=True)]
    )
    assert advantages.tolist() == pytest.approx(ours.advantages, abs=1e-4)


def test_swift_grpo_args_for_names_and_a_clashing_orm():
    assert swift.grpo_args(",".join(REWARDS), orms={"token_entropy": object}) == [
        "--reward_funcs", "rewardhub_token_entropy", "repetition_penalty", "--reward_weights", "1.0", "0.5",
    ]  # fmt: skip


# -- the hook itself -----------------------------------------------------------------------------


def test_record_every_splits_a_call_that_crosses_the_line(tmp_path):
    hook = trainer_hook.StepTelemetry(tmp_path / "run", "test", record_every=3, background=False)
    batch = Scorer(REWARDS, aggregation="gdpo").score(
        [Sample(response=t, group=g) for t, g in zip(TEXTS, INDEX, strict=True)]
    )
    made = hook.add(batch) + hook.add(batch)  # 8 samples: 3 + 3 now, 2 at close
    assert [r["n"] for r in made] == [3, 3]
    hook.close()
    records = [json.loads(line) for line in (tmp_path / "run" / "steps.jsonl").read_text().splitlines()]
    assert [r["n"] for r in records] == [3, 3, 2]
    assert records[0]["advantage"]["source"] == "rewardhub gdpo"


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_a_bad_record_every_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("REWARDHUB_RECORD_EVERY", value)
    with pytest.raises(ValueError, match="REWARDHUB_RECORD_EVERY.*positive integer"):
        trainer_hook.record_every_from(None)


def test_no_run_dir_no_recording():
    assert trainer_hook.telemetry_for(None, "verl") is None

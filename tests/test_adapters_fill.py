"""What a missing reward becomes for verl and OpenRLHF (issue 17, item 13): ``missing_fill`` is a
number, ``group_mean`` or ``raise``, driven through verl's own loader and reward managers
(``get_custom_reward_fn``, ``BatchRewardManager``, ``NaiveRewardManager``) and OpenRLHF's own
executor, with the policy in force printed once. See ``rewardhub/adapters/fill.py``."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from rewardhub.adapters import fill
from rewardhub.adapters import openrlhf as openrlhf_adapter
from rewardhub.adapters.fill import MissingRewardError, fill_policy

#: A reward that has no value for a response containing "missing" (None, as a reward may say).
MAYBE_PLUGIN = """
import rewardhub


class Maybe(rewardhub.Reward):
    name = "maybe"
    version = "1"
    inputs = ("response",)

    def score(self, samples):
        return [None if "missing" in s.response else float(len(s.response)) for s in samples]


@rewardhub.hookimpl
def register_rewards(register):
    register(Maybe)
"""

# (index of the prompt, response): group 0 has values 2 and 4 around a missing one; group 1 has none
ITEMS = [(0, "aa"), (0, "missing"), (0, "aaaa"), (1, "missing too")]


@pytest.fixture
def maybe(fake_distribution, tmp_path):
    fake_distribution("rewardhub-maybe", "rh_maybe", MAYBE_PLUGIN)
    config = tmp_path / "rewards.yaml"
    config.write_text("rewards:\n  - {name: maybe, weight: 2.0}\n")
    fill._announced.clear()  # each test sees the first call of the process
    return str(config)


def verl_fn(config: str, name: str, missing_fill):
    """The reward function as verl loads it: get_custom_reward_fn on a reward config."""
    pytest.importorskip("verl")
    omegaconf = pytest.importorskip("omegaconf")
    from verl.trainer.ppo.reward import get_custom_reward_fn

    kwargs = {"rewardhub_config": config}
    if missing_fill is not None:
        kwargs["missing_fill"] = missing_fill
    section = {
        "custom_reward_function": {"path": "pkg://rewardhub.adapters.verl", "name": name, "reward_kwargs": kwargs}
    }
    return get_custom_reward_fn(omegaconf.OmegaConf.create({"reward": section}))


def verl_data():
    torch = pytest.importorskip("torch")
    from verl import DataProto

    texts = [r for _, r in ITEMS]
    width = max(map(len, texts))
    responses = torch.tensor([[ord(c) for c in t] + [0] * (width - len(t)) for t in texts])
    prompts = torch.ones(len(texts), 2, dtype=torch.long)
    mask = torch.cat([torch.ones(len(texts), 2, dtype=torch.long), (responses > 0).long()], dim=1)
    return DataProto.from_dict(
        tensors={"prompts": prompts, "responses": responses, "attention_mask": mask},
        non_tensors={
            "data_source": np.array(["src"] * len(ITEMS), dtype=object),
            "reward_model": np.array([{"ground_truth": None} for _ in ITEMS], dtype=object),
            "extra_info": np.array([{"index": i, "question": f"q{i}"} for i, _ in ITEMS], dtype=object),
        },
    )


class Chars:  # decodes one id per character, enough for the reward managers
    def decode(self, ids, skip_special_tokens=True):
        return "".join(chr(int(i)) for i in ids if int(i) > 1)


@pytest.mark.slow
def test_verl_batch_manager_fills_with_the_group_mean_and_says_so_once(maybe, capfd):
    from verl.workers.reward_manager.batch import BatchRewardManager

    manager = BatchRewardManager(Chars(), 0, verl_fn(maybe, "compute_score_batch", "group_mean"))
    first = manager(verl_data(), return_dict=True)
    manager(verl_data(), return_dict=True)
    info = first["reward_extra_info"]
    assert info["maybe"] == [2.0, 3.0, 4.0, 0.0]  # the mean of 2 and 4; a group with no value: 0.0
    assert info["score"] == [4.0, 6.0, 8.0, 0.0]  # a missing total: its group's mean total (weight 2)
    assert info["rewardhub_missing"] == [0.0, 1.0, 0.0, 1.0]
    assert first["reward_tensor"].sum(dim=1).tolist() == pytest.approx(info["score"])
    said = [line for line in capfd.readouterr().err.splitlines() if "missing_fill" in line]
    assert said == [
        "rewardhub (verl compute_score_batch): a missing reward value becomes its group's mean (0.0 where the "
        "group has no value) (missing_fill=group_mean); filled components are counted in rewardhub_missing"
    ]


@pytest.mark.slow
def test_verl_batch_manager_fails_the_step_with_raise(maybe):
    from verl.workers.reward_manager.batch import BatchRewardManager

    manager = BatchRewardManager(Chars(), 0, verl_fn(maybe, "compute_score_batch", "raise"))
    with pytest.raises(MissingRewardError, match=r"2 of 4 samples have no reward value \(missing_fill=raise\): "
                       r"sample 1: no value for score, maybe; sample 3: "):  # fmt: skip
        manager(verl_data(), return_dict=True)


@pytest.mark.slow
@pytest.mark.parametrize(("missing_fill", "expected"), [(None, 0.0), (-1, -1.0), ("0.25", 0.25)])
def test_verl_naive_manager_fills_with_a_number(maybe, capfd, missing_fill, expected):
    from verl.workers.reward_manager.naive import NaiveRewardManager

    manager = NaiveRewardManager(Chars(), 0, verl_fn(maybe, "compute_score", missing_fill))
    info = manager(verl_data(), return_dict=True)["reward_extra_info"]
    assert info["maybe"] == [2.0, expected, 4.0, expected]
    assert info["score"] == [4.0, expected, 8.0, expected]
    assert f"(missing_fill={expected:g})" in capfd.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize(("policy", "expected"), [("-1", [-1.0, 4.0]), ("group_mean", [0.0, 4.0])])
def test_openrlhf_executor_fills_from_the_environment(maybe, monkeypatch, capfd, policy, expected):
    agent = pytest.importorskip("openrlhf.utils.agent")
    monkeypatch.setenv("REWARDHUB_CONFIG", maybe)
    monkeypatch.setenv("REWARDHUB_MISSING_FILL", policy)
    monkeypatch.delenv("REWARDHUB_URL", raising=False)
    executor = agent.SingleTurnAgentExecutor(remote_rm_url=openrlhf_adapter.__file__)
    prompt = "Q: say it\nA: "
    got = asyncio.run(executor._fetch_rewards_via_func([prompt + "missing", prompt + "aa"], [prompt] * 2, [None] * 2))
    assert [float(r["rewards"][0]) for r in got] == expected
    assert [float(r["extra_logs"]["rewardhub_missing"][0]) for r in got] == [1.0, 0.0]
    assert f"rewardhub (OpenRLHF): a missing reward value becomes {fill.describe(fill_policy(policy))}" in (
        capfd.readouterr().err
    )


@pytest.mark.slow
def test_openrlhf_executor_raise_fails_the_call(maybe, monkeypatch):
    agent = pytest.importorskip("openrlhf.utils.agent")
    monkeypatch.setenv("REWARDHUB_CONFIG", maybe)
    monkeypatch.setenv("REWARDHUB_MISSING_FILL", "raise")
    monkeypatch.delenv("REWARDHUB_URL", raising=False)
    executor = agent.SingleTurnAgentExecutor(remote_rm_url=openrlhf_adapter.__file__)
    with pytest.raises(MissingRewardError, match="sample 0: its prompt was not found in the query"):
        asyncio.run(executor._fetch_rewards_via_func(["unrelated"], ["Q: say it\nA: "], [None]))


def test_openrlhf_group_mean_over_a_whole_batch(maybe, monkeypatch):
    monkeypatch.setenv("REWARDHUB_CONFIG", maybe)
    prompt = "Q: say it\nA: "
    out = openrlhf_adapter.reward_func(
        [prompt + r for _, r in ITEMS[:3]], [prompt] * 3, None, missing_fill="group_mean"
    )
    assert [float(v) for v in out["extra_logs"]["maybe"]] == [2.0, 3.0, 4.0]


@pytest.mark.parametrize("bad", ["mean", "nan", float("inf"), True, [1]])
def test_an_unknown_policy_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="missing_fill must be a finite number, 'group_mean' or 'raise'"):
        fill_policy(bad)

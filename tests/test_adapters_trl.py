"""The TRL adapter: reward functions in GRPOTrainer's exact calling convention.

The calls below are the ones ``GRPOTrainer._calculate_rewards`` makes in TRL 1.16
(trl/trainer/grpo_trainer.py): ``f(prompts=..., completions=..., completion_ids=..., **kwargs)``
where kwargs holds every dataset column but prompt/completion, plus ``trainer_state``,
``log_extra`` and ``log_metric``; prompts repeat ``num_generations`` times in a row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

import rewardhub
from rewardhub.adapters.trl import TRLRewards, group_ids, reward_funcs, to_samples


class Recorder(rewardhub.Reward):
    """A throwaway reward that records what it was given: the length of the response."""

    name = "length"
    group_aware = True

    def __init__(self) -> None:
        self.calls: list[list[rewardhub.Sample]] = []

    def score(self, samples: Sequence[rewardhub.Sample]) -> list[float | None]:
        self.calls.append(list(samples))
        return [None if s.response == "" else float(len(s.response)) for s in samples]


@rewardhub.reward("starts_upper", inputs=("response",))
def starts_upper(response: str) -> float:
    return 1.0 if response[:1].isupper() else 0.0


def trl_call(fn, prompts, completions, **columns):
    """Call ``fn`` exactly as TRL 1.16 does, runtime kwargs included."""
    logged: dict[str, float] = {}
    kwargs = {
        **columns,
        "trainer_state": object(),
        "log_extra": lambda *a: None,
        "log_metric": lambda name, value: logged.__setitem__(name, value),
    }
    out = fn(prompts=prompts, completions=completions, completion_ids=[[1, 2]] * len(prompts), **kwargs)
    return out, logged


def test_one_function_per_reward_named_and_weighted():
    rewards = reward_funcs([{"name": "token_entropy", "weight": 0.3}, {"name": "token_entropy", "as": "entropy_b"}])
    assert isinstance(rewards, TRLRewards) and isinstance(rewards, list)
    assert [f.__name__ for f in rewards] == rewards.names == ["token_entropy", "entropy_b"]
    assert rewards.weights == [0.3, 1.0]


@pytest.mark.slow  # imports TRL, torch and transformers
def test_trl_reads_the_names_and_sees_sync_or_async():
    utils = pytest.importorskip("trl.trainer.utils")
    sync, asynchronous = reward_funcs(["token_entropy"]), reward_funcs(["token_entropy"], asynchronous=True)
    assert utils.get_callable_name(sync[0]) == "token_entropy"
    assert not utils.is_async_callable(sync[0])
    assert utils.is_async_callable(asynchronous[0])


def test_all_columns_share_one_scoring_pass_and_none_stays_none():
    recorder = Recorder()
    rewards = reward_funcs([recorder, starts_upper])
    prompts = ["p"] * 3
    completions = ["Hello", "", "lower"]
    length, _ = trl_call(rewards[0], prompts, completions)
    upper, logged = trl_call(rewards[1], prompts, completions)
    assert length == [5.0, None, 5.0]
    assert upper == [1.0, 0.0, 0.0]
    assert len(recorder.calls) == 1  # the second column reused the batch
    assert logged == {"rewardhub/starts_upper/error_rate": 0.0}
    trl_call(rewards[0], prompts, list(completions))  # a new batch object is scored anew
    assert len(recorder.calls) == 2


def test_conversational_completions_and_dataset_columns():
    recorder = Recorder()
    rewards = reward_funcs([recorder])
    prompts = [[{"role": "user", "content": "Say hi"}]] * 2
    completions = [
        [{"role": "assistant", "content": "hi there"}],
        [{"role": "assistant", "content": [{"type": "text", "text": "yo"}]}],
    ]
    out, _ = trl_call(rewards[0], prompts, completions, solution=["hi", "hi"], image=["a.png", None], difficulty=[1, 2])
    assert out == [8.0, 2.0]
    first, second = recorder.calls[0]
    assert first.prompt == prompts[0] and first.reference == "hi" and first.images == ["a.png"]
    assert second.images == [] and second.meta == {"difficulty": 2}
    assert "trainer_state" not in first.meta and "log_metric" not in first.meta


def test_groups_follow_the_repeated_prompts():
    assert group_ids(["a", "a", "b", "b", "a", "a"]) == [0, 0, 1, 1, 2, 2]
    assert group_ids(["a"] * 6, num_generations=3) == [0, 0, 0, 1, 1, 1]
    samples = to_samples(["a", "a", "b", "b"], ["w x", "w y", "z", "z"], {})
    assert len({s.group for s in samples[:2]}) == 1 and samples[0].group != samples[2].group


def test_group_aware_reward_sees_each_prompts_generations():
    rewards = reward_funcs(["diversity_bonus"], num_generations=2)
    prompts = ["q1", "q1", "q1", "q1"]  # the same prompt drawn twice: two groups of two
    completions = ["red fox runs", "red fox runs", "blue sky shines", "green grass grows"]
    out, _ = trl_call(rewards[0], prompts, completions)
    assert out[:2] == [0.0, 0.0]  # identical pair, nothing to gain
    assert out[2:] == [1.0, 1.0]  # no shared bigram with the other member of its group


def test_async_functions_share_one_pass_on_one_loop():
    recorder = Recorder()
    rewards = reward_funcs([recorder, starts_upper], asynchronous=True)
    prompts, completions = ["p", "p"], ["Abc", "de"]

    async def gather():  # what TRL does on its reward event loop
        return await asyncio.gather(
            *(f(prompts=prompts, completions=completions, completion_ids=None) for f in rewards)
        )

    length, upper = asyncio.run(gather())
    assert length == [3.0, 2.0] and upper == [1.0, 0.0]
    assert len(recorder.calls) == 1


def test_mismatched_lengths_are_an_error():
    rewards = reward_funcs(["token_entropy"])
    with pytest.raises(ValueError, match="2 prompts for 1 completions"):
        rewards[0](prompts=["a", "b"], completions=["x"])

"""Aggregation of reward components (:mod:`rewardhub.aggregation`): hand-computed cases, the same
numbers as TRL's own ``normalize_then_sum`` code path and verl's ``gdpo`` estimator on random
groups, ``None`` components under every ``missing`` policy, the config key and the Scorer hook."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewardhub import Sample, Scorer
from rewardhub.aggregation import (
    advantages,
    batch_normalize,
    group_normalize,
    grpo_advantages,
    zero_spread_groups,
)
from rewardhub.config import ConfigError, load_config

GROUPS4 = ["g"] * 4


# -- hand-computed ---------------------------------------------------------------------------------


def test_the_long_wrong_answer_wins_under_the_plain_sum_but_not_under_gdpo():
    correct = [1.0, 1.0, 0.0, 0.0]
    length = [0.0, 100.0, 200.0, 300.0]
    components = {"correct": correct, "length": length}
    weights = {"correct": 1.0, "length": 1.0}
    totals = [c + n for c, n in zip(correct, length)]  # 1, 101, 200, 300
    plain = grpo_advantages(totals, GROUPS4)
    assert max(range(4), key=lambda i: plain[i]) == 3  # wrong and longest: the highest advantage
    # by hand: correct deviates +-0.5 from its mean, std sqrt(1/3); length (-150, -50, 50, 150), std 129.0994
    for mode, epsilon in {"gdpo": 1e-6, "normalize_then_sum": 1e-4}.items():
        z_cor = [d / (math.sqrt(1 / 3) + epsilon) for d in (0.5, 0.5, -0.5, -0.5)]
        z_len = [d / (math.sqrt(50000 / 3) + epsilon) for d in (-150, -50, 50, 150)]
        summed = [a + b for a, b in zip(z_cor, z_len)]  # -0.2959, 0.4787, -0.4787, 0.2959: mean 0
        s = math.sqrt(sum(x * x for x in summed) / 3)
        scale = math.sqrt(s * s + 1e-8) if mode == "gdpo" else s + 1e-4
        got = advantages(components, weights, GROUPS4, aggregation=mode)
        assert got == pytest.approx([x / scale for x in summed], rel=1e-9), mode
        assert max(range(4), key=lambda i: got[i]) == 1  # right and short wins
        assert got[3] < got[1]  # the long wrong answer cannot come first
    assert advantages(components, weights, GROUPS4, aggregation="sum") is None


def test_group_normalize_by_hand_with_groups_out_of_order_and_a_singleton():
    values = [1.0, 5.0, 3.0, 7.0, 4.0]
    groups = ["a", "b", "a", "b", "c"]
    got = group_normalize(values, groups, epsilon=0.0)
    s = math.sqrt(2.0)  # std of (1, 3) and of (5, 7), Bessel
    assert got == pytest.approx([-1 / s, -1 / s, 1 / s, 1 / s, 0.0])
    assert group_normalize([None, 2.0, 4.0], ["a", "a", "a"], 0.0) == pytest.approx([None, -1 / s, 1 / s])
    assert batch_normalize([None, 3.0]) == [None, 0.0]  # one usable value: no comparison
    assert batch_normalize([None, None]) == [None, None]


def test_zero_spread_is_counted_per_component():
    groups = ["a", "a", "b", "b", "c"]
    correct = [1.0, 1.0, 0.0, 1.0, 1.0]  # group a all right: no spread; c has one sample
    length = [10.0, 20.0, 30.0, 30.0, 5.0]  # group b: no spread
    assert zero_spread_groups(correct, groups) == (1, 2)
    assert zero_spread_groups(length, groups) == (1, 2)
    totals = [c + n for c, n in zip(correct, length)]
    assert zero_spread_groups(totals, groups) == (0, 2)  # the sum hides both
    # gdpo keeps group a's length signal although its correctness is flat
    got = advantages({"c": correct, "n": length}, {"c": 1.0, "n": 1.0}, groups, aggregation="gdpo")
    assert got[0] < got[1]


# -- missing components under each policy ----------------------------------------------------------


def _missing_case(missing: str):
    components = {"a": [1.0, 0.0, 1.0, 0.0], "b": [2.0, None, 4.0, 6.0]}
    return advantages(components, {"a": 1.0, "b": 3.0}, GROUPS4, aggregation="normalize_then_sum", missing=missing)


def test_missing_skip_adds_nothing_for_the_missing_component():
    za = [x / (math.sqrt(1 / 3) + 1e-4) for x in (0.5, -0.5, 0.5, -0.5)]
    zb = [-2 / (2 + 1e-4), None, 0.0, 2 / (2 + 1e-4)]  # b over its three values: mean 4, std 2
    summed = [za[0] + 3 * zb[0], za[1], za[2], za[3] + 3 * zb[3]]
    assert _missing_case("skip") == pytest.approx(batch_normalize(summed))


def test_missing_renormalize_scales_the_present_weights_up():
    za = [x / (math.sqrt(1 / 3) + 1e-4) for x in (0.5, -0.5, 0.5, -0.5)]
    zb = [-2 / (2 + 1e-4), None, 0.0, 2 / (2 + 1e-4)]
    summed = [za[0] + 3 * zb[0], za[1] * 4 / 1, za[2], za[3] + 3 * zb[3]]
    assert _missing_case("renormalize") == pytest.approx(batch_normalize(summed))


def test_missing_propagate_gives_no_advantage_and_leaves_the_sample_out_of_the_batch_step():
    got = _missing_case("propagate")
    assert got[1] is None and all(v is not None for i, v in enumerate(got) if i != 1)
    present = [v for v in got if v is not None]
    assert sum(present) == pytest.approx(0.0, abs=1e-9)  # the batch step saw only three samples


@pytest.mark.parametrize("missing", ["skip", "renormalize", "propagate"])
def test_a_sample_with_no_component_has_no_advantage(missing):
    got = advantages(
        {"a": [1.0, None, 0.0], "b": [2.0, None, 1.0]}, {"a": 1, "b": 1}, ["g"] * 3, aggregation="gdpo", missing=missing
    )
    assert got[1] is None and got[0] is not None and got[0] > got[2]


# -- against the trainers' own code -----------------------------------------------------------------

groups_strategy = st.tuples(
    st.integers(1, 5),  # groups
    st.integers(2, 6),  # generations per group
    st.integers(1, 3),  # components
).flatmap(
    lambda shape: st.tuples(
        st.just(shape),
        st.lists(
            st.lists(
                st.one_of(st.none(), st.integers(-20, 20).map(lambda v: v / 4)),
                min_size=shape[2],
                max_size=shape[2],
            ),
            min_size=shape[0] * shape[1],
            max_size=shape[0] * shape[1],
        ),
        st.lists(st.sampled_from([0.5, 1.0, 2.0, 3.0]), min_size=shape[2], max_size=shape[2]),
    )
)


def _trl_advantages(rows, weights, num_generations):
    """The advantages TRL computes for ``normalize_then_sum``: the code of
    ``GRPOTrainer._generate_and_score_completions`` between the rewards and the advantages,
    run on TRL's own ``nanstd``."""
    torch = pytest.importorskip("torch")
    trl_utils = pytest.importorskip("trl.trainer.utils")
    nanstd = trl_utils.nanstd
    rewards_per_func = torch.tensor([[math.nan if v is None else v for v in row] for row in rows], dtype=torch.float32)
    reward_weights = torch.tensor(weights, dtype=torch.float32)
    unscorable_mask = torch.isnan(rewards_per_func).all(dim=1)
    k = rewards_per_func.shape[1]
    grouped = rewards_per_func.view(-1, num_generations, k)
    mean_k = torch.nanmean(grouped, dim=1, keepdim=True)
    std_k = nanstd(grouped, dim=1, keepdim=True) if num_generations > 1 else torch.zeros_like(mean_k)
    reward_k = ((grouped - mean_k) / (std_k + 1e-4)).view(-1, k)
    rewards = (reward_k * reward_weights.unsqueeze(0)).nansum(dim=1)
    rewards[unscorable_mask] = torch.nan
    std_rewards = nanstd(rewards).expand_as(rewards) if rewards.numel() > 1 else torch.zeros_like(rewards)
    advantages_ = (rewards - torch.nanmean(rewards)) / (std_rewards + 1e-4)
    return torch.nan_to_num(advantages_, nan=0.0).tolist()


def test_the_trl_replica_is_trls_code():
    """The replica above is TRL's: its source lines appear verbatim in the installed GRPOTrainer."""
    pytest.importorskip("trl")
    import inspect

    from trl.trainer import grpo_trainer

    source = inspect.getsource(grpo_trainer.GRPOTrainer._generate_and_score_completions)
    for line in (
        "mean_k = torch.nanmean(grouped, dim=1, keepdim=True)",
        "std_k = nanstd(grouped, dim=1, keepdim=True) if num_generations > 1 else torch.zeros_like(mean_k)",
        "reward_k = (grouped - mean_k) / (std_k + 1e-4)",
        "rewards = (reward_k * self.reward_weights.to(device).unsqueeze(0)).nansum(dim=1)",
        "rewards[unscorable_mask] = torch.nan",
        "std_rewards = nanstd(rewards).expand_as(rewards) if rewards.numel() > 1 else torch.zeros_like(rewards)",
        "advantages = (rewards - torch.nanmean(rewards)) / (std_rewards + 1e-4)",
        "advantages = torch.nan_to_num(advantages, nan=0.0)",
    ):
        assert line in source, line


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups_strategy)
def test_normalize_then_sum_equals_trls(case):
    (n_groups, generations, k), rows, weights = case
    groups = [i // generations for i in range(n_groups * generations)]
    components = {f"r{j}": [row[j] for row in rows] for j in range(k)}
    ours = advantages(
        components, {f"r{j}": weights[j] for j in range(k)}, groups, aggregation="normalize_then_sum", missing="skip"
    )
    trl = _trl_advantages(rows, weights, generations)
    # A group where a component has one value: TRL's nanstd is NaN there and nansum drops it (0.0);
    # a sample with no value at all: TRL's 0.0, rewardhub's None.
    for i, (mine, theirs) in enumerate(zip(ours, trl)):
        if mine is None:
            assert all(v is None for v in rows[i]) and theirs == 0.0
        else:
            assert mine == pytest.approx(theirs, rel=2e-3, abs=2e-3), (i, ours, trl)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups_strategy)
def test_gdpo_equals_verls_estimator(case):
    torch = pytest.importorskip("torch")
    core_algos = pytest.importorskip("verl.trainer.ppo.core_algos")  # (verl is installed without its deps)
    import numpy as np

    compute_gdpo_outcome_advantage = core_algos.compute_gdpo_outcome_advantage

    (n_groups, generations, k), rows, weights = case
    rows = [[0.0 if v is None else v for v in row] for row in rows]  # verl needs a number everywhere
    n = n_groups * generations
    if n < 2:
        return
    groups = [i // generations for i in range(n)]
    keys = [f"r{j}" for j in range(k)]
    config = {"gdpo_reward_keys": keys, "gdpo_reward_weights": list(weights)}
    non_tensor = {key: np.array([row[j] for row in rows], dtype=np.float32) for j, key in enumerate(keys)}
    batch = {"prompts": torch.zeros(n, 1, dtype=torch.long), "attention_mask": torch.ones(n, 2, dtype=torch.long)}
    mask = torch.ones(n, 1)  # one response token each: verl's token-level whitening is then per sample
    theirs, _ = compute_gdpo_outcome_advantage(
        torch.zeros(n, 1), mask, np.array(groups), config=config, non_tensor_batch=non_tensor, batch=batch
    )
    components = {key: [row[j] for row in rows] for j, key in enumerate(keys)}
    ours = advantages(components, dict(zip(keys, weights)), groups, aggregation="gdpo")
    assert ours == pytest.approx(theirs[:, 0].tolist(), rel=2e-3, abs=2e-3)


# -- config and Scorer -----------------------------------------------------------------------------


def test_config_takes_an_aggregation_and_refuses_a_wrong_one(tmp_path):
    assert load_config({"rewards": ["length"], "aggregation": "gdpo"}).aggregation == "gdpo"
    assert load_config({"rewards": ["length"]}).aggregation == "sum"
    bad = tmp_path / "bad.yaml"
    bad.write_text("rewards: [length]\naggregation: mean\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: 'aggregation' must be one of sum, normalize_then_sum, gdpo"):
        load_config(bad)
    with pytest.raises(ValueError, match="aggregation must be one of"):
        Scorer(["length"], aggregation="mean")


def test_scorer_hands_back_advantages_under_gdpo_and_none_under_sum():
    samples = [
        Sample(response=text, prompt=prompt)
        for prompt, texts in (("p1", ["a", "a b c", "a b c d e f"]), ("p2", ["x y", "x y z w"]))
        for text in texts
    ]
    entries = [{"name": "length", "weight": 1.0}, {"name": "repetition_penalty", "weight": 0.5}]
    with Scorer(entries) as plain:
        batch = plain.score(samples)
        assert batch.advantages is None and batch.aggregation == "sum"
    with Scorer.from_config({"rewards": entries, "aggregation": "gdpo"}) as scorer:
        batch = scorer.score(samples)
    assert batch.aggregation == "gdpo" and len(batch.advantages) == len(samples)
    expected = advantages(batch.components, batch.weights, [s.group_key for s in samples], aggregation="gdpo")
    assert batch.advantages == expected
    assert batch.advantages[2] > batch.advantages[0]  # longer is more "length" within p1
    assert "advantage" in batch.to_pandas().columns

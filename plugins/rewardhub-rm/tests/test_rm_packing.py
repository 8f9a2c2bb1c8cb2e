"""Batching by tokens: every sequence once, the budget held, longest first; the padding it saves
on real answer lengths."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rewardhub_rm.packing import PackingStats, pack, padded_size


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=600), max_size=80), st.integers(min_value=1, max_value=5000))
def test_every_index_once_and_the_budget_held(lengths, budget):
    batches = pack(lengths, budget)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))  # order restorable: each index exactly once
    for b in batches:
        assert len(b) == 1 or padded_size(lengths, b) <= budget
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)  # longest first
    # greedy is tight: the next sequence would not have fit in the batch before it
    for before in batches[:-1]:
        assert (len(before) + 1) * max(lengths[i] for i in before) > budget


def test_stats_count_padding():
    lengths = [10, 2, 9, 1]
    stats = PackingStats()
    for b in pack(lengths, 20):
        stats.add_batch(lengths, b)
    assert (stats.tokens, stats.padded_tokens, stats.micro_batches) == (22, 10 * 2 + 2 * 2, 2)
    assert stats.padding_share == pytest.approx(1 - 22 / 24)
    assert PackingStats().padding_share is None


def test_packing_real_alpaca_lengths_pads_less_than_fixed_batches(tmp_path):
    import json
    from pathlib import Path

    folder = Path(__file__).resolve().parents[3].parent / "shared" / "realdata" / "alpaca_eval"
    if not folder.is_dir():
        pytest.skip("../shared/realdata is not present")
    lengths = [
        len((row["instruction"] + " " + row["output"]).split())
        for path in sorted(folder.glob("*.jsonl"))
        for row in map(json.loads, path.read_text().splitlines())
    ]
    assert len(lengths) == 5635
    fixed = sum(padded_size(lengths, list(range(i, min(i + 32, len(lengths))))) for i in range(0, len(lengths), 32))
    packed = sum(padded_size(lengths, b) for b in pack(lengths, 32 * 400))
    assert packed < 0.8 * fixed  # word counts as a proxy for tokens; the benchmark measures tokens


def _cost(lengths, batches, overhead):
    return sum(padded_size(lengths, b) + overhead for b in batches)


def _brute_force(lengths, budget, overhead):
    """The least cost over every cut of the lengths sorted longest first (2^(n-1) cuts)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    best = None
    for mask in range(1 << max(0, len(order) - 1)):
        batches, current = [], [order[0]] if order else []
        for k, i in enumerate(order[1:]):
            if mask >> k & 1:
                batches.append(current)
                current = []
            current.append(i)
        if current:
            batches.append(current)
        if all(len(b) == 1 or padded_size(lengths, b) <= budget for b in batches):
            cost = _cost(lengths, batches, overhead)
            best = cost if best is None else min(best, cost)
    return best or 0


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=600), max_size=9),
    st.integers(min_value=1, max_value=3000),
    st.integers(min_value=0, max_value=2000),
)
def test_with_an_overhead_the_cuts_cost_least(lengths, budget, overhead):
    batches = pack(lengths, budget, overhead)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)  # longest first
    assert all(len(b) == 1 or padded_size(lengths, b) <= budget for b in batches)
    assert _cost(lengths, batches, overhead) == _brute_force(lengths, budget, overhead)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=600), max_size=200), st.integers(min_value=600, max_value=9000))
def test_with_an_overhead_never_worse_than_greedy_and_as_few_batches_when_passes_are_dear(lengths, budget):
    greedy = pack(lengths, budget)
    for overhead in (0, 32, 512):
        assert _cost(lengths, pack(lengths, budget, overhead), overhead) <= _cost(lengths, greedy, overhead)
    dear = budget * (len(lengths) + 1)  # a pass dearer than all the padding there can be: fewest passes
    assert len(pack(lengths, budget, dear)) == len(greedy)


def test_reward_model_cuts_by_pass_cost_on_a_cpu_and_scores_the_same(decoder_rm, reference):
    from rewardhub_rm import RewardModel

    from rewardhub import Sample

    batch = [Sample("The sea is calm tonight. " * (1 + i % 5), prompt=f"Sea {i}?") for i in range(10)]
    expected = reference(decoder_rm, batch)
    auto = RewardModel(model=decoder_rm, device="cpu")
    fewest = RewardModel(model=decoder_rm, device="cpu", overhead_tokens=10**9)
    for reward in (auto, fewest, RewardModel(model=decoder_rm, device="cpu", overhead_tokens=0)):
        assert [s.value for s in reward.score(batch)] == pytest.approx(expected, abs=1e-4)
    assert auto.provenance["packing"] == {"max_tokens_per_batch": 16384, "overhead_tokens": 32}
    auto_stats, fewest_stats = auto.provenance["stats"], fewest.provenance["stats"]
    assert fewest_stats["micro_batches"] == 1 < auto_stats["micro_batches"]
    assert auto_stats["padded_tokens"] < fewest_stats["padded_tokens"]
    with pytest.raises(ValueError, match="overhead_tokens must be auto or a non-negative integer, got -1"):
        RewardModel(model=decoder_rm, overhead_tokens=-1)

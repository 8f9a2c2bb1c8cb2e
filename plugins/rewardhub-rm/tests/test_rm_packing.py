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

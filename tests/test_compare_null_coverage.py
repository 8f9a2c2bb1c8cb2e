"""``compare`` under the null, with few prompts: both sides drawn from one process, so a 95%
interval may exclude 0 in about 5% of replicates, at every number of prompts the command
accepts; below what an interval needs it is None with the reason.

The process: for each prompt, answers drawn without replacement from the seven alpaca_eval
models' answers to that instruction (``../shared/realdata/alpaca_eval``), split at random
between the two sides: real text whose answers to one prompt are alike, so pairing matters.
Without the real data, synthetic text of the same shape (each prompt its own word
distribution). Rewards are the installed ``entropy`` and ``repetition_penalty`` computed on
those texts; per-response metrics are ``seq_rep_2`` and ``distinct_avg_2``; corpus metrics
distinct-1/2 and self-BLEU-4. Deterministic (fixed seeds): 200 replicates per prompt count
tell a 5% rate (10 of 200) from the 20 to 45% the percentile bootstrap gave (40 to 90).
"""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pytest

from rewardhub.compare.analysis import analyse
from rewardhub.compare.sides import ScoredRow, Side
from rewardhub.types import Sample
from tests.conftest import REALDATA

REPLICATES = 200
#: the share of 95% intervals that may exclude 0 under the null (5% expected, 11% = 22 of 200)
LIMIT = 0.11
KEYS = ("entropy", "repetition_penalty", "seq_rep_2", "distinct_avg_2", "distinct_1", "distinct_2", "self_bleu_4")


@cache
def answer_pool() -> tuple[tuple[str, ...], ...]:
    """Per prompt, the answers the process can give (7 real ones, or 7 synthetic)."""
    folder = REALDATA / "alpaca_eval"
    files = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
    if files:
        by_prompt: dict[str, list[str]] = {}
        for path in files:
            for line in path.read_text().splitlines():
                row = json.loads(line)
                by_prompt.setdefault(row["instruction"], []).append(row["output"])
        return tuple(tuple(a) for a in by_prompt.values() if len(a) >= 4)
    rng = np.random.default_rng(7)
    vocab = np.array([f"w{i}" for i in range(3000)])
    pool = []
    for _ in range(300):
        p = 1.0 / np.arange(1, 3001) ** rng.uniform(0.9, 1.3)
        order = rng.permutation(3000)
        pool.append(
            tuple(" ".join(vocab[order[rng.choice(3000, rng.integers(8, 80), p=p / p.sum())]]) for _ in range(7))
        )
    return tuple(pool)


@cache
def reward_values() -> dict[str, dict[str, float]]:
    from rewardhub import plugins
    from rewardhub.rewards import as_reward

    texts = sorted({t for answers in answer_pool() for t in answers})
    registry = plugins.registry(())
    out = {}
    for name in ("entropy", "repetition_penalty"):
        scores = as_reward(registry.rewards[name].obj).score([Sample(response=t) for t in texts])
        out[name] = {t: float(getattr(s, "value", s)) for t, s in zip(texts, scores)}
    return out


def components():
    from rewardhub.build import build_metrics
    from rewardhub.metrics import Distinct, DistinctAverage, Repetition, SelfBleu

    return build_metrics([Distinct(n=(1, 2)), DistinctAverage(n=2), Repetition(n=2), SelfBleu(n=4)])


def null_sides(prompts: int, per_prompt: int, rng: np.random.Generator, paired: bool) -> tuple[Side, Side]:
    pool, values = answer_pool(), reward_values()
    picked = rng.choice(len(pool), prompts if paired else 2 * prompts, replace=False)
    rows: tuple[list, list] = ([], [])
    for i, index in enumerate(picked):
        answers = rng.permutation(pool[index])
        for j, text in enumerate(answers[: 2 * per_prompt] if paired else answers[:per_prompt]):
            side = (j % 2) if paired else (i % 2)
            sample = Sample(response=str(text), prompt=f"prompt {index}")
            rows[side].append(ScoredRow(sample, {name: v[str(text)] for name, v in values.items()}, {}))
    return Side("a", ["a.jsonl"], rows[0]), Side("b", ["b.jsonl"], rows[1])


def exclusion_rates(prompts: int, paired: bool, per_prompt: int) -> tuple[dict[str, float], dict[str, int]]:
    """Share of replicates whose interval excludes 0, and how many gave no interval, per key."""
    rng = np.random.default_rng(1000 + prompts)
    metrics = components()
    excluded = dict.fromkeys(KEYS, 0)
    missing = dict.fromkeys(KEYS, 0)
    for seed in range(REPLICATES):
        a, b = null_sides(prompts, per_prompt, rng, paired)
        result = analyse(
            a,
            b,
            ["entropy", "repetition_penalty"],
            {"entropy": True, "repetition_penalty": True},
            metrics,
            paired="yes" if paired else "no",
            seed=seed,
        )
        assert result.paired is paired
        rows = {**result.rewards, **result.metrics}
        for key in KEYS:
            if rows[key].ci is None:
                missing[key] += 1
                assert rows[key].note, f"{key}: an interval left out without a reason"
            else:
                excluded[key] += rows[key].significant()
    return {k: v / REPLICATES for k, v in excluded.items()}, missing


@pytest.mark.slow
@pytest.mark.parametrize("prompts", [2, 3, 5, 10, 20])
def test_paired_intervals_keep_their_level_under_the_null(prompts):
    rates, missing = exclusion_rates(prompts, paired=True, per_prompt=2)
    print(f"{prompts} prompts, paired:", {k: f"{v:.1%}" for k, v in rates.items()})
    assert all(rate <= LIMIT for rate in rates.values()), rates
    assert not any(missing.values()), missing  # two answers a prompt: every interval exists from 2 prompts


@pytest.mark.slow
@pytest.mark.parametrize("samples", [2, 3, 5, 10, 20])
def test_unpaired_intervals_keep_their_level_under_the_null(samples):
    rates, missing = exclusion_rates(samples, paired=False, per_prompt=1)
    print(f"{samples} samples a side, unpaired:", {k: f"{v:.1%}" for k, v in rates.items()})
    assert all(rate <= LIMIT for rate in rates.values()), rates
    # self-BLEU needs 2 responses in every leave-one-out set: 3 samples a side
    assert missing["self_bleu_4"] == (REPLICATES if samples == 2 else 0)
    assert not any(v for k, v in missing.items() if k != "self_bleu_4"), missing


def test_one_shared_prompt_gives_no_interval_and_says_why():
    a, b = null_sides(1, 2, np.random.default_rng(0), paired=True)
    result = analyse(a, b, ["entropy"], {"entropy": True}, components(), paired="yes")
    assert result.pairs == 1
    for item in [*result.rewards.values(), *result.metrics.values()]:
        assert item.ci is None and not item.significant()
        assert "an interval needs at least 2 prompts, there is 1" in item.note
    assert result.rewards["entropy"].p == 1.0  # exact: both sign patterns are as extreme
    document = result.to_dict()
    assert document["rewards"]["entropy"]["ci"] is None and "at least 2" in document["rewards"]["entropy"]["note"]
    assert document["metrics"]["distinct_2"]["ci"] is None and "at least 2" in document["metrics"]["distinct_2"]["note"]


def test_self_bleu_on_two_prompts_of_one_answer_each_has_no_interval():
    a, b = null_sides(2, 1, np.random.default_rng(0), paired=True)
    result = analyse(a, b, [], {}, components(), paired="yes")
    assert result.metrics["distinct_2"].ci is not None
    self_bleu = result.metrics["self_bleu_4"]
    assert self_bleu.a is not None and self_bleu.ci is None and "too few responses" in self_bleu.note

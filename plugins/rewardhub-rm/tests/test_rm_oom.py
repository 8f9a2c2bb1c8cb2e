"""A CUDA out-of-memory halves the micro-batch and retries; it never fails the step. Tested on a
CPU by raising ``torch.cuda.OutOfMemoryError`` from the backend's forward seam."""

from __future__ import annotations

import pytest
from rewardhub_rm import RewardModel

from rewardhub import Sample, Scorer

torch = pytest.importorskip("torch")


def fails_above(backend, rows_that_fit: int, calls: list[int]):
    original = backend._forward

    def forward(inputs):
        rows = inputs["input_ids"].shape[0]
        calls.append(rows)
        if rows > rows_that_fit:
            raise torch.cuda.OutOfMemoryError(f"CUDA out of memory. Tried to allocate for {rows} rows")
        return original(inputs)

    return forward


def test_oom_halves_the_micro_batch_and_scores_everything(decoder_rm, monkeypatch, reference):
    samples = [Sample(f"answer number {i} " * (1 + i % 4), prompt="q") for i in range(12)]
    expected = reference(decoder_rm, samples)
    reward = RewardModel(model=decoder_rm, device="cpu", max_tokens_per_batch=100_000)
    backend, _ = reward.load()
    calls: list[int] = []
    monkeypatch.setattr(backend, "_forward", fails_above(backend, 3, calls))
    scores = reward.score(samples)
    assert [s.info["raw"] for s in scores] == pytest.approx(expected, abs=1e-4)
    assert calls[0] == 12 and max(c for c in calls if c <= 3) <= 3  # 12 -> 6 -> 3
    assert reward.provenance["stats"]["oom_splits"] == 1 + 2  # 12 into 6+6, each 6 into 3+3


def test_oom_on_a_single_sequence_fails_that_sample_only(decoder_rm, monkeypatch):
    reward = RewardModel(model=decoder_rm, device="cpu", max_tokens_per_batch=100_000)
    backend, _ = reward.load()
    original = backend._forward

    def forward(inputs):
        if inputs["input_ids"].shape[1] > 60:  # the long one never fits
            raise torch.cuda.OutOfMemoryError("CUDA out of memory.")
        return original(inputs)

    monkeypatch.setattr(backend, "_forward", forward)
    scorer = Scorer([reward])
    batch = scorer.score([Sample("the sea " * 30, prompt="q"), Sample("calm", prompt="q"), Sample("tide", prompt="q")])
    values = batch.components["reward_model"]
    assert values[0] is None and "out of memory on one sequence" in batch.errors[0]["reward_model"]
    assert values[1] is not None and values[2] is not None

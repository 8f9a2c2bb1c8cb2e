"""The TRL examples run end to end with real TRL on a CPU: 2 GRPO steps, 2 DPO steps."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("datasets")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
#: The examples' default rewards with the tests' own token_entropy in place of the entropy plugin's.
REWARDS = "token_entropy,repetition_penalty,diversity_bonus:0.5"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.mark.slow
def test_grpo_example_logs_every_rewardhub_component(tmp_path):
    example = load_example("grpo_trl")
    trainer = example.main(["--max-steps", "2", "--output-dir", str(tmp_path), "--rewards", REWARDS])
    logs = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert trainer.state.global_step == 2 and len(logs) == 2
    for name in ("token_entropy", "repetition_penalty", "diversity_bonus"):
        values = [entry[f"rewards/{name}/mean"] for entry in logs]
        assert all(math.isfinite(v) for v in values), name
    assert all(0.0 <= entry["rewards/token_entropy/mean"] <= 1.0 for entry in logs)
    weighted = [
        e["rewards/token_entropy/mean"] + e["rewards/repetition_penalty/mean"] + 0.5 * e["rewards/diversity_bonus/mean"]
        for e in logs
    ]
    assert [e["reward"] for e in logs] == pytest.approx(weighted, abs=1e-4)  # TRL applied rewards.weights


@pytest.mark.slow
def test_dpo_example_trains_on_the_pairs_rewardhub_made(tmp_path):
    example = load_example("dpo_trl")
    trainer, pairs = example.main(["--max-steps", "2", "--work-dir", str(tmp_path), "--rewards", REWARDS])
    written = [line for line in (tmp_path / "prefs.jsonl").read_text(encoding="utf-8").splitlines() if line]
    assert len(written) == len(pairs) == len(trainer.train_dataset) > 0
    assert all(p["score_chosen"] > p["score_rejected"] for p in pairs)

    tokenizer = trainer.processing_class
    first = trainer.train_dataset[0]
    assert (
        tokenizer.decode(first["chosen_ids"], skip_special_tokens=True).strip()
        == pairs[0]["chosen"][0]["content"].strip()
    )
    assert (
        tokenizer.decode(first["rejected_ids"], skip_special_tokens=True).strip()
        == pairs[0]["rejected"][0]["content"].strip()
    )
    assert trainer.state.global_step == 2
    assert all(math.isfinite(entry["loss"]) for entry in trainer.state.log_history if "loss" in entry)

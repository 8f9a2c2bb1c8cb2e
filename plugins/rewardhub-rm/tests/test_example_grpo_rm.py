"""``examples/grpo_rm.py`` runs end to end with real TRL on a CPU: 2 GRPO steps on
``reward_model`` (a tiny RM built on the spot) plus ``diversity_bonus``."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("datasets")

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "grpo_rm.py"


def load_example():
    spec = importlib.util.spec_from_file_location("example_grpo_rm", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_grpo_trains_two_steps_on_a_reward_model_and_diversity(tmp_path, monkeypatch):
    from rewardhub_rm import local

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    example = load_example()
    rm = example.build_tiny_reward_model(tmp_path / "rm")
    loads = []
    original = local.TransformersBackend.__init__

    def counting(self, *args, **kwargs):
        loads.append(args[0])
        original(self, *args, **kwargs)

    monkeypatch.setattr(local.TransformersBackend, "__init__", counting)
    trainer = example.main(
        ["--reward-model", rm, "--max-steps", "2", "--diversity-weight", "0.5", "--output-dir", str(tmp_path / "out")]
    )
    logs = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert trainer.state.global_step == 2 and len(logs) == 2
    for name in ("reward_model", "diversity_bonus"):
        assert all(math.isfinite(entry[f"rewards/{name}/mean"]) for entry in logs), name
    weighted = [e["rewards/reward_model/mean"] + 0.5 * e["rewards/diversity_bonus/mean"] for e in logs]
    assert [e["reward"] for e in logs] == pytest.approx(weighted, abs=1e-4)  # TRL applied the weights
    assert loads == [rm]  # the RM loaded once for the whole run, not once per step
    assert all(e["rewards/reward_model/std"] > 0 for e in logs)  # the RM tells completions apart

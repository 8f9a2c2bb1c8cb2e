"""The verl adapter, called as verl 0.9 calls a custom reward function.

Reconstructed from verl 0.9.1's source (read, not imported; verl is not a test dependency):

- ``verl/trainer/ppo/reward.py::get_custom_reward_fn`` wraps the function in
  ``partial(_call_with_kwargs, raw_fn, reward_kwargs)``: ``reward_kwargs`` from the config are
  merged into every call, taking precedence;
- ``verl/workers/reward_manager/naive.py::NaiveRewardManager.__call__`` (and the reward loop's
  ``run_single``) call ``compute_score(data_source=, solution_str=, ground_truth=, extra_info=)``
  and read ``score["score"]``, appending every key of the dict to ``reward_extra_info``;
- ``verl/workers/reward_manager/batch.py::BatchRewardManager.verify`` calls
  ``compute_score(data_sources=, solution_strs=, ground_truths=, extra_infos=, **reward_kwargs)``
  with numpy object arrays from ``non_tensor_batch`` and expects one score per sample.

The test marked ``verl`` runs against the real package when it is installed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from functools import partial

import numpy as np
import pytest

from rewardhub.adapters import verl as adapter


def _call_with_kwargs(raw_fn, extra_kwargs, *args, **kwargs):  # verl/trainer/ppo/reward.py, verbatim logic
    return raw_fn(*args, **{**kwargs, **extra_kwargs})


def naive_manager(compute_score, items):
    """NaiveRewardManager's loop: one call per sample, extra info collected key by key."""
    reward_extra_info = defaultdict(list)
    rewards = []
    for data_source, response, ground_truth, extra_info in items:
        score = compute_score(
            data_source=data_source, solution_str=response, ground_truth=ground_truth, extra_info=extra_info
        )
        rewards.append(score["score"])
        for key, value in score.items():
            reward_extra_info[key].append(value)
    return rewards, reward_extra_info


ITEMS = [
    ("openai/gsm8k", "the answer is 72", "72", {"index": 0, "question": "How many?", "split": "train"}),
    ("openai/gsm8k", "72 72 72 72 72 72", "72", {"index": 0, "question": "How many?", "split": "train"}),
    ("openai/gsm8k", "I think it is 10", "10", {"index": 1, "question": "And now?", "split": "train"}),
]


def test_per_sample_form_with_reward_kwargs_from_the_config():
    fn = partial(_call_with_kwargs, adapter.compute_score, {"rewards": ["token_entropy", "repetition_penalty:0.5"]})
    rewards, extra = naive_manager(fn, ITEMS)
    assert all(isinstance(r, float) for r in rewards)
    assert set(extra) == {"score", "token_entropy", "repetition_penalty", "rewardhub_missing"}
    assert all(len(v) == len(ITEMS) for v in extra.values())  # verl needs equal-length columns
    assert extra["token_entropy"][1] < extra["token_entropy"][0]  # the repeated answer
    assert rewards[1] == pytest.approx(extra["token_entropy"][1] + 0.5 * extra["repetition_penalty"][1])


def test_batch_form_groups_by_dataset_index(tmp_path):
    config = tmp_path / "rewards.yaml"
    config.write_text("rewards:\n  - {name: diversity_bonus, weight: 2.0}\n", encoding="utf-8")
    sources, responses, truths, infos = (np.array(col, dtype=object) for col in zip(*ITEMS, strict=True))
    scores = adapter.compute_score_batch(
        data_sources=sources,
        solution_strs=list(responses),
        ground_truths=truths,
        extra_infos=infos,
        rewardhub_config=str(config),
    )
    assert len(scores) == 3
    assert scores[2]["diversity_bonus"] == 0.0  # alone in its group (index 1)
    assert scores[0]["diversity_bonus"] == scores[1]["diversity_bonus"] == 1.0  # no bigram in common
    assert scores[0]["score"] == 2.0


def test_config_from_the_environment(monkeypatch):
    monkeypatch.setenv("REWARDHUB_CONFIG", "token_entropy")
    score = adapter.compute_score("src", "a b c", None)
    assert score == pytest.approx({"score": 1.0, "token_entropy": 1.0, "rewardhub_missing": 0.0})


def test_no_config_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("REWARDHUB_CONFIG", raising=False)
    with pytest.raises(ValueError, match="reward_kwargs.rewardhub_config"):
        adapter.compute_score("src", "text", None)


def test_missing_values_become_zero_and_are_counted():
    import rewardhub

    @rewardhub.reward("needs_reference")
    def needs_reference(response, reference=None):
        return None if reference is None else float(response == reference)

    scores = adapter.compute_score_batch(["s", "s"], ["42", "41"], ["42", None], [{}, {}], rewards=[needs_reference])
    assert scores[0] == {"score": 1.0, "needs_reference": 1.0, "rewardhub_missing": 0.0}
    assert scores[1] == {"score": 0.0, "needs_reference": 0.0, "rewardhub_missing": 1.0}
    assert all(math.isfinite(v) for s in scores for v in s.values())


@pytest.mark.slow
def test_against_the_installed_verl_batch_manager():
    """verl's own BatchRewardManager.verify drives the batch form (skipped without verl)."""
    pytest.importorskip("verl")
    torch = pytest.importorskip("torch")
    from verl import DataProto
    from verl.workers.reward_manager.batch import BatchRewardManager

    class Tokenizer:  # decodes one id per character, enough for verify()
        def decode(self, ids, skip_special_tokens=True):
            return "".join(chr(int(i)) for i in ids if int(i) > 0)

    texts = [r for _, r, _, _ in ITEMS]
    width = max(map(len, texts))
    responses = torch.tensor([[ord(c) for c in t] + [0] * (width - len(t)) for t in texts])
    prompts = torch.ones(len(texts), 2, dtype=torch.long)
    mask = torch.cat([torch.ones(len(texts), 2, dtype=torch.long), (responses > 0).long()], dim=1)
    data = DataProto.from_dict(
        tensors={"prompts": prompts, "responses": responses, "attention_mask": mask},
        non_tensors={
            "data_source": np.array([i[0] for i in ITEMS], dtype=object),
            "reward_model": np.array([{"ground_truth": i[2]} for i in ITEMS], dtype=object),
            "extra_info": np.array([dict(i[3]) for i in ITEMS], dtype=object),
        },
    )
    manager = BatchRewardManager(
        Tokenizer(), 0, adapter.compute_score_batch, rewards=["token_entropy", "diversity_bonus"]
    )
    out = manager(data, return_dict=True)
    assert set(out["reward_extra_info"]) == {"score", "token_entropy", "diversity_bonus", "rewardhub_missing"}
    assert out["reward_tensor"].sum(dim=1).tolist() == pytest.approx(out["reward_extra_info"]["score"])


def test_the_example_config_snippet_works(monkeypatch):
    yaml = pytest.importorskip("yaml")
    pytest.importorskip("rewardhub_entropy")  # the example's config names the entropy plugin
    root = adapter_root()
    monkeypatch.chdir(root)  # the snippet's paths are relative to the repository
    section = yaml.safe_load((root / "examples" / "verl_reward.yaml").read_text())["reward"]
    fn_config = section["custom_reward_function"]
    assert (fn_config["path"], fn_config["name"], section["reward_manager"]["name"]) == (
        "pkg://rewardhub.adapters.verl",
        "compute_score_batch",
        "batch",
    )
    fn = partial(_call_with_kwargs, getattr(adapter, fn_config["name"]), fn_config["reward_kwargs"])
    sources, responses, truths, infos = (list(col) for col in zip(*ITEMS, strict=True))
    scores = fn(data_sources=sources, solution_strs=responses, ground_truths=truths, extra_infos=infos)
    assert set(scores[0]) == {"score", "entropy", "repetition_penalty", "diversity_bonus", "rewardhub_missing"}


def adapter_root():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent

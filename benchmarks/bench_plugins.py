"""Throughput of the model-backed plugins through rewardhub's engine vs the bare model.

For each plugin (``toxicity`` with the profanity model and with transformers classifiers,
``semantic_redundancy`` with the packaged all-MiniLM-L6-v2, ``clip_similarity`` with a randomly
initialised CLIP), on real answers from ``../shared/realdata``, it times in the same run:

- **engine**: ``rewardhub.Scorer([reward]).score(samples)``, the reward's ``batch_size`` = B;
- **direct**: the plugin's model called on the same samples, B at a time, with no rewardhub
  machinery (the same loaded model object, so both do identical arithmetic);

and prints the engine's overhead (target: under 5%) two ways: the A/B difference of the two
timings, and the engine's own share within its runs (time outside the reward's ``score`` calls
over time inside them), which model-timing noise does not blur. Then, on a GRPO-like batch (prompts x
completions with a share of exact duplicates), it compares the engine scoring each distinct
sample once with the same engine when every sample is made distinct (the reward's ``inputs``
extended with ``id``, so nothing is shared and the work per sample is unchanged).

Timings alternate engine and direct runs and keep the best of several. On the CPU they read
the process's CPU time with one torch thread by default (``--clock cpu --threads 1``): the work
done, which other processes on a shared machine cannot inflate the way they inflate wall time.
On a GPU they read wall time (the results are copied back, so the device is synchronised).

It writes ``benchmarks/README_plugins.md`` from that one run (command, commit, mode, machine).
``--quick`` finishes in about two minutes on 2 CPU cores; ``--device cuda`` runs on a GPU with
every ``--dtypes`` x ``--batch-sizes`` combination.

    python benchmarks/bench_plugins.py --quick
    python benchmarks/bench_plugins.py --device cuda --batch-sizes 32,128,512 --dtypes fp16,bf16
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # every model here is local; never reach for a hub

from page import commit, machine_line, provenance
from plugin_cases import PLUGINS, REALDATA, SIZES, Case, build_cases, duplicate_share

import rewardhub
from rewardhub import Sample, Scorer

TARGET_OVERHEAD = 5.0
PAGE = Path(__file__).with_name("README_plugins.md")
#: What timings read: wall time, or this process's CPU time (``--clock``).
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter


# -- timing -----------------------------------------------------------------------------------


def best_times(runs: dict[str, Callable[[], Any]], repeats: int, budget_s: float = 1.0) -> dict[str, float]:
    """Best time of each callable over ``repeats`` runs (more for fast ones, up to about
    ``budget_s`` each), as ``timeit`` reports: noise from other processes only ever adds time.
    The callables alternate, so a slow phase of the machine hits all of them alike."""
    warm = {}
    for name, fn in runs.items():  # warm-up: loads the model, fills allocator caches
        start = clock()
        fn()
        warm[name] = clock() - start
    repeats = max(repeats, min(50, int(budget_s / max(max(warm.values()), 1e-6))))
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            start = clock()
            fn()
            times[name].append(clock() - start)
    return {k: min(v) for k, v in times.items()}


@contextlib.contextmanager
def no_dedup(reward: rewardhub.Reward) -> Iterator[None]:
    """Make every sample distinct to the engine: its identity then includes the unique ``id``."""
    reward.inputs = (*type(reward).inputs, "id")
    try:
        yield
    finally:
        del reward.inputs


# -- running ----------------------------------------------------------------------------------


def overhead_row(case: Case, repeats: int) -> dict[str, Any]:
    scorer = Scorer([case.reward])
    runs = {"engine": lambda: scorer.score(case.samples), "direct": lambda: case.direct(case.samples)}
    times = best_times(runs, repeats)
    n = len(case.samples)
    return {
        "case": case.label,
        "n": n,
        "engine_per_s": n / times["engine"],
        "direct_per_s": n / times["direct"],
        "overhead_pct": 100 * (times["engine"] - times["direct"]) / times["direct"],
        "bookkeeping_pct": bookkeeping_pct(scorer, case, repeats),
    }


def bookkeeping_pct(scorer: Scorer, case: Case, repeats: int) -> float:
    """The engine's own share, measured inside one run: time outside ``reward.score`` calls
    over time inside them (median over runs). Unlike the A/B figure, model noise cancels."""
    inside = [0.0]
    score = case.reward.score

    def timed(samples: Sequence[Sample]) -> Any:
        start = clock()
        try:
            return score(samples)
        finally:
            inside[0] += clock() - start

    case.reward.score = timed  # type: ignore[method-assign]
    try:
        shares = []
        for _ in range(repeats):
            inside[0], start = 0.0, clock()
            scorer.score(case.samples)
            shares.append(100 * (clock() - start - inside[0]) / inside[0])
    finally:
        del case.reward.score
    return statistics.median(shares)


def dedup_row(case: Case, repeats: int) -> dict[str, Any]:
    assert case.grpo is not None
    scorer = Scorer([case.reward])

    def distinct() -> Any:
        with no_dedup(case.reward):
            return scorer.score(case.grpo)

    times = best_times({"dedup": lambda: scorer.score(case.grpo), "distinct": distinct}, repeats)
    return {
        "case": case.label,
        "n": len(case.grpo),
        "duplicates_pct": 100 * duplicate_share(case.grpo, case.reward.inputs),
        "dedup_s": times["dedup"],
        "distinct_s": times["distinct"],
        "speedup": times["distinct"] / times["dedup"],
    }


OVERHEAD_COLUMNS = {"case": "case", "n": "samples", "engine_per_s": "engine/s", "direct_per_s": "direct/s",
                    "overhead_pct": "A/B overhead %", "bookkeeping_pct": "engine share %"}
DEDUP_COLUMNS = {"case": "case", "n": "samples", "duplicates_pct": "dup %", "dedup_s": "dedup s",
                 "distinct_s": "all-distinct s", "speedup": "speedup x"}


def print_table(title: str, rows: list[dict[str, Any]], columns: dict[str, str]) -> None:
    print(f"\n{title}")
    cells = [[_fmt(r[k]) for k in columns] for r in rows]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(columns.values())]
    print("  ".join(h.ljust(w) for h, w in zip(columns.values(), widths)))
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths)))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value < 0 or abs(value) < 10:
            return f"{value:+.1f}" if value < 0 else f"{value:.2f}"
        return f"{value:.0f}"
    return str(value)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small models and batches: about 2 minutes on 2 CPU cores")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1... (default: cpu)")
    parser.add_argument("--batch-sizes", default=None, help="comma-separated (default: 32 on CPU, 32,128,512 on CUDA)")
    parser.add_argument("--dtypes", default=None, help="fp32,fp16,bf16 (default: fp32 on CPU, fp16,bf16 on CUDA)")
    parser.add_argument("--plugins", default=",".join(PLUGINS), help=f"subset of {','.join(PLUGINS)}")
    parser.add_argument("--dup-share", type=float, default=0.4, help="share of duplicate completions per GRPO group")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs, the best kept (default 3)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), help="cpu or wall time (default: cpu on CPU, wall on CUDA)")
    parser.add_argument("--threads", type=int, help="torch threads (default: 1 with --clock cpu, else torch's own)")
    parser.add_argument("--json", type=Path, help="also write the measured rows here")
    parser.add_argument("--page", type=Path, default=PAGE, help="where to write the page")
    args = parser.parse_args(argv)
    gpu = args.device.startswith("cuda")
    args.batch_sizes = [int(b) for b in (args.batch_sizes or ("32,128,512" if gpu else "32")).split(",")]
    args.dtypes = (args.dtypes or ("fp16,bf16" if gpu else "fp32")).split(",")
    args.plugins = [p.strip() for p in args.plugins.split(",") if p.strip()]
    args.repeats = args.repeats or SIZES["quick" if args.quick else "full"]["repeats"]
    args.clock = args.clock or ("wall" if gpu else "cpu")
    if args.threads is None and args.clock == "cpu":
        args.threads = 1
    return args


def main(argv: Sequence[str] | None = None) -> int:
    global clock
    args = parse_args(argv)
    commit()  # the code that runs: read before the run, written on the page after it
    clock = CLOCKS[args.clock]
    if args.threads == 1:  # tokenizers' own thread pool would make CPU time count spinning threads
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not (REALDATA / "alpaca_eval").is_dir():
        print(f"skipped: real data not found at {REALDATA}")
        return 0
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            print("skipped: --device cuda but no CUDA device is visible")
            return 0
        print(f"device: {torch.cuda.get_device_name(args.device)}")
    else:
        print(f"device: cpu, {os.cpu_count()} cores visible, torch threads: {_torch_threads(args.threads)}")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rewardhub-bench-") as tmp:
        cases = build_cases(args, Path(tmp))
        overhead = [overhead_row(c, args.repeats) for c in cases]
        dedup = [dedup_row(c, args.repeats) for c in cases if c.grpo is not None]
    title = f"Engine vs direct model, same batch size (target: overhead < {TARGET_OVERHEAD:g}%)"
    print_table(title, overhead, OVERHEAD_COLUMNS)
    print_table("Scoring duplicates once on a GRPO-like batch", dedup, DEDUP_COLUMNS)
    for c in cases:
        if c.note:
            print(f"note: {c.label}: {c.note}")
    total = time.perf_counter() - start
    print(f"\n{args.clock} clock; total wall time {total:.0f} s")
    write_page(args, argv, overhead, dedup, [f"{c.label}: {c.note}" for c in cases if c.note], total)
    if args.json:
        rows = {"overhead": overhead, "dedup": dedup, "args": vars(args)}
        args.json.write_text(json.dumps(rows, default=str, indent=2))
    return 0


def markdown_table(rows: list[dict[str, Any]], columns: dict[str, str]) -> list[str]:
    lines = ["| " + " | ".join(columns.values()) + " |", "|" + "---|" * len(columns)]
    return lines + ["| " + " | ".join(_fmt(r[k]) for k in columns) + " |" for r in rows]


def write_page(args: argparse.Namespace, argv: Sequence[str] | None, overhead: list[dict[str, Any]],
               dedup: list[dict[str, Any]], notes: list[str], total: float) -> None:  # fmt: skip
    size = "quick" if args.quick else "full"
    clock_name = "CPU time of this process" if args.clock == "cpu" else "wall time"
    mode = (
        f"`{'--quick' if args.quick else 'full'}` sizes, device {args.device}, batch sizes "
        f"{','.join(map(str, args.batch_sizes))}, dtypes {','.join(args.dtypes)}, "
        f"best of at least {args.repeats} runs, {clock_name}, torch threads {args.threads or 'default'}; "
        f"{total:.0f} s wall in all"
    )
    neural = [r for r in overhead if "profanity" not in r["case"]]
    worst = max((r["bookkeeping_pct"] for r in neural), default=None)
    out = [
        "# Model-plugin throughput: engine vs bare model, and scoring duplicates once",
        "",
        *provenance("bench_plugins.py", mode, None if argv is None else list(argv)),
        "Each plugin on real text (alpaca_eval answers from `../shared/realdata`; Texygen image captions for "
        "CLIP), through `rewardhub.Scorer` and through the same loaded model called directly with the same batch "
        f"size, alternating, best of the runs. Sizes: {SIZES[size]}. Cases: `toxicity` with the profanity SVM "
        "and with a tiny BERT classifier (full runs add all-MiniLM-L6-v2's encoder with a fresh 2-label head), "
        "`semantic_redundancy` with the packaged all-MiniLM-L6-v2, `clip_similarity` with a randomly "
        "initialised CLIP (small in `--quick`, ViT-B-32 in full runs).",
        "",
        "- **A/B overhead**: engine time over direct time, minus 1. At these sizes it swings with timing noise "
        "in both directions.",
        "- **Engine share**: within the engine's own runs, time outside the reward's `score` calls over time "
        "inside them (median over runs): both parts come from the same run, so model-timing noise cancels.",
        "- **Dedup**: a GRPO-like batch (prompts x completions, a share of exact repeats) scored by the engine "
        "(each distinct sample once) against the same engine with the reward's `inputs` extended by the unique "
        "`id` (nothing shared, the same work per sample). `semantic_redundancy` is group-aware and not deduped.",
        "",
        f"## Engine vs direct model, same batch size (target: engine overhead < {TARGET_OVERHEAD:g}%)",
        "",
        *markdown_table(overhead, OVERHEAD_COLUMNS),
        "",
        "## Scoring duplicates once on a GRPO-like batch",
        "",
        *markdown_table(dedup, DEDUP_COLUMNS),
        "",
    ]
    if worst is not None:
        out.append(f"Largest engine share over the neural models in this run: {worst:.2f}%.")
    for row in dedup:
        ideal = 1 / (1 - row["duplicates_pct"] / 100)
        out.append(f"- {row['case']}: {row['speedup']:.2f}x against the ideal {ideal:.2f}x for its duplicates.")
    out += [f"- note: {note}" for note in notes]
    out += ["", machine_line()]
    args.page.write_text("\n".join(out) + "\n")
    print(f"wrote {args.page}")


def _torch_threads(threads: int | None) -> int:
    import torch

    if threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


if __name__ == "__main__":
    sys.exit(main())

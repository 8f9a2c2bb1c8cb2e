"""Peak memory of ``rewardhub eval --metrics builtin --rewards none``, before and after; writes
benchmarks/README_metrics_memory.md.

    python benchmarks/bench_metrics_memory.py          # about 15 minutes on 2 cores

Every run is a fresh process; its peak RSS and CPU seconds come from ``os.wait4``. The input is
the 5,635 alpaca_eval answers (all 7 files), given 1, 2 and 4 times on the command line (the
same rows again: the distinct n-grams stay the same, so a state that is flat in rows stays
flat). *Before* is commit b3cc6bc (main) from a scratch worktree, in the same invocation.
Then the builtin metrics split into groups, to show where the rest of the peak comes from.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_runs import BEFORE, DATA, ROOT, Run, header, run_eval, scratch_worktree

PAGE = ROOT / "benchmarks" / "README_metrics_memory.md"
GROUPS = {
    "the n-gram metrics (distinct, distinct_avg, repetition, ngram_entropy, self_bleu, ead) and length": (
        "distinct,distinct_avg,repetition,ngram_entropy,self_bleu,ead,length"
    ),
    "compression_ratio": "compression_ratio",
    "ngram_diversity_score": "ngram_diversity_score",
    "self_repetition_score": "self_repetition_score",
    "none (start-up, reading, the summary)": "none",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help="the realdata folder")
    parser.add_argument("--times", default="1,2,4", help="how many copies of the input")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--no-groups", action="store_true", help="only the builtin runs, not one per group")
    args = parser.parse_args()
    files = [str(p) for p in sorted((args.data / "alpaca_eval").glob("*.jsonl"))]
    if not files:
        raise SystemExit(f"needs {args.data / 'alpaca_eval'}")
    times = [int(t) for t in args.times.split(",")]
    start_load = os.getloadavg()[0]
    runs: dict[tuple[str, int], Run] = {}
    groups: dict[tuple[str, str, int], Run] = {}
    with scratch_worktree(BEFORE) as before:
        trees = {"before": before, "after": ROOT}
        for t in times:
            for side, tree in trees.items():
                runs[side, t] = run_eval(tree, [*files * t, "--metrics", "builtin", "--rewards", "none"])
        for label, metrics in {} if args.no_groups else GROUPS.items():
            for side, tree in trees.items():
                for t in (times[0], times[-1]):
                    groups[side, label, t] = run_eval(tree, [*files * t, "--metrics", metrics, "--rewards", "none"])
    rows = json.loads(runs["after", times[0]].stdout)["n"]
    after_values = json.loads(runs["after", times[0]].stdout)["metrics"]
    before_values = json.loads(runs["before", times[0]].stdout)["metrics"]
    common = before_values.keys() & after_values.keys()
    differ = {
        k: abs(after_values[k] - before_values[k]) / abs(before_values[k])
        for k in common
        if after_values[k] != before_values[k]
    }
    only = sorted(after_values.keys() ^ before_values.keys())
    if differ:
        same = "all but " + ", ".join(f"`{k}` (relative difference {d:.1e})" for k, d in sorted(differ.items()))
    else:
        same = "all of them"
    if only:  # e.g. a metric that refuses CJK text now (UntokenizableText) gives no value
        same += f" (keys in one tree only: {', '.join(f'`{k}`' for k in only)})"
    lines = [
        header("Metrics memory: `eval --metrics builtin` over the alpaca_eval answers", sys.argv),
        f"Machine: {os.cpu_count()} cores, load average (1 min) {start_load:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end. Peak RSS and CPU seconds (user + system) of each "
        "`rewardhub eval` process, from `os.wait4`; *before* is commit "
        f"`{BEFORE}` (main) from a scratch worktree, run by this script in the same invocation.",
        "",
        f"## `rewardhub eval <the 7 files> --metrics builtin --rewards none`: {rows:,} rows, given 1, 2 and 4 times",
        "",
        "| input | rows | before: peak RSS | before: CPU | after: peak RSS | after: CPU |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for t in times:
        b, a = runs["before", t], runs["after", t]
        lines.append(
            f"| the 7 files x{t} | {rows * t:,} | {b.peak_mib:,.0f} MiB | {b.cpu:.1f} s "
            f"| **{a.peak_mib:,.0f} MiB** | {a.cpu:.1f} s |"
        )
    lines += ["", f"Values of the x1 run that are the same bits in both trees: {same}.", ""]
    if not args.no_groups:
        lines += [
            f"## Where the peak comes from: one group of the builtin metrics per run, x{times[0]} and x{times[-1]}",
            "",
            f"| metrics | before x{times[0]} | before x{times[-1]} | after x{times[0]} | after x{times[-1]} "
            f"| after x{times[0]}: CPU |",
            "|---|---:|---:|---:|---:|---:|",
        ]
    for label in {} if args.no_groups else GROUPS:
        peaks = [groups[side, label, t].peak_mib for side in ("before", "after") for t in (times[0], times[-1])]
        cpu = groups["after", label, times[0]].cpu
        lines.append(f"| {label} | " + " | ".join(f"{p:,.0f} MiB" for p in peaks) + f" | {cpu:.1f} s |")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        PAGE.write_text(text)


if __name__ == "__main__":
    main()

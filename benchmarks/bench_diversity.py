"""Self-BLEU as ``eval`` runs it, against fast-bleu and NLTK, before and after; writes the top
of benchmarks/README_diversity.md (the section of bench_diversity_measures.py below it is kept).

    python benchmarks/bench_diversity.py            # full: about 15 minutes on 2 cores
    python benchmarks/bench_diversity.py --quick    # subsets, and no all-answers fast-bleu run

1. The CLI end to end, ``rewardhub eval FILE --metrics self_bleu --rewards none``, on the 2,000
   longest alpaca_eval answers (by characters, all 7 files), in fresh processes: this tree and
   the ``before`` commit (a scratch worktree of main, same invocation), alternating, best of
   ``--repeat``. Against fast-bleu (pip, C++) on the same tokens (rewardhub's ``auto``) and NLTK
   ``sentence_bleu`` (the reference) on a random sample of hypotheses, extrapolated to all of
   them (labelled). Exactness: rewardhub's per-hypothesis scores (``self_bleu_scores``, the
   arithmetic of the state ``eval`` folds) against NLTK on that sample, and the CLI's mean
   against the mean of those scores.
2. ``self_bleu_scores`` in-process (the same two-pass arithmetic over one chunk) on texygen's
   ``mle.txt`` and all 5,635 answers, against fast-bleu and NLTK (sampled, extrapolated).
3. Every n-gram metric's ``compute`` over all 5,635 answers.

Needs the real data in ``../shared/realdata`` and ``pip install fast-bleu nltk`` (the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_runs import BEFORE, DATA, ROOT, Run, header, run_eval, scratch_worktree

from rewardhub.metrics import Distinct, DistinctAverage, NgramEntropy, Repetition, SelfBleu, hashed, self_bleu_scores
from rewardhub.text import get_tokenizer

PAGE = ROOT / "benchmarks" / "README_diversity.md"
KEPT_FROM = "### The measures papers report"  # bench_diversity_measures.py's section, kept as is
ORDERS = (2, 3, 4, 5)


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """``(result, wall seconds, CPU seconds of this process, every thread)``."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    return result, wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def nltk_sample(token_lists: list[list[str]], indices: Sequence[int], orders: Sequence[int]) -> dict[int, np.ndarray]:
    """NLTK sentence_bleu for the hypotheses ``indices`` against all the other responses."""
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    weights = [tuple(1.0 / n for _ in range(n)) for n in orders]
    method1 = SmoothingFunction().method1
    rows = [
        sentence_bleu(token_lists[:i] + token_lists[i + 1 :], token_lists[i], weights, smoothing_function=method1)
        for i in indices
    ]
    rows = [row if isinstance(row, list) else [row] for row in rows]
    return {n: np.array([row[j] for row in rows]) for j, n in enumerate(orders)}


def fast_bleu_scores(token_lists: list[list[str]], orders: Sequence[int]) -> dict[int, np.ndarray]:
    from fast_bleu import SelfBLEU

    scores = SelfBLEU(token_lists, {n: tuple(1.0 / n for _ in range(n)) for n in orders}).get_score()
    return {n: np.array(scores[n]) for n in orders}


def alpaca_rows(data: Path) -> list[dict]:
    return [
        json.loads(line)
        for path in sorted((data / "alpaca_eval").glob("*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]


def cli_section(args: argparse.Namespace, lines: list[str]) -> None:
    rows = alpaca_rows(args.data)
    count = 400 if args.quick else 2000
    longest = sorted(range(len(rows)), key=lambda i: -len(rows[i]["output"]))[:count]
    chosen = [rows[i] for i in sorted(longest)]  # the longest answers, in file order
    work = Path(tempfile.mkdtemp(prefix="rh-bench-diversity-"))
    path = work / "long.jsonl"
    path.write_text(
        "".join(json.dumps({"instruction": r["instruction"], "output": r["output"]}) + "\n" for r in chosen)
    )
    tokenize = get_tokenizer("auto")
    tokens = [tokenize(r["output"]) for r in chosen]
    n_tokens = sum(map(len, tokens))
    cli = [str(path), "--metrics", "self_bleu", "--rewards", "none"]
    runs: dict[str, list[Run]] = {"before": [], "after": []}
    with scratch_worktree(BEFORE) as before:
        run_eval(before, cli), run_eval(ROOT, cli)  # warm the file cache and the bytecode
        for _ in range(args.repeat):
            runs["before"].append(run_eval(before, cli))
            runs["after"].append(run_eval(ROOT, cli))
    best = {side: min(r, key=lambda run: run.wall) for side, r in runs.items()}
    means = {side: json.loads(best[side].stdout)["metrics"]["self_bleu_4"] for side in best}
    fast, fast_wall, fast_cpu = timed(lambda: fast_bleu_scores(tokens, (4,)))
    ours = self_bleu_scores(tokens, 4)[4]
    sample = sorted(random.Random(0).sample(range(count), 3 if args.quick else 5))
    reference, nltk_wall, _ = timed(lambda: nltk_sample(tokens, sample, (4,)))
    nltk_all = nltk_wall * count / len(sample)
    diff_ours = float(np.max(np.abs(ours[sample] - reference[4])))
    diff_fast = float(np.max(np.abs(fast[4][sample] - reference[4])))
    after, before_run = best["after"], best["before"]
    lines += [
        f"## 1. `rewardhub eval` end to end: self-BLEU-4 on the {count:,} longest alpaca_eval answers",
        "",
        f"{count:,} responses, {n_tokens:,} tokens (`auto`), {sum(len(r['output']) for r in chosen):,} characters. "
        f"`rewardhub eval long.jsonl --metrics self_bleu --rewards none --json --quiet` in a fresh process "
        f"(start-up, reading, tokenizing and both of self-BLEU's passes included), best wall time of "
        f"{args.repeat} alternating runs per tree; *before* is commit `{BEFORE}` (main) from a scratch "
        "worktree, in the same invocation. fast-bleu and NLTK get rewardhub's tokens and time only "
        "their scoring (no start-up, no tokenizing).",
        "",
        "| tool | wall | CPU (user + system) | fast-bleu wall / this wall | self_bleu_4 |",
        "|---|---:|---:|---:|---|",
        f"| rewardhub CLI, before (`{BEFORE}`) | {before_run.wall:.2f} s | {before_run.cpu:.2f} s "
        f"| {fast_wall / before_run.wall:.1f}x | {means['before']!r} |",
        f"| **rewardhub CLI, this tree** | **{after.wall:.2f} s** | {after.cpu:.2f} s "
        f"| **{fast_wall / after.wall:.1f}x** | {means['after']!r} |",
        f"| fast-bleu 0.0.90 (`SelfBLEU(...).get_score()`, order 4) | {fast_wall:.1f} s | {fast_cpu:.1f} s | 1x "
        f"| {float(np.mean(fast[4]))!r} |",
        f"| NLTK `sentence_bleu`, **extrapolated** from {len(sample)} hypotheses ({nltk_wall:.1f} s) "
        f"| {nltk_all:,.0f} s | - | {fast_wall / nltk_all:.3f}x | - |",
        "",
        f"All runs, wall / CPU seconds: before {', '.join(f'{r.wall:.2f}/{r.cpu:.2f}' for r in runs['before'])}; "
        f"this tree {', '.join(f'{r.wall:.2f}/{r.cpu:.2f}' for r in runs['after'])}. "
        f"Speed-up of the CLI over before: {before_run.wall / after.wall:.1f}x wall, "
        f"{before_run.cpu / after.cpu:.1f}x CPU.",
        "",
        f"Exactness on the {len(sample)} NLTK hypotheses: max |rewardhub - NLTK| = {diff_ours:.1e} "
        f"(fast-bleu: {diff_fast:.1e}). The CLI's mean equals the mean of those per-hypothesis scores "
        f"bit for bit: {means['after'] == float(np.mean(ours))} (before: {means['before'] == float(np.mean(ours))}).",
        "",
    ]


def function_section(args: argparse.Namespace, lines: list[str]) -> list[list[str]]:
    texygen = (args.data / "texygen" / "mle.txt").read_text().splitlines()
    answers = [r["output"] for r in alpaca_rows(args.data)]
    if args.quick:
        texygen, answers = texygen[:2000], answers[:400]
    tokenize = get_tokenizer("auto")
    alpaca_tokens = [tokenize(a) for a in answers]
    lines += [
        "## 2. `self_bleu_scores` in-process, orders 2..5 (every hypothesis, exact)",
        "",
        "The function runs the state's two passes over the whole set as one chunk (what `compare` "
        "and `compute` use); no start-up, no tokenizing. NLTK: a random sample of hypotheses, "
        "timed and **extrapolated** to all of them.",
        "",
        "| data | responses / tokens | rewardhub | fast-bleu | NLTK (extrapolated) "
        "| max abs diff to NLTK: rewardhub / fast-bleu |",
        "|---|---|---:|---:|---:|---|",
    ]
    for label, token_lists, nltk_count, with_fast in (
        ("texygen `mle.txt`", [line.split() for line in texygen], 20 if args.quick else 100, True),
        ("alpaca_eval answers, all 7 files", alpaca_tokens, 3 if args.quick else 5, True),
    ):
        n_docs, n_tokens = len(token_lists), sum(map(len, token_lists))
        ours, t_ours, _ = timed(lambda t=token_lists: self_bleu_scores(t, ORDERS))
        sample = sorted(random.Random(0).sample(range(n_docs), min(nltk_count, n_docs)))
        reference, t_nltk, _ = timed(lambda t=token_lists, s=sample: nltk_sample(t, s, ORDERS))
        t_nltk_all = t_nltk * n_docs / len(sample)
        diff_ours = max(float(np.max(np.abs(ours[n][sample] - reference[n]))) for n in ORDERS)
        fast_cell, diff_fast = "-", "-"
        if with_fast:
            fast, t_fast, _ = timed(lambda t=token_lists: fast_bleu_scores(t, ORDERS))
            fast_cell = f"{t_fast:.2f} s ({t_fast / t_ours:.0f}x)"
            diff_fast = f"{max(float(np.max(np.abs(fast[n][sample] - reference[n]))) for n in ORDERS):.1e}"
        lines.append(
            f"| {label} | {n_docs:,} / {n_tokens:,} | **{t_ours:.3f} s** | {fast_cell} "
            f"| {t_nltk_all:,.0f} s ({t_nltk_all / t_ours:,.0f}x) | {diff_ours:.1e} / {diff_fast} |"
        )
    lines.append("")
    return alpaca_tokens


def metrics_section(alpaca_tokens: list[list[str]], lines: list[str]) -> None:
    joined = [" ".join(t) for t in alpaca_tokens]  # whitespace tokens: the metrics' own cost
    lines += [
        f"## 3. Every n-gram metric's `compute` over {len(joined):,} answers, {sum(map(len, alpaca_tokens)):,} tokens",
        "",
        'The answers\' `auto` tokens joined by spaces, metrics with `tokenize="whitespace"`, so the '
        "figures are the metrics' own cost (hashing, counting, both passes of self-BLEU), each with "
        "empty caches (in a run the metrics of one tokenizer share the hashing and the tables).",
        "",
        "| metric (keys) | wall | CPU |",
        "|---|---:|---:|",
    ]
    for metric_cls in (Distinct, DistinctAverage, Repetition, NgramEntropy, SelfBleu):
        hashed.TEXT_HASHES.clear()  # each metric pays its own hashing (in a run they share it)
        hashed.forget_chunks()
        metric = metric_cls(tokenize="whitespace")
        values, wall, cpu = timed(lambda m=metric: m.compute(joined))
        lines.append(f"| `{metric.name}` ({', '.join(values)}) | {wall:.2f} s | {cpu:.2f} s |")
    lines.append("")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="400 long answers, 2,000 texygen lines, 400 answers")
    parser.add_argument("--data", type=Path, default=DATA, help="the realdata folder")
    parser.add_argument("--repeat", type=int, default=3, help="CLI runs per tree")
    parser.add_argument("--no-write", action="store_true", help="print the section, leave the page alone")
    parser.add_argument("--cli-only", action="store_true", help="only section 1 (sections 2 and 3 not measured)")
    args = parser.parse_args()
    lines: list[str] = []
    start_load = os.getloadavg()[0]
    cli_section(args, lines)
    if not args.cli_only:
        tokens = function_section(args, lines)
        metrics_section(tokens, lines)
    load = f"{start_load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    top = [
        header("Diversity metrics: self-BLEU as `eval` runs it, and the n-gram metrics", sys.argv),
        f"Machine: {os.cpu_count()} cores, load average (1 min) {load}. On a shared machine wall "
        "times of all tools inflate together; CPU seconds are the steadier figure.",
        "",
    ]
    text = "\n".join(top + lines)
    print(text)
    if not args.no_write and not args.quick:
        kept = PAGE.read_text().split(KEPT_FROM, 1)
        tail = KEPT_FROM + kept[1] if len(kept) == 2 else ""
        note = "\n_Only section 1 was measured in this run (`--cli-only`)._\n" if args.cli_only else ""
        PAGE.write_text(text + "\n" + note + "\n" + tail)


if __name__ == "__main__":
    main()

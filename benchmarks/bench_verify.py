"""Throughput of the verifiable rewards: ``math_accuracy`` and ``code_tests``, with 1 worker
process (like for like with math-verify called directly in one process) and with ``--workers``;
writes ``benchmarks/README_verify.md`` in one run (command, commit and machine on the page).

- **math_accuracy**: generated (response, reference) pairs in varied formats (integers,
  fractions and decimals, LaTeX ``\\frac``, ``\\boxed{}``, intervals, sets; half right, half
  wrong), scored by the reward with 1 and ``workers`` processes, against math-verify called directly
  in this process (one core, its own ``signal.alarm`` timeouts) on the same pairs. Workers are
  started before the clock runs (a trainer starts them once); every sample has a fresh
  reference string, so the workers' per-reference cache does not flatter the figure.
- **code_tests**: small Python solutions (right, half right, wrong) against 3-test references,
  each sample one sandboxed process, ``workers`` at a time; the isolation the machine gave is
  printed with the figure.

Wall time, best of ``--repeats``. ``--quick`` runs in well under a minute on 2 cores.

    python benchmarks/bench_verify.py --quick
    python benchmarks/bench_verify.py --math-samples 4000 --code-samples 200 --workers 4
"""

from __future__ import annotations

import argparse
import logging
import random
import time
from pathlib import Path

from page import machine_line, provenance

from rewardhub import Sample

PAGE = Path(__file__).with_name("README_verify.md")


def math_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    templates = ["The answer is {a}.", "so $\\boxed{{{a}}}$", "Therefore, the final answer is ${a}$.", "{a}"]
    pairs = []
    while len(pairs) < n:
        k = len(pairs)  # unique references: no cache hits
        p, q = rng.randint(1, 99) + k, rng.choice([2, 4, 5, 8])
        a, b = sorted(rng.sample(range(-50, 50), 2))
        options = [
            (str(k), str(k if rng.random() < 0.5 else k + 1)),
            (f"\\frac{{{p}}}{{{q}}}", f"{p / q:g}" if rng.random() < 0.5 else f"{p / q + 1:g}"),
            (f"$[{a}, {b + k})$", f"[{a},{b + k})" if rng.random() < 0.5 else f"[{a},{b + k}]"),
            (f"$\\{{{a}, {b}, {k + 100}\\}}$", f"\\{{{k + 100}, {a}, {b}\\}}"),
        ]
        reference, answer = rng.choice(options)
        pairs.append((rng.choice(templates).format(a=answer), reference))
    return pairs


CODE = {
    "right": "```python\ndef add(a, b):\n    return a + b\n```",
    "half": "```python\ndef add(a, b):\n    return a + b if a >= 0 else 0\n```",
    "wrong": "```python\ndef add(a, b):\n    return a - b\n```",
}
TESTS = "assert add(1, 2) == 3\nassert add(-1, -1) == -2\n\ndef test_zero():\n    assert add(0, 0) == 0\n"


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_math(n: int, workers: int, repeats: int) -> list[list[str]]:
    """``math_accuracy`` with 1 worker process and with ``workers``, and math-verify called
    directly in this one process: the 1-worker row is the like-for-like comparison."""
    import math_verify
    from rewardhub_verify import MathAccuracy

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    pairs = math_pairs(n)
    samples = [Sample(r, reference=ref) for r, ref in pairs]
    rows = []
    for count in sorted({1, workers}):
        with MathAccuracy(workers=count) as reward:
            reward.score([Sample("1", reference="1")] * count)  # start the workers
            got = []
            seconds = best_of(repeats, lambda got=got, reward=reward: got.append(reward.score(samples)))
        right = sum(s.value == 1.0 for s in got[-1])
        rows.append(["`math_accuracy`", f"{count} worker process{'es' if count > 1 else ''}", count,
                     f"{n} ({right} right)", seconds, n])  # fmt: skip
        print(f"math_accuracy {count} workers: {seconds:.2f} s = {n / seconds:,.0f} samples/s", flush=True)

    def direct() -> None:
        for response, reference in pairs:
            math_verify.verify(math_verify.parse(reference), math_verify.parse(response))

    seconds = best_of(repeats, direct)
    rows.append(["math-verify called directly", "this process, no rewardhub", 1, str(n), seconds, n])
    print(f"math-verify direct, 1 process: {seconds:.2f} s = {n / seconds:,.0f} samples/s", flush=True)
    return [_cells(*row) for row in rows]


def bench_code(n: int, workers: int, repeats: int) -> tuple[list[list[str]], str]:
    from rewardhub_verify import CodeTests

    kinds = list(CODE)
    samples = [Sample(CODE[kinds[i % 3]], reference=TESTS) for i in range(n)]
    rows = []
    for count in sorted({1, workers}):
        reward = CodeTests(workers=count)
        got = []
        seconds = best_of(repeats, lambda got=got, reward=reward: got.append(reward.score(samples)))
        mean = sum(s.value for s in got[-1]) / n
        setting = f"{count} sandbox{'es' if count > 1 else ''} at a time"
        rows.append(_cells("`code_tests`", setting, count, f"{n} (mean value {mean:.2f})", seconds, n))
        print(f"code_tests {count} workers: {seconds:.2f} s = {n / seconds:,.1f} samples/s", flush=True)
    isolation = ", ".join(f"{k}: {v}" for k, v in reward.sandbox.isolation.items())
    return rows, isolation


def _cells(reward: str, setting: str, processes: int, samples: str, seconds: float, n: int) -> list[str]:
    rate = n / seconds
    return [reward, setting, str(processes), samples, f"{seconds:.2f} s", f"{rate:,.1f}", f"{rate / processes:,.1f}"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--math-samples", type=int, default=2000)
    parser.add_argument("--code-samples", type=int, default=120)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="400 math and 40 code samples, 2 repeats")
    parser.add_argument("--page", type=Path, default=PAGE, help="where to write the page")
    args = parser.parse_args(argv)
    if args.quick:
        args.math_samples, args.code_samples, args.repeats = 400, 40, 2
    mode = "`--quick`: " if args.quick else ""
    mode += f"{args.math_samples} math pairs, {args.code_samples} code samples, best of {args.repeats}"
    out = ["# Verifiable rewards: throughput", "", *provenance("bench_verify.py", mode, argv)]
    rows = bench_math(args.math_samples, args.workers, args.repeats)
    code_rows, isolation = bench_code(args.code_samples, args.workers, args.repeats)
    rows += code_rows
    out += [
        "Wall time, best of the repeats. Like for like: each reward runs with 1 worker process (the same "
        "number of processes as math-verify called directly) and with "
        f"{args.workers}; *per process* divides the rate by the worker processes, so rows with different "
        "process counts compare in that column.",
        "",
        "| reward | setting | worker processes | samples | time | samples/s | samples/s per process |",
        "|---|---|---:|---|---:|---:|---:|",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
        "`math_accuracy`'s workers are started before the clock (a trainer starts them once); every pair has "
        "a fresh reference, so the workers' per-reference cache does not flatter the figure. `code_tests` "
        f"starts one sandboxed Python per sample; the isolation this machine gave: {isolation}.",
        "",
        machine_line(),
    ]
    args.page.write_text("\n".join(out) + "\n")
    print(f"wrote {args.page}")


if __name__ == "__main__":
    main()

"""What the code sandbox's isolation costs per sample, and writes ``benchmarks/README_sandbox.md``.

The same small samples (a right, a half right and a wrong ``add`` against 3 tests) are scored
by ``code_tests`` with the sandbox in each mode this machine offers: with namespaces (an
unprivileged uid, a private read-only view with a tmpfs, network/PID/IPC namespaces, the
supervisor's nonce channel) and without them. Per mode: milliseconds per sample one at a
time (``workers=1``: the latency a sample pays) and samples per second with ``--workers``.
With ``--baseline TREE`` (a checkout of an earlier commit, e.g. ``git worktree add
/tmp/main main``), the same measurement runs again with that tree's plugin, in a subprocess,
for a before/after on the same machine in the same run. Wall time, best of ``--repeats``.

    python benchmarks/bench_sandbox.py --baseline /tmp/main
    python benchmarks/bench_sandbox.py --samples 60 --no-write
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

CODE = {
    "right": "```python\ndef add(a, b):\n    return a + b\n```",
    "half": "```python\ndef add(a, b):\n    return a + b if a >= 0 else 0\n```",
    "wrong": "```python\ndef add(a, b):\n    return a - b\n```",
}
TESTS = "assert add(1, 2) == 3\nassert add(-1, -1) == -2\n\ndef test_zero():\n    assert add(0, 0) == 0\n"
PAGE = Path(__file__).with_name("README_sandbox.md")


def commit(tree: Path) -> str:
    found = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(tree), "status", "--porcelain"], capture_output=True, text=True)
    changed = [line for line in dirty.stdout.splitlines() if not line.endswith(PAGE.name)]  # the page itself
    return (found.stdout.strip() or "unknown") + (" (uncommitted changes)" if changed else "")


def measure(samples: int, workers: int, repeats: int) -> list[dict]:
    """Figures of every mode this machine offers, with the plugin this interpreter imports."""
    from rewardhub_verify import CodeTests
    from rewardhub_verify.code.sandbox import LocalSandbox

    from rewardhub import Sample

    kinds = list(CODE)
    batch = [Sample(CODE[kinds[i % 3]], reference=TESTS) for i in range(samples)]
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probe = LocalSandbox()
    probe_ms = (time.perf_counter() - start) * 1000
    modes = [True, False] if probe.use_namespaces else [False]
    figures = []
    for namespaces in modes:
        row: dict = {"namespaces": namespaces}
        for key, n_workers in (("one", 1), ("many", workers)):
            reward = CodeTests(workers=n_workers)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reward._sandbox = LocalSandbox(reward.limits, namespaces=namespaces)
            best = float("inf")
            for _ in range(repeats):
                begin = time.perf_counter()
                scores = reward.score(batch)
                best = min(best, time.perf_counter() - begin)
            assert [s.value for s in scores[:3]] == [1.0, 2 / 3, 1 / 3], [s.info for s in scores[:3]]
            row[key] = best
        row["isolation"] = reward.sandbox.isolation
        row["probe_ms"] = probe_ms
        figures.append(row)
    return figures


def baseline(tree: Path, args: argparse.Namespace) -> list[dict]:
    paths = [str(tree)] + [str(p) for p in sorted((tree / "plugins").iterdir()) if p.is_dir()]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    command = [sys.executable, __file__, "--measure-only", "--samples", str(args.samples)]
    command += ["--workers", str(args.workers), "--repeats", str(args.repeats)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"baseline {tree} failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.splitlines()[-1])


def table(label: str, figures: list[dict], samples: int, workers: int) -> list[str]:
    lines = []
    for row in figures:
        mode = "namespaces" if row["namespaces"] else "no namespaces"
        one, many = row["one"] / samples * 1000, samples / row["many"]
        lines.append(f"| {label} | {mode} | {one:.0f} ms | {many:.1f} | {row['probe_ms']:.0f} ms |")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--baseline", type=Path, help="a checkout to measure the same way, for comparison")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave the page alone")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    figures = measure(args.samples, args.workers, args.repeats)
    if args.measure_only:
        print(json.dumps(figures))
        return
    here = Path(__file__).resolve().parents[1]
    rows = table(f"this tree ({commit(here)})", figures, args.samples, args.workers)
    if args.baseline:
        rows += table(f"baseline ({commit(args.baseline)})", baseline(args.baseline, args), args.samples, args.workers)
    load = os.getloadavg()[0]
    command = " ".join(["python benchmarks/bench_sandbox.py", *(argv if argv is not None else sys.argv[1:])])
    isolations = "\n".join(
        f"- {'with' if row['namespaces'] else 'without'} namespaces: `{row['isolation']}`" for row in figures
    )
    page = f"""# Code sandbox: the cost of isolation per sample

`{command}`

Commit {commit(here)}; {args.samples} samples (3 tests each), best of {args.repeats}, on
{os.cpu_count()} cores at load average {load:.1f} (wall time: a quieter machine gives lower
figures; compare rows of one run).

| code | sandbox | per sample, one at a time | samples/s, {args.workers} workers | probe (once per process) |
|---|---|---|---|---|
{chr(10).join(rows)}

What this tree's sandbox gave in each mode:
{isolations}

Per sample, the sandbox starts one Python (`confine.py`: the interpreter's start dominates),
and with namespaces makes them (unshare, a map, two forks), mounts the view (a tmpfs root,
read-only binds of the system and Python directories, `/dev`, `/proc`, the `/tmp` tmpfs),
pivots into it and forks the tested process. The tested process is a fork of the supervisor,
not a second interpreter.
"""
    print(page)
    if not args.no_write:
        PAGE.write_text(page, encoding="utf-8")


if __name__ == "__main__":
    main()

"""Scale benchmark: peak memory and throughput of ``rewardhub eval``, local and Ray.

Every figure is measured in this run, each ``eval`` in a fresh process (``python -m rewardhub
eval ...``: wall time includes start-up) whose peak RSS is read from ``wait4``:

1. rows/s and peak RSS at 10k, 100k (and, with ``--sizes``, more) rows built from the
   alpaca_eval answers with distinct ids, with the cheap rewards ``entropy,repetition_penalty``
   and every built-in metric;
2. the 5,635 alpaca_eval answers with ``entropy,repetition_penalty`` and no metric (``--metrics
   none``; ``eval`` runs every installed metric by default): this tree,
   and with ``--before COMMIT`` the same command on that commit's code (exported to a temp
   folder), ``--repeat`` runs each after a warm-up, interleaved, best and median reported;
3. ``--ray``: the seven alpaca_eval files with ``entropy,diversity_bonus`` and every built-in
   metric ``--by-group``, local against Ray (a local cluster with ``--ray-actors 2``), and
   whether the outputs are the same bytes.

It writes ``benchmarks/README_scale.md`` from that one run (command, commit, mode and machine state
at its top and bottom).

    python benchmarks/bench_scale.py --sizes 10000,100000 --before f792e12 --ray
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from page import machine_line, provenance

ROOT = Path(__file__).resolve().parent.parent
ALPACA = ROOT.parent / "shared" / "realdata" / "alpaca_eval"
PAGE = Path(__file__).with_name("README_scale.md")
BUILTIN = "distinct,distinct_avg,ngram_entropy,repetition,self_bleu"


def run_eval(args: list[str], tree: Path = ROOT) -> tuple[float, float, float]:
    """``(wall seconds, peak RSS in MiB, CPU seconds)`` of one ``rewardhub eval`` in a fresh
    process (CPU seconds: user + system, what a busy shared machine cannot inflate)."""
    # the tree's own code: ``-m`` puts the working folder first on sys.path, before PYTHONPATH
    plugins = os.pathsep.join(str(tree / "plugins" / p) for p in ("rewardhub-entropy",))
    # bytecode is written and reused, as after ``pip install`` (some shells set PYTHONDONTWRITEBYTECODE)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(HF_HUB_OFFLINE="1", PYTHONPATH=os.pathsep.join([str(tree), plugins]))
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "rewardhub", "eval", *args, "--quiet", "--json"], env=env,
                            stdout=subprocess.DEVNULL, cwd=tree)  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"eval failed: {args}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def answers() -> list[dict]:
    rows = []
    for path in sorted(ALPACA.glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text().splitlines()]
    return rows


def build_input(path: Path, size: int, source: list[dict]) -> None:
    with path.open("w") as handle:
        for i in range(size):
            row = source[i % len(source)]
            handle.write(json.dumps({"id": i, "instruction": row["instruction"], "output": row["output"]}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--before", help="a commit to measure the 5,635-row run on, for comparison")
    parser.add_argument("--ray", action="store_true")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each tree for the 5,635-row figures")
    parser.add_argument("--page", type=Path, default=PAGE, help="where to write the page")
    args = parser.parse_args()
    if not ALPACA.is_dir():
        raise SystemExit(f"needs {ALPACA}")
    source = answers()
    work = Path(tempfile.mkdtemp(prefix="rh-scale-"))
    cheap = ["--rewards", "entropy,repetition_penalty"]
    sizes = [int(s) for s in args.sizes.split(",") if s]
    mode = f"sizes {', '.join(f'{n:,}' for n in sizes) or 'none'}; {args.repeat} runs per tree on the 5,635 answers"
    mode += f"; against commit {args.before}" if args.before else "; no `--before` comparison"
    mode += "; local against Ray" if args.ray else "; no `--ray` section"
    out = ["# Scale: memory, throughput, local against Ray", "", *provenance("bench_scale.py", mode)]
    out += [
        "Every `rewardhub eval` below runs in a fresh process (`python -m rewardhub eval ... --quiet --json`), "
        "start-up and plugin discovery included; its peak RSS is read from `wait4`, its CPU time is user + "
        "system of that process (the figure a busy shared machine inflates least).",
        "",
    ]

    if sizes:
        out += [
            "## 1. Rows/s and peak RSS by size",
            "",
            "Rows built from the 5,635 alpaca_eval answers with distinct ids (`instruction`, `output`; the "
            "answers repeat, so n-gram tables stop growing after 5,635 rows), `--rewards "
            f"entropy,repetition_penalty --metrics {BUILTIN}`:",
            "",
            "| rows | input | wall | CPU | rows per CPU-second | peak RSS |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
    for size in sizes:
        data = work / f"rows{size}.jsonl"
        build_input(data, size, source)
        wall, rss, cpu = run_eval([str(data), *cheap, "--metrics", BUILTIN, "-o", str(work / "out.jsonl")])
        mib = data.stat().st_size / 2**20
        out.append(f"| {size:,} | {mib:,.0f} MiB | {wall:,.1f} s | {cpu:,.1f} s | {size / cpu:,.0f} | {rss:,.0f} MiB |")
        print(out[-1], flush=True)
        data.unlink()

    n = len(source)
    out += [
        "",
        f"## 2. The {n:,} alpaca_eval answers, `--rewards entropy,repetition_penalty`, no metric",
        "",
        f"After a warm-up run of each tree (bytecode written and reused, as after `pip install`), {args.repeat} "
        "fresh-process runs of each, alternating, so every tree sees the same load.",
        "",
        "| code | CPU best | CPU median | wall best | wall median | rows/s (wall median) | peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    alpaca = work / "alpaca.jsonl"
    alpaca.write_text("".join(json.dumps(r) + "\n" for r in source))
    # ``--metrics none`` here: ``eval`` now runs every installed metric by default; the earlier
    # commits this is compared with (f792e12, b3804b1) ran none when given ``--rewards`` alone
    runs = [("this tree", ROOT, ["--metrics", "none"])]
    if args.before:
        old = work / "before"
        old.mkdir()
        archive = subprocess.run(["git", "archive", args.before], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        runs.insert(0, (f"commit {args.before}", old, []))
    outputs, times = {}, {name: [] for name, _, _ in runs}
    for attempt in range(args.repeat + 1):  # interleaved, so both trees see the same load; run 0 warms up
        for name, path, no_metrics in runs:
            out_file = work / f"alpaca-{name.replace(' ', '-')}.jsonl"
            wall, rss, cpu = run_eval([str(alpaca), *cheap, *no_metrics, "-o", str(out_file)], tree=path)
            if attempt:
                times[name].append((cpu, wall, rss))
            outputs[name] = [json.loads(line)["rewards"] for line in out_file.read_text().splitlines()]
    for name, measured in times.items():
        cpus, walls, rss = sorted(m[0] for m in measured), sorted(m[1] for m in measured), max(m[2] for m in measured)
        out.append(
            f"| {name} | {cpus[0]:.2f} s | {median(cpus):.2f} s | {walls[0]:.2f} s | {median(walls):.2f} s | "
            f"{n / median(walls):,.0f} | {rss:,.0f} MiB |"
        )
        print(out[-1], flush=True)
    if len(outputs) == 2:
        old_rows, new_rows = outputs.values()
        pairs = [(a[k], b[k]) for a, b in zip(old_rows, new_rows, strict=True) for k in a]
        same_missing = all((x is None) == (y is None) for x, y in pairs)
        worst = max((abs(x - y) for x, y in pairs if x is not None and y is not None), default=0.0)
        out += ["", f"Same reward values: largest difference {worst:.1e}, same missing values: {same_missing}."]

    if args.ray:
        out += [
            "",
            "## 3. Local against Ray, seven alpaca_eval files",
            "",
            f"`--rewards entropy,diversity_bonus --metrics {BUILTIN} --by-group`, a local Ray cluster started by "
            "the command. Driver figures: the Ray workers' CPU and memory are not in them.",
            "",
            "| backend | wall | driver CPU | driver peak RSS |",
            "|---|---:|---:|---:|",
        ]
        files = [str(p) for p in sorted(ALPACA.glob("*.jsonl"))]
        common = ["--rewards", "entropy,diversity_bonus", "--metrics", BUILTIN, "--by-group"]
        results = {}
        for backend in ("local", "ray"):
            out_file = work / f"{backend}.jsonl"
            wall, rss, cpu = run_eval([*files, *common, "--backend", backend, "-o", str(out_file)])
            results[backend] = out_file.read_bytes()
            out.append(f"| {backend} | {wall:,.1f} s | {cpu:,.1f} s | {rss:,.0f} MiB |")
            print(out[-1], flush=True)
        out += ["", f"Same output bytes: **{results['local'] == results['ray']}**."]
    out += ["", machine_line()]
    args.page.write_text("\n".join(out) + "\n")
    print(f"wrote {args.page}")


if __name__ == "__main__":
    main()

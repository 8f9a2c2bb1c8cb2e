"""What recording a training run costs; writes ``benchmarks/README_telemetry.md`` in one run.

1. ``grpo``: the tiny GRPO example (``examples/grpo_trl.py``: 2 prompts x 4 generations, 16
   tokens, CPU) for ``--steps`` steps with ``run_dir``: the time each step spends in the recorder
   (timed around :meth:`StepTelemetry.record`) against TRL's own ``step_time`` of that step.
   Target: under 2% of a step. The first step (imports: pyarrow, the tokenizer) is shown apart.
2. ``sizes``: one record of 64, 512 and 4,096 samples (groups of 8, 10 to 120 words each, two
   rewards, ``gdpo``), median of ``--repeats`` after a warm-up, with the samples file's size.
3. ``latency``: a real ``rewardhub dashboard`` subprocess, an ``/events`` stream open, a record
   appended: the time until its event arrives (target: within 2 s).

    python benchmarks/bench_telemetry.py             # about a minute on 2 cores
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))

WORDS = [f"w{i}" for i in range(3000)]


def grpo(steps: int) -> dict:
    import grpo_trl

    from rewardhub.telemetry import trainer_hook

    spent: list[float] = []
    original = trainer_hook.StepTelemetry.record

    def timed(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    trainer_hook.StepTelemetry.record = timed
    with tempfile.TemporaryDirectory() as tmp:
        trainer = grpo_trl.main(["--max-steps", str(steps), "--run-dir", f"{tmp}/run", "--output-dir", f"{tmp}/out"])
    trainer_hook.StepTelemetry.record = original
    step_times = [log["step_time"] for log in trainer.state.log_history if "step_time" in log]
    return {"recorder": spent, "step": step_times}


def batch(n: int):
    from rewardhub import Sample, Scorer

    rng = random.Random(n)
    samples = [
        Sample(response=" ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 120))), prompt=f"prompt {i // 8}")
        for i in range(n)
    ]
    with Scorer(["length", "repetition_penalty:0.5"], aggregation="gdpo") as scorer:
        return samples, scorer.score(samples)


def sizes(repeats: int) -> list[dict]:
    from rewardhub.telemetry import Recorder

    rows = []
    for n in (64, 512, 4096):
        samples, scored = batch(n)
        with tempfile.TemporaryDirectory() as tmp:
            recorder = Recorder(tmp)
            recorder.record(samples, scored)  # warm-up
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                record = recorder.record(samples, scored)
                times.append(time.perf_counter() - started)
            size = (Path(tmp) / record["samples"]).stat().st_size
        rows.append({"n": n, "median": statistics.median(times), "max": max(times), "bytes": size})
    return rows


def latency(trials: int) -> list[float]:
    import httpx

    from rewardhub.telemetry import Recorder

    samples, scored = batch(16)
    waits = []
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        recorder = Recorder(run)
        recorder.record(samples, scored)
        with dashboard(run) as url, httpx.stream("GET", url + "/events?after=1", timeout=30) as stream:
            lines = stream.iter_lines()
            next(lines)  # the retry: line
            for _ in range(trials):
                time.sleep(random.uniform(0.3, 0.6))  # land anywhere in the poll interval
                started = time.perf_counter()
                recorder.record(samples, scored)
                for line in lines:
                    if line.startswith("data: "):
                        waits.append(time.perf_counter() - started)
                        break
    return waits


@contextlib.contextmanager
def dashboard(run_dir: Path):
    """``rewardhub dashboard RUN_DIR`` as a real subprocess on a free port; yields its URL."""
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "rewardhub", "dashboard", str(run_dir), "--port", str(port)]
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "README_telemetry.md"))
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    g = grpo(args.steps)
    s = sizes(args.repeats)
    lat = latency(args.trials)

    steady_rec, steady_step = g["recorder"][1:], g["step"][1:]
    shares = [r / t for r, t in zip(steady_rec, steady_step)]
    lines = [
        "# What recording a training run costs",
        "",
        f"Written by one run of `python benchmarks/bench_telemetry.py` at commit `{commit.strip()}`, started "
        f"{started} on {os.cpu_count()} CPUs (load average at the end: "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}). No figure on this page was edited by hand; "
        "timings on a shared machine are noisy.",
        "",
        "## Share of a tiny GRPO step",
        "",
        f"`examples/grpo_trl.py` (tiny Qwen2, 2 prompts x 4 generations, 16 tokens, CPU), {args.steps} steps with "
        "`run_dir`; the time the step waits for the recorder (timed around `StepTelemetry.record`: the record's "
        "numbers, the cumulative sketch merged and saved under the lock; the Parquet samples file and the line are "
        "written by the recorder's background thread, as the TRL adapter sets it) against TRL's `step_time`.",
        "",
        "| | recorder | TRL step | share |",
        "|---|---|---|---|",
        f"| first step (imports pyarrow, tokenizers) | {ms(g['recorder'][0])} | {g['step'][0]:.3f} s | "
        f"{g['recorder'][0] / g['step'][0]:.1%} |",
        f"| steps 2-{args.steps}, median | {ms(statistics.median(steady_rec))} | "
        f"{statistics.median(steady_step):.3f} s | **{statistics.median(shares):.2%}** |",
        f"| steps 2-{args.steps}, worst | {ms(max(steady_rec))} | | {max(shares):.2%} |",
        "",
        f"Target: under 2% of a step (steady state). Median share: **{statistics.median(shares):.2%}**; the first "
        "step pays the one-time imports.",
        "",
        "## One record by batch size",
        "",
        "Groups of 8, 10-120 random words per response, `length` and `repetition_penalty`, `gdpo`; median of "
        f"{args.repeats} records after a warm-up, everything written in the call (`background=False`).",
        "",
        "| samples | median | worst | samples file (Parquet, zstd) |",
        "|---|---|---|---|",
        *[f"| {r['n']:,} | {ms(r['median'])} | {ms(r['max'])} | {r['bytes'] / 1024:.0f} KiB |" for r in s],
        "",
        "## A new step on the page",
        "",
        f"A real `rewardhub dashboard` subprocess with an `/events` stream open; {args.trials} records appended, each "
        "at a random point of the 0.25 s poll: time until its event arrives.",
        "",
        f"Median {ms(statistics.median(lat))}, worst {ms(max(lat))} (target: within 2 s).",
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

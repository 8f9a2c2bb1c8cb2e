"""``diversity_bonus`` on large groups: this tree against a commit before it, same values.

Each measurement runs in a fresh process (cold token memo: the tokenization is in the time),
timing ``DiversityBonus().score(samples)`` only (not the imports or reading the files):

1. the first N alpaca_eval answers (seven models' files, in name order) as ONE group, for each
   N of ``--sizes`` (this tree), and of ``--before-sizes`` on the ``--before`` commit's code
   (exported with ``git archive`` to a temp folder);
2. the 5,635 answers grouped by prompt (805 groups of 7, GRPO-shaped), both trees.

Every pair of runs on the same input must give the same values, bit for bit (sha256 of the
float64 values); the page says so per row. Writes ``benchmarks/README_diversity_bonus.md``.

    python benchmarks/bench_diversity_bonus.py --before b3cc6bc
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

CHILD = r"""
import hashlib, json, sys, time
from pathlib import Path
from rewardhub import Sample
from rewardhub.metrics.diversity_rewards import DiversityBonus

size, shape = int(sys.argv[1]), sys.argv[2]
rows = []
for path in sorted(Path(sys.argv[3]).glob("*.jsonl")):
    rows += [json.loads(line) for line in path.read_text().splitlines()]
rows = rows[:size]
if shape == "one-group":
    samples = [Sample(r["output"], prompt="one prompt") for r in rows]
else:
    samples = [Sample(r["output"], prompt=r["instruction"]) for r in rows]
reward = DiversityBonus()
start = time.perf_counter()
values = reward.score(samples)
seconds = time.perf_counter() - start
start = time.perf_counter()
again = DiversityBonus().score([Sample(s.response, prompt=s.prompt) for s in samples])
second = time.perf_counter() - start
assert again == values
import numpy as np
digest = hashlib.sha256(np.asarray(values, dtype=np.float64).tobytes()).hexdigest()[:16]
print(json.dumps({"seconds": seconds, "second": second, "sha256": digest, "n": len(values)}))
"""


def run(tree: Path, size: int, shape: str) -> dict:
    plugins = os.pathsep.join(str(p) for p in (tree / "plugins").iterdir() if p.is_dir())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), plugins]), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(size), shape, str(ALPACA)],
        env=env, cwd=tree, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="b3cc6bc", help="the commit to compare with")
    parser.add_argument("--sizes", default="1000,2000,4000,5635", help="one-group sizes, this tree")
    parser.add_argument("--before-sizes", default="1000,2000,4000", help="one-group sizes, the --before commit")
    args = parser.parse_args()
    if not ALPACA.is_dir():
        raise SystemExit(f"needs {ALPACA}")
    git = ["git", "rev-parse", "--short", "HEAD"]
    commit = subprocess.run(git, cwd=ROOT, capture_output=True, text=True).stdout.strip()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    before_sizes = [int(s) for s in args.before_sizes.split(",") if s]
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp)
        archive = subprocess.run(["git", "archive", args.before], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        rows = []
        for size in sorted(set(sizes) | set(before_sizes)):
            new = run(ROOT, size, "one-group") if size in sizes else None
            was = run(old, size, "one-group") if size in before_sizes else None
            rows.append((f"{size} answers, one group", new, was))
            print(rows[-1], flush=True)
        rows.append(("5,635 answers, 805 groups of 7", run(ROOT, 5635, "by-prompt"), run(old, 5635, "by-prompt")))
        print(rows[-1], flush=True)

    def cell(result: dict | None) -> str:
        return "-" if result is None else f"{result['seconds']:.2f} s ({result['second']:.2f} s)"

    lines = [
        "# `diversity_bonus` on large groups",
        "",
        f"Written by `python benchmarks/bench_diversity_bonus.py --before {args.before}` at commit `{commit}`",
        f"(Python {platform.python_version()}, {os.cpu_count()} CPUs, a machine shared with other work: one",
        "measurement each, noisy). Each figure is the first `DiversityBonus().score(samples)` in a fresh",
        "process: the tokenization (cold token memo) and the lazy imports (numpy, pandas, scipy) are in",
        "it; in brackets, a second call in the same process (a new reward object; imports done, the token",
        "memo holding what it can). `ngram_size=2`, `tokenize=auto`.",
        "Answers: the first N of the seven alpaca_eval files, in file-name order.",
        "",
        f"| input | this tree | commit {args.before} | speed-up | same values (sha256 of the float64s) |",
        "|---|---|---|---|---|",
    ]
    for name, new, was in rows:
        speedup = f"{was['seconds'] / new['seconds']:.1f}x" if new and was else "-"
        if new and was:
            same = "yes, " + new["sha256"] if new["sha256"] == was["sha256"] else "**NO**"
        else:
            same = "-"
        lines.append(f"| {name} | {cell(new)} | {cell(was)} | {speedup} | {same} |")
    lines += [
        "",
        "How: the intersection sizes of every pair are the entries of `M M^T` for the sparse 0/1",
        "matrix `M` (answer x distinct bigram); bigrams one answer has are left out, frequent ones",
        "(in at least 1/20 of the answers) go through a dense float32 BLAS product, the rest through",
        "a scipy sparse product; distances are formed and summed per row as the pairwise definition",
        "does (`rewardhub/metrics/jaccard.py`). Small groups (a GRPO group of 7 here) still go pair by",
        "pair with Python sets, which is faster there. `tests/test_diversity_bonus_fast.py` checks",
        "the values bit for bit against the previous implementation, kept there as the oracle.",
    ]
    (ROOT / "benchmarks" / "README_diversity_bonus.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

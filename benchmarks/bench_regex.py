"""Regex format rewards on long and adversarial responses: Python's ``re`` against the engines
``regex_format`` and ``think_format`` use (RE2, or the ``regex`` package under a deadline).

Responses: a degenerate policy's output that repeats open-r1's middle tags
(``<think>\\n`` + ``\\n</think>\\n<answer>\\n`` * k, never closing the answer), at several sizes,
and a normal long response (one think block of many lines, then the answer). For each size:
Python's ``re.match`` with open-r1's pattern (the old engine; skipped above ``--re-limit`` bytes
where it would take minutes: extrapolated, labelled so), the reward's RE2 path, and the
``regex`` package with its deadline. Writes ``benchmarks/README_regex.md`` in one run, with the
command and the git commit at its top.

    python benchmarks/bench_regex.py
    python benchmarks/bench_regex.py --sizes 30000 120000 300000 --re-limit 130000
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

from rewardhub_verify.formats import OPEN_R1_FORMAT, RegexFormat, ThinkFormat

from rewardhub import Sample

ROOT = Path(__file__).resolve().parent.parent
UNIT = "\n</think>\n<answer>\n"


def adversarial(size: int) -> str:
    return "<think>\n" + UNIT * max(1, (size - 8) // len(UNIT))


def normal(size: int) -> str:
    return "<think>\n" + "a step of reasoning\n" * max(1, size // 20) + "</think>\n<answer>\n42\n</answer>"


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[30_000, 120_000, 300_000])
    parser.add_argument("--re-limit", type=int, default=130_000, help="largest size timed with Python's re")
    args = parser.parse_args()

    python_re = re.compile(OPEN_R1_FORMAT, re.S | re.M)
    rewards = {
        "regex_format (RE2)": RegexFormat(),
        "regex_format (regex, 1 s deadline)": RegexFormat(engine="regex"),
        "think_format (regex, 1 s deadline)": ThinkFormat(),
    }
    rows, re_times = [], {}
    for kind, make in (("adversarial", adversarial), ("normal", normal)):
        for size in args.sizes:
            text = make(size)
            cells = [kind, f"{len(text):,}"]
            if len(text) <= args.re_limit or kind == "normal":  # linear on a normal response
                seconds, _ = timed(lambda t=text: python_re.match(t))
                re_times[(kind, len(text))] = seconds
                cells.append(f"{seconds:.3f}")
            else:
                known = [(n, s) for (k, n), s in re_times.items() if k == kind and s > 0]
                if kind == "adversarial" and known:
                    n, s = max(known)
                    cells.append(f"~{s * (len(text) / n) ** 2:.0f} (extrapolated, quadratic)")
                else:
                    cells.append("not run")
            for reward in rewards.values():
                seconds, scores = timed(lambda r=reward, t=text: r.score([Sample(t)]))
                score = scores[0]
                shown = score if isinstance(score, float) else f"None ({score.info['reason']})"
                cells.append(f"{seconds:.4f} -> {shown}")
            rows.append(cells)

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    lines = [
        "# Regex format rewards on long responses",
        "",
        f"`{' '.join(['python', 'benchmarks/bench_regex.py', *sys.argv[1:]])}` at commit `{commit.strip()}`"
        " (seconds per response, wall time, one run; a noisy shared machine: read the growth, not the digits).",
        "",
        "| response | bytes | Python `re`, open-r1 pattern | " + " | ".join(rewards) + " |",
        "|---|---|---|" + "---|" * len(rewards),
        *("| " + " | ".join(cells) + " |" for cells in rows),
        "",
        "Adversarial: `<think>\\n` then `\\n</think>\\n<answer>\\n` repeated (a degenerate policy's loop);",
        "Python's `re` backtracks quadratically on it with open-r1's pattern. RE2 is linear whatever the",
        "pattern; the `regex` package is faster on this pattern but still backtracking, hence its deadline.",
    ]
    out = ROOT / "benchmarks" / "README_regex.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

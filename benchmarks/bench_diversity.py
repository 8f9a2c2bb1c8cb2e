"""Self-BLEU and the other diversity metrics: rewardhub vs fast-bleu vs NLTK, in one run.

    .venv/bin/python benchmarks/bench_diversity.py            # full: about half an hour on 2 cores
    .venv/bin/python benchmarks/bench_diversity.py --quick    # subsets: a couple of minutes

Self-BLEU-2..5 (Texygen's definition) on ``texygen/mle.txt`` (9,984 tokenized lines, split on
spaces) and on all 5,635 alpaca_eval answers (the ``output`` field of the 7 files, tokenized
once with rewardhub's ``auto`` tokenizer; all tools get the same tokens):

- rewardhub: every hypothesis, exact;
- fast-bleu (pip, C++, multithreaded): every hypothesis; its O(N^2) loop is most of the full
  run's time on alpaca_eval;
- NLTK ``sentence_bleu`` (the reference): a random sample of hypotheses against all the other
  responses, timed and extrapolated to N; the max abs difference of rewardhub and of fast-bleu
  to NLTK on that sample is printed.

Then every other metric over the alpaca_eval answers (over 1M tokens). Needs the real data in
``../shared/realdata`` (or ``--data``).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rewardhub.metrics import Distinct, DistinctAverage, NgramEntropy, Repetition, SelfBleu, self_bleu_scores
from rewardhub.text import get_tokenizer

ORDERS = (2, 3, 4, 5)
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def nltk_sample(token_lists: list[list[str]], indices: Sequence[int]) -> dict[int, np.ndarray]:
    """NLTK sentence_bleu for the hypotheses ``indices`` against all the other responses."""
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    weights = [tuple(1.0 / n for _ in range(n)) for n in ORDERS]
    method1 = SmoothingFunction().method1
    rows = [
        sentence_bleu(token_lists[:i] + token_lists[i + 1 :], token_lists[i], weights, smoothing_function=method1)
        for i in indices
    ]
    return {n: np.array([row[j] for row in rows]) for j, n in enumerate(ORDERS)}


def fast_bleu_scores(token_lists: list[list[str]]) -> dict[int, np.ndarray]:
    from fast_bleu import SelfBLEU

    scores = SelfBLEU(token_lists, {n: tuple(1.0 / n for _ in range(n)) for n in ORDERS}).get_score()
    return {n: np.array(scores[n]) for n in ORDERS}


def compare_self_bleu(label: str, token_lists: list[list[str]], nltk_hypotheses: int) -> None:
    n_docs, n_tokens = len(token_lists), sum(map(len, token_lists))
    print(f"\n## self-BLEU-2..5 on {label}: {n_docs:,} responses, {n_tokens:,} tokens")
    ours, t_ours = timed(lambda: self_bleu_scores(token_lists, ORDERS))
    sample = sorted(random.Random(0).sample(range(n_docs), min(nltk_hypotheses, n_docs)))
    reference, t_nltk = timed(lambda: nltk_sample(token_lists, sample))
    t_nltk_all = t_nltk * n_docs / len(sample)
    fast, t_fast = timed(lambda: fast_bleu_scores(token_lists))
    diff_ours = max(float(np.max(np.abs(ours[n][sample] - reference[n]))) for n in ORDERS)
    diff_fast = max(float(np.max(np.abs(fast[n][sample] - reference[n]))) for n in ORDERS)
    print(f"{'tool':<12}{'seconds':>12}{'vs rewardhub':>14}   max |diff| vs NLTK on {len(sample)} hypotheses")
    print(f"{'rewardhub':<12}{t_ours:>12.3f}{1:>13.0f}x   {diff_ours:.1e}")
    print(f"{'fast-bleu':<12}{t_fast:>12.2f}{t_fast / t_ours:>13.0f}x   {diff_fast:.1e}")
    print(f"{'NLTK (est.)':<12}{t_nltk_all:>12.0f}{t_nltk_all / t_ours:>13.0f}x   (timed {t_nltk:.1f}s on the sample)")
    print("means: " + ", ".join(f"self_bleu_{n}={ours[n].mean():.4f}" for n in ORDERS))


def other_metrics(tokens: list[list[str]], tokenize_seconds: float) -> None:
    print(f"\n## all metrics on {len(tokens):,} responses, {sum(map(len, tokens)):,} tokens")
    print(f"{'tokenize=auto':<16}{tokenize_seconds:>8.2f}s  (sacrebleu 13a / zh, once for all metrics)")
    # the tokens joined by spaces, so the metrics' own (whitespace) tokenizing is nearly free and
    # the figures are the metrics' cost; with tokenize="auto" add the tokenizer's time above
    joined = [" ".join(t) for t in tokens]
    for metric_cls in (Distinct, DistinctAverage, Repetition, NgramEntropy, SelfBleu):
        metric = metric_cls(tokenize="whitespace")
        values, seconds = timed(lambda metric=metric: metric.compute(joined))
        print(f"{metric.name:<16}{seconds:>8.2f}s  {', '.join(values)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000 texygen lines and 400 alpaca_eval answers")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the realdata folder")
    args = parser.parse_args()
    texygen = (args.data / "texygen" / "mle.txt").read_text().splitlines()
    answers = [
        json.loads(line)["output"]
        for path in sorted((args.data / "alpaca_eval").glob("*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    if args.quick:
        texygen, answers = texygen[:2000], answers[:400]
    print("# rewardhub diversity benchmark" + (" (--quick)" if args.quick else ""))
    compare_self_bleu("texygen/mle.txt", [line.split() for line in texygen], 20 if args.quick else 100)
    tokenize = get_tokenizer("auto")
    tokens, seconds = timed(lambda: [tokenize(a) for a in answers])  # first call: no cache hits
    compare_self_bleu("alpaca_eval outputs", tokens, 3 if args.quick else 5)
    other_metrics(tokens, seconds)


if __name__ == "__main__":
    main()

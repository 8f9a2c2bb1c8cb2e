"""Streaming ``eval``: the same bytes and values as scoring everything at once, a journal that is
never loaded whole, and a resume after SIGKILL that scores only the missing rows."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from rewardhub import Scorer, compute_metrics
from rewardhub.evaluate import EvalOptions, evaluate_files
from rewardhub.io import JsonlReader, ResumableWriter, dumps, scored_row, sidecar_path
from tests.conftest import EVALDATA, ROOT
from tests.oracles.ngrams import NgramCorpus, distinct, distinct_per_response, ngram_entropy

BUILTIN = ["distinct", "distinct_avg", "ngram_entropy", "repetition", "self_bleu"]


def _all_at_once(paths, rewards, with_total=True) -> bytes:
    """The output the old, in-memory path wrote: every row read, scored in one call."""
    rows = list(JsonlReader([str(p) for p in paths]))
    with Scorer(rewards, cache_size=1 << 16) as scorer:
        batch = scorer.score([r.sample for r in rows])
    lines = [
        dumps(scored_row(r.data, s.rewards, s.errors, s.info, s.total, with_total)) + "\n" for r, s in zip(rows, batch)
    ]
    return "".join(lines).encode()


@pytest.mark.realdata
def test_streaming_equals_the_old_results_on_real_data(realdata, tmp_path):
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    paths = sorted((realdata / "alpaca_eval").glob("*.jsonl"))[:2]
    out = tmp_path / "out.jsonl"
    options = EvalOptions(rewards="token_entropy,repetition_penalty", metrics=BUILTIN, output=out, chunk_size=256)
    result = evaluate_files(paths, options)
    assert out.read_bytes() == _all_at_once(paths, ["token_entropy", "repetition_penalty"])

    # the old tokenization (sacrebleu's regexes, once per reward) and arithmetic, value by value
    sacre = Tokenizer13a()
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    texts = [r["output"] for r in rows]
    for row, text in zip(rows, texts):
        tokens = sacre(text).split()
        counts, total = Counter(tokens).values(), len(tokens)
        token_entropy = 0.0
        if total >= 2:
            h = -sum(c / total * math.log(c / total) for c in counts)
            token_entropy = min(1.0, max(0.0, h / math.log(total)))
        assert abs(row["rewards"]["token_entropy"] - token_entropy) <= 1e-12
        lowered = NgramCorpus([sacre(text.lower()).split()])
        rep = (1.0 - distinct_per_response(lowered, 3)[0]) * -1.0 + 0.0 if lowered.totals(3)[0] > 0 else 0.0
        assert abs(row["rewards"]["repetition_penalty"] - rep) <= 1e-12
    corpus = NgramCorpus([sacre(t).split() for t in texts])
    metrics = result.summary["metrics"]
    for k in (1, 2, 3, 4):
        assert abs(metrics[f"distinct_{k}"] - distinct(corpus, k)) <= 1e-12
        assert abs(metrics[f"ent_{k}"] - ngram_entropy(corpus, k)) <= 1e-12
    assert metrics == pytest.approx(compute_metrics(BUILTIN, [r.sample for r in JsonlReader(paths)]).values, abs=0)


def test_group_aware_rewards_and_by_group_metrics_stream_whole_groups(tmp_path):
    paths = [EVALDATA / "chat_en.jsonl", EVALDATA / "grpo_groups.jsonl"]
    paths = [p for p in paths if p.exists()] or sorted(EVALDATA.glob("*.jsonl"))[:2]
    out = tmp_path / "out.jsonl"
    rewards = ["token_entropy", "diversity_bonus"]
    options = EvalOptions(rewards=rewards, metrics=BUILTIN, output=out, by_group=True, chunk_size=3)
    result = evaluate_files(paths, options)
    assert out.read_bytes() == _all_at_once(paths, rewards)
    samples = [r.sample for r in JsonlReader([str(p) for p in paths])]
    assert result.summary["metrics"] == compute_metrics(BUILTIN, samples, by_group=True).values


def test_an_uncommitted_chunk_is_cut_off_and_scored_again(tmp_path):
    out = tmp_path / "out.jsonl"
    writer = ResumableWriter(out, {"run": 1})
    writer.write([(0, {"a": 1}), (1, {"a": 2})])
    writer.close()
    with open(out.with_name("out.jsonl.partial"), "ab") as journal:
        journal.write(b'2\t{"a": 3}\n3\t{"a"')  # a kill inside the next chunk
    resumed = ResumableWriter(out, {"run": 1}, resume=True)
    assert [resumed.is_done(i) for i in range(4)] == [True, True, False, False]
    resumed.write([(2, {"a": 3}), (3, {"a": 4})])
    resumed.finish(4, tmp_path / "out.meta.json", {})
    assert out.read_text() == '{"a": 1}\n{"a": 2}\n{"a": 3}\n{"a": 4}\n'


LOGGING_PLUGIN = """
import os, time
import rewardhub
from rh_testing import TokenEntropy


class LoggedEntropy(TokenEntropy):
    name = "logged_entropy"

    def score(self, samples):
        time.sleep(0.01)
        with open(os.environ["RH_SCORED_LOG"], "a") as log:
            log.write("".join(f"{s.id}\\n" for s in samples))
        return super().score(samples)


@rewardhub.hookimpl
def register_rewards(register):
    register(LoggedEntropy)
"""


ROWS = 6000


def _committed(journal) -> set[str]:
    """Ids of the rows the journal holds, committed (followed by a chunk's empty line)."""
    done, pending = set(), []
    for line in journal.read_text().split("\n")[:-1]:
        if line == "":
            done.update(pending)
            pending = []
        else:
            pending.append(str(json.loads(line.partition("\t")[2])["id"]))
    return done


@pytest.mark.slow
@pytest.mark.realdata
def test_resume_after_sigkill_of_a_large_streamed_run_scores_only_the_missing_rows(
    realdata, tmp_path, fake_distribution
):
    site = fake_distribution("rewardhub-logged", "rh_logged", LOGGING_PLUGIN)
    answers = []
    for path in sorted((realdata / "alpaca_eval").glob("*.jsonl")):
        answers += [json.loads(line)["output"] for line in path.read_text().splitlines()]
    big = tmp_path / "big.jsonl"
    with big.open("w") as handle:
        for i in range(ROWS):  # distinct responses: the engine scores a repeated one only once
            response = f"{answers[i % len(answers)]} ({i})"
            handle.write(json.dumps({"id": f"r{i}", "prompt": f"p{i}", "response": response}) + "\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    run = [sys.executable, "-m", "rewardhub", "eval", str(big), "--rewards", "logged_entropy"]
    args = [*run, "--metrics", "distinct", "--chunk-size", "256", "--quiet"]

    full = tmp_path / "full.jsonl"
    first = subprocess.run([*args, "-o", str(full)], env={**env, "RH_SCORED_LOG": str(tmp_path / "full.log")}, cwd=ROOT)
    assert first.returncode == 0

    out = tmp_path / "out.jsonl"
    journal = tmp_path / "out.jsonl.partial"
    killed_log, resumed_log = tmp_path / "killed.log", tmp_path / "resumed.log"
    proc = subprocess.Popen([*args, "-o", str(out)], env={**env, "RH_SCORED_LOG": str(killed_log)}, cwd=ROOT)
    deadline = time.time() + 120
    while time.time() < deadline and (not journal.exists() or journal.stat().st_size < 2_000_000):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists(), "the run finished before it could be killed"
    committed = _committed(journal)
    assert 0 < len(committed) < ROWS

    resumed = subprocess.run(
        [*args, "-o", str(out), "--resume"], env={**env, "RH_SCORED_LOG": str(resumed_log)}, cwd=ROOT
    )
    assert resumed.returncode == 0
    assert out.read_bytes() == full.read_bytes()
    rescored = resumed_log.read_text().split()
    assert len(rescored) == len(set(rescored))  # nothing scored twice
    assert set(rescored) == {f"r{i}" for i in range(ROWS)} - committed  # exactly the missing rows
    meta = json.loads(sidecar_path(out).read_text())
    full_meta = json.loads(sidecar_path(full).read_text())
    assert meta["summary"] == full_meta["summary"]  # restored from the journal: the same numbers
    assert meta["output"]["sha256"] == full_meta["output"]["sha256"]

"""The per-step recorder (:mod:`rewardhub.telemetry.recorder`) with real files and processes: the
record's numbers by hand, the samples files (Parquet and JSONL), cumulative distinct-n against the
exact metric, two processes writing one run directory, a crash's half line, the incremental tail."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys

import pytest

from rewardhub import Sample, Scorer, compute_metrics
from rewardhub.results import ScoreBatch
from rewardhub.telemetry import Recorder, StepsTail, read_steps
from rewardhub.telemetry.samples import read_samples
from rewardhub.telemetry.sketch import RELATIVE_ERROR, DistinctSketch, estimate, registers_of
from rewardhub.telemetry.stats import bin_members, spearman
from rewardhub.telemetry.steps import step_samples

pytest.importorskip("filelock")

WORDS = [f"w{i}" for i in range(400)]


def corpus(n: int, seed: int = 0, group_size: int = 4) -> list[Sample]:
    rng = random.Random(seed)
    return [
        Sample(response=" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 30))), prompt=f"p{i // group_size}")
        for i in range(n)
    ]


def hand_batch() -> tuple[list[Sample], ScoreBatch]:
    """Two groups of three; ``a`` is flat in group 1, ``b`` is missing once."""
    texts = ["one", "one two", "one two three", "four", "four five", "four five six seven"]
    samples = [Sample(response=t, prompt=f"p{i // 3}") for i, t in enumerate(texts)]
    components = {"a": [1.0, 1.0, 1.0, 0.0, 2.0, 4.0], "b": [0.5, None, 1.5, 3.0, 2.0, 1.0]}
    totals = [1.5, 1.0, 2.5, 3.0, 4.0, 5.0]
    batch = ScoreBatch(
        samples, components, {k: [{}] * 6 for k in components}, [{}, {"b": "boom"}, {}, {}, {}, {}], totals
    )
    return samples, batch


def test_a_record_holds_the_numbers_by_hand(tmp_path):
    samples, batch = hand_batch()
    record = Recorder(tmp_path, tokenize="13a").record(samples, batch, step=7)
    assert record["step"] == 7 and record["n"] == 6 and record["groups"] == 2
    a, b = record["rewards"]["a"], record["rewards"]["b"]
    assert a["mean"] == pytest.approx(9 / 6) and a["min"] == 0.0 and a["max"] == 4.0
    assert a["std"] == pytest.approx(math.sqrt(sum((v - 1.5) ** 2 for v in [1, 1, 1, 0, 2, 4]) / 5))
    assert (a["zero_std_groups"], a["groups_compared"], a["missing"]) == (1, 2, 0)
    assert (b["missing"], b["n"], b["zero_std_groups"]) == (1, 5, 0)
    assert b["mean"] == pytest.approx(8 / 5)
    # lengths 1,2,3,1,2,4 tokens; ranks (ties averaged) of a: 3,3,3,1,5,6; of lengths: 1.5,3.5,5,1.5,3.5,6
    assert record["length"] == {"mean": pytest.approx(13 / 6), "source": "tokenizer 13a"}
    ra, rl = [3, 3, 3, 1, 5, 6], [1.5, 3.5, 5, 1.5, 3.5, 6]
    cov = sum((x - 3.5) * (y - 3.5) for x, y in zip(ra, rl))
    rho = cov / math.sqrt(sum((x - 3.5) ** 2 for x in ra) * sum((y - 3.5) ** 2 for y in rl))
    assert a["length_spearman"] == pytest.approx(rho)
    assert sum(a["hist"]["counts"]) == 6 and len(a["hist"]["edges"]) == 21
    assert record["corpus"]["distinct_1"] == pytest.approx(7 / 13)
    assert record["corpus"]["truncated_rate"] is None and "no max_length" in record["notes"]["corpus.truncated_rate"]
    assert record["advantage"]["source"].startswith("GRPO of the total")  # sum: what the trainer computes
    assert read_steps(tmp_path) == [json.loads(json.dumps(record))]


def test_spearman_against_scipy_and_its_none_cases():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = random.Random(3)
    x = [rng.choice([1.0, 2.0, 3.0, None]) for _ in range(40)]
    y = [rng.randint(1, 9) for _ in range(40)]
    pairs = [(a, b) for a, b in zip(x, y) if a is not None]
    expected = scipy_stats.spearmanr(*zip(*pairs)).statistic
    assert spearman(x, y)[0] == pytest.approx(expected)
    assert spearman([1.0, 2.0], [1, 2]) == (None, "2 pairs with values; a rank correlation needs 3")
    assert spearman([1.0, 1.0, 1.0], [1, 2, 3])[0] is None


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_samples_files_hold_every_component_total_and_advantage(tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    samples = corpus(12)
    with Scorer(["length", "repetition_penalty:0.5"], aggregation="gdpo") as scorer:
        batch = scorer.score(samples)
    record = Recorder(tmp_path, samples_format=fmt, tokenize="13a").record(samples, batch)
    assert record["samples"] == f"samples/step-00000001.{fmt}"
    rows = read_samples(tmp_path / record["samples"])
    assert [r["response"] for r in rows] == [s.response for s in samples]
    assert [r["rewards"]["length"] for r in rows] == batch.components["length"]
    assert [r["advantage"] for r in rows] == batch.advantages and [r["total"] for r in rows] == batch.totals
    assert record["advantage"]["source"] == "rewardhub gdpo"
    # a histogram bar lists exactly the samples it counts
    hist = record["rewards"]["length"]["hist"]
    values = [r["rewards"]["length"] for r in rows]
    assert [len(bin_members(values, hist["edges"], b)) for b in range(20)] == hist["counts"]
    assert step_samples(tmp_path, {"samples": "../../etc/passwd"}) == []  # never outside the run directory


def test_cumulative_distinct_follows_the_exact_metric_within_its_error(tmp_path):
    recorder = Recorder(tmp_path, tokenize="13a")
    seen: list[Sample] = []
    for step in range(6):
        samples = corpus(400, seed=step)
        seen += samples
        with Scorer(["length"]) as scorer:
            record = recorder.record(samples, scorer.score(samples))
        exact = compute_metrics([{"name": "distinct", "args": {"tokenize": "13a"}}], seen).values
        assert record["cumulative"]["completions"] == len(seen)
        for k in (1, 2, 3, 4):
            got = record["cumulative"][f"distinct_{k}"]
            assert got == pytest.approx(exact[f"distinct_{k}"], rel=3 * RELATIVE_ERROR), (step, k)
        step_exact = compute_metrics([{"name": "distinct", "args": {"tokenize": "13a"}}], samples).values
        assert record["corpus"]["distinct_2"] == pytest.approx(step_exact["distinct_2"])  # per step: exact
    size = (tmp_path / "cumulative.bin").stat().st_size
    assert size < 140_000  # bounded: two slots of 4 orders x 16 KiB, whatever the number of steps


def test_the_sketch_is_exact_for_few_and_merges_like_a_union():
    import numpy as np

    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**63, size=50, dtype=np.uint64)
    assert round(estimate(registers_of(np.concatenate([hashes, hashes]))), 6) == pytest.approx(50, abs=0.5)
    a, b = DistinctSketch((1,)), DistinctSketch((1,))
    from rewardhub.metrics.hashed import HashedChunk

    a.fold(HashedChunk([["x", "y"], ["z"]]))
    b.fold(HashedChunk([["z", "w"]]))
    a.merge(b)
    assert a.completions == 3 and a.result()["distinct_1"] == pytest.approx(4 / 5, abs=1e-3)


WRITER = """
import random, sys
from rewardhub import Sample, Scorer
from rewardhub.telemetry import Recorder

run_dir, seed, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
words = [f"w{i}" for i in range(400)]
recorder = Recorder(run_dir, tokenize="13a")
with Scorer(["length"]) as scorer:
    for step in range(count):
        rng = random.Random(seed * 1000 + step)
        texts = [" ".join(rng.choice(words) for _ in range(12)) for _ in range(16)]
        samples = [Sample(response=text, prompt=f"p{i // 4}") for i, text in enumerate(texts)]
        recorder.record(samples, scorer.score(samples))
"""


def test_two_processes_share_one_run_directory(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    run_dir = tmp_path / "run"
    workers = [
        subprocess.Popen([sys.executable, str(script), str(run_dir), str(seed), "8"], stdin=subprocess.DEVNULL)
        for seed in (1, 2)
    ]
    assert [w.wait(timeout=300) for w in workers] == [0, 0]
    tail = StepsTail(run_dir)
    records = tail.read()
    assert tail.bad_lines == 0 and len(records) == 16
    assert sorted(r["step"] for r in records) == list(range(1, 17))  # assigned under the lock: unique
    assert max(r["cumulative"]["completions"] for r in records) == 16 * 16
    assert len(list((run_dir / "samples").glob("step-*"))) == 16
    assert not list((run_dir / "samples").glob(".*tmp*"))


def test_a_half_line_from_a_crash_costs_one_line_and_the_tail_waits_for_whole_lines(tmp_path):
    samples = corpus(8)
    with Scorer(["length"]) as scorer:
        batch = scorer.score(samples)
    recorder = Recorder(tmp_path, samples_format="jsonl", tokenize="13a")
    tail = StepsTail(tmp_path)
    assert tail.read() == []  # no file yet
    recorder.record(samples, batch)
    assert [r["step"] for r in tail.read()] == [1]
    with open(tmp_path / "steps.jsonl", "a") as handle:
        handle.write('{"step": 99, "half')  # the writer died here
    assert tail.read() == []  # not a whole line yet
    recorder.record(samples, batch, step=2)
    assert [r["step"] for r in tail.read()] == [2] and tail.bad_lines == 1
    assert [r["step"] for r in read_steps(tmp_path)] == [1, 2]


def test_self_bleu_within_groups_is_the_hosts_self_bleu_group_by_group():
    from rewardhub.metrics.self_bleu import SelfBleu
    from rewardhub.metrics.state import run_state
    from rewardhub.telemetry.group_bleu import self_bleu_within_groups

    rng = random.Random(7)
    few = WORDS[:12]  # a small vocabulary: many matches, repeated n-grams, ties in counts
    texts = [" ".join(rng.choice(few) for _ in range(rng.randint(0, 14))) for _ in range(60)]
    groups = [rng.randint(0, 11) for _ in texts]
    metric = SelfBleu(n=4, tokenize="13a")
    expected = []
    for g in sorted(set(groups)):
        members = [t for t, k in zip(texts, groups) if k == g]
        if len(members) > 1:
            expected.append(run_state(metric.state(), members)["self_bleu_4"])
    chunk = metric.hashed(texts)
    assert self_bleu_within_groups(chunk, groups, 4) == pytest.approx(sum(expected) / len(expected), rel=1e-12)
    assert self_bleu_within_groups(chunk, list(range(len(texts))), 4) is None  # no group of two


def test_background_writes_land_in_order_after_flush(tmp_path):
    samples = corpus(12)
    with Scorer(["length"]) as scorer:
        batch = scorer.score(samples)
    with Recorder(tmp_path, tokenize="13a", background=True) as recorder:
        returned = [recorder.record(samples, batch)["step"] for _ in range(5)]
        recorder.flush()
        records = read_steps(tmp_path)
        assert [r["step"] for r in records] == returned == [1, 2, 3, 4, 5]
        for record in records:  # every line names a complete samples file
            assert len(step_samples(tmp_path, record)) == 12


def test_a_write_torn_by_a_crash_costs_the_cumulative_state_one_step(tmp_path):
    from rewardhub.metrics.hashed import HashedChunk
    from rewardhub.telemetry.cumulative import CumulativeFile

    path = tmp_path / "cumulative.bin"
    sketch = DistinctSketch((1, 2))
    states = []
    for step, tokens in enumerate((["a", "b"], ["c", "d", "e"], ["f"]), start=1):
        sketch.fold(HashedChunk([tokens]))
        CumulativeFile(path).save(sketch, step)
        states.append((sketch.completions, dict(sketch.result())))
    loaded, last = CumulativeFile(path).load((1, 2))
    assert (last, loaded.completions, loaded.result()) == (3, *states[2])
    data = bytearray(path.read_bytes())  # the newest slot (step 3) is the first one: spoil its payload
    data[40] ^= 0xFF
    path.write_bytes(bytes(data))
    loaded, last = CumulativeFile(path).load((1, 2))
    assert (last, loaded.completions, loaded.result()) == (2, *states[1])

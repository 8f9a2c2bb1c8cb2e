"""``rewardhub compare A B --judge judge.yaml`` with the LLM pairwise judge: the judged win rate
in the table, ``--json`` and the report; a second comparison makes no call; and the real
before/after pair of alpaca_eval (Llama-3-8B-Instruct vs its SimPO version) judged by the
real local model."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from rewardhub.cli import cli

REALDATA = Path(__file__).resolve().parents[3].parent / "shared" / "realdata" / "alpaca_eval"
PROMPTS = 50


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_compare_judge_with_the_llm_pairwise_judge(fake_endpoint, tmp_path):
    tag = uuid.uuid4().hex
    better = {1, 2, 4, 6, 7, 9}  # B's answer is the better one here; A's on 0 and 3; the rest tie
    worse = {0, 3}
    a = write(
        tmp_path / "a.jsonl",
        [
            {"prompt": f"q{i} {tag}", "response": f"A says {i}" + (" <<better>>" if i in worse else "")}
            for i in range(10)
        ],
    )
    b = write(
        tmp_path / "b.jsonl",
        [
            {"prompt": f"q{i} {tag}", "response": f"B says {i}" + (" <<better>>" if i in better else "")}
            for i in range(10)
        ],
    )
    judge = tmp_path / "judge.yaml"
    judge.write_text(
        f"name: llm_pairwise_judge\nargs:\n  base_url: {fake_endpoint.url('ok')}\n  model: fake-judge\n"
        f"  cache: {tmp_path / 'cache.sqlite3'}\n"
    )
    args = [
        "compare",
        str(a),
        str(b),
        "--rewards",
        "none",
        "--metrics",
        "none",
        "--work-dir",
        str(tmp_path / "w"),
        "--judge",
        str(judge),
    ]
    mark = fake_endpoint.mark()
    first = CliRunner().invoke(cli, [*args, "--json", "-q"])
    assert first.exit_code == 0, first.output
    judged = json.loads(first.output)["judged"]
    assert judged["win_rate"] == pytest.approx((6 + 0.5 * 2) / 10)
    assert (judged["b_better"], judged["a_better"], judged["ties"]) == (6, 2, 2)
    assert judged["ci"][0] < judged["win_rate"] < judged["ci"][1]
    assert judged["stats"]["requests"] == 20 == len(fake_endpoint.requests("ok", since=mark))
    assert judged["judge"]["resolved"]["model"] == "fake-judge"

    mark = fake_endpoint.mark()
    table = CliRunner().invoke(cli, args)
    assert table.exit_code == 0, table.output
    assert "win rate of B: 70.0%" in table.output and "cache_hits 20" in " ".join(table.output.split())
    assert fake_endpoint.requests(since=mark) == []  # the second comparison asked nothing


def test_a_position_biased_judge_gives_ties_not_wins(fake_endpoint, tmp_path):
    a = write(tmp_path / "a.jsonl", [{"prompt": f"q{i}", "response": f"A {i}"} for i in range(6)])
    b = write(tmp_path / "b.jsonl", [{"prompt": f"q{i}", "response": f"B {i} <<better>>"} for i in range(6)])
    judge = {"args": {"base_url": fake_endpoint.url("first"), "model": "m", "cache": False}}
    from rewardhub.compare import compare

    j = compare(a, b, rewards="none", metrics="none", judge=judge, work_dir=tmp_path / "w").judged
    assert (j.ties, j.inconsistent, j.win_rate) == (6, 6, 0.5)


@pytest.mark.slow
@pytest.mark.realdata
def test_llama3_against_its_simpo_version_judged_by_the_local_model(smollm_endpoint, tmp_path):
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata/alpaca_eval is not present")
    names = ("Meta-Llama-3-8B-Instruct", "Llama-3-Instruct-8B-SimPO")
    rows = [[json.loads(line) for line in (REALDATA / f"{n}.jsonl").read_text(encoding="utf-8").splitlines()]
            for n in names]
    # the 50 shared prompts whose two answers are shortest: a CPU judge reads every token of both
    by_prompt = [{row["instruction"]: row for row in side} for side in rows]
    def size(prompt: str) -> int:
        return len(prompt) + sum(len(side[prompt]["output"]) for side in by_prompt)

    shared = sorted(set(by_prompt[0]) & set(by_prompt[1]), key=size)
    chosen = shared[:PROMPTS]
    sides = [write(tmp_path / f"{n}.jsonl", [side[p] for p in chosen]) for n, side in zip(names, by_prompt)]
    judge = tmp_path / "judge.yaml"
    args = {
        "base_url": smollm_endpoint.url,
        "model": smollm_endpoint.model,
        "max_tokens": 48,
        "max_concurrency": 8,
        "timeout": 600,
        "cache": str(tmp_path / "cache.sqlite3"),
    }
    judge.write_text(json.dumps({"name": "llm_pairwise_judge", "args": args}))
    command = ["compare", *map(str, sides), "--rewards", "none", "--metrics", "none", "--work-dir", str(tmp_path / "w")]
    before = smollm_endpoint.completions()
    result = CliRunner().invoke(cli, [*command, "--judge", str(judge), "--json", "-q"])
    assert result.exit_code == 0, result.output
    judged = json.loads(result.output)["judged"]
    assert smollm_endpoint.completions() - before == judged["stats"]["requests"] == 2 * PROMPTS
    assert judged["pairs"] == PROMPTS == judged["verdicts"] + sum(judged["missing"].values())
    assert judged["prompts"] == judged["verdicts"]  # one pair a prompt
    assert judged["b_better"] + judged["a_better"] + judged["ties"] == judged["verdicts"]
    if judged["verdicts"] >= 2:
        assert judged["win_rate"] is not None and judged["ci"][0] <= judged["win_rate"] <= judged["ci"][1]
    else:
        assert judged["win_rate"] is None or any("interval needs" in n for n in judged["notes"])
    # the people's table, from the cache: the same numbers, no call
    before = smollm_endpoint.completions()
    table = CliRunner().invoke(cli, [*command, "--judge", str(judge)])
    assert table.exit_code == 0, table.output
    assert "win rate of B:" in table.output and "length-controlled win rate of B:" in table.output
    assert smollm_endpoint.completions() == before
    print(table.output)  # (shown with -s: what the tiny judge made of it)

"""``rewardhub compare`` through the CLI: raw files scored (journaled, reused), scored files'
rewards reused and checked, ``--by``, the exact ``--json`` shape, a table for 80 columns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rewardhub.cli import cli
from rewardhub.compare.result import EXCLUSION_KINDS
from tests.conftest import EVALDATA

REWARDS = "repetition_penalty,token_entropy"
METRICS = "distinct,repetition"


def rows() -> list[dict]:
    return [json.loads(line) for line in (EVALDATA / "chat_en.jsonl").read_text().splitlines() if line.strip()]


def write(path: Path, data: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in data))
    return str(path)


@pytest.fixture
def files(tmp_path) -> tuple[str, str]:
    a = write(tmp_path / "before.jsonl", rows())
    b = write(tmp_path / "after.jsonl", [{**r, "response": r["response"] + " " + r["response"]} for r in rows()])
    return a, b


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def compare_json(*args: str) -> dict:
    result = invoke("compare", *args, "--json", "-q")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_json_is_exactly_the_documented_shape(files, tmp_path):
    a, b = files
    doc = compare_json(a, b, "--rewards", REWARDS, "--metrics", METRICS, "--work-dir", str(tmp_path / "work"))
    assert set(doc) == {"a", "b", "paired", "pairs", "tokenize", "rewards", "metrics", "notes"}
    assert doc["a"] == {"files": [a], "n": len(rows())} and doc["b"]["files"] == [b]
    assert doc["paired"] is True and doc["pairs"] == len({r["prompt"] for r in rows()})
    assert doc["tokenize"] == {"a": ["auto"], "b": ["auto"], "mismatch": False} and doc["notes"] == []
    assert set(doc["rewards"]) == {"repetition_penalty", "token_entropy"}
    for r in doc["rewards"].values():
        assert set(r) == {"a", "b", "delta", "ci", "p", "win_rate", "higher_is_better", "n", "excluded", "note"}
        assert r["delta"] == pytest.approx(r["b"] - r["a"]) and r["ci"][0] <= r["ci"][1]
        assert r["n"] == {"a": len(rows()), "b": len(rows()), "pairs": doc["pairs"]} and r["note"] is None
        assert r["excluded"] == {side: dict.fromkeys(EXCLUSION_KINDS, 0) for side in ("a", "b")}
    for m in doc["metrics"].values():
        assert set(m) == {"a", "b", "delta", "ci", "higher_is_better", "note"}
    # saying everything twice repeats n-grams: repetition up (worse), distinct-2 down
    assert doc["metrics"]["seq_rep_2"]["ci"][0] > 0 and doc["metrics"]["seq_rep_2"]["higher_is_better"] is False
    assert doc["metrics"]["distinct_2"]["delta"] < 0


def test_a_file_compared_with_itself_changes_nothing(files, tmp_path):
    a, _ = files
    for paired in ("yes", "no"):
        doc = compare_json(
            a, a, "--rewards", REWARDS, "--metrics", METRICS, "--paired", paired, "--work-dir", str(tmp_path / "work")
        )
        assert doc["paired"] is (paired == "yes")
        for row in [*doc["rewards"].values(), *doc["metrics"].values()]:
            assert row["delta"] == 0 and row["ci"][0] <= 0 <= row["ci"][1]


def test_raw_files_are_scored_once_into_the_work_dir_then_reused(files, tmp_path):
    a, b = files
    work = tmp_path / "work"
    first = invoke("compare", a, b, "--rewards", REWARDS, "--metrics", "distinct", "--work-dir", str(work))
    assert first.exit_code == 0 and "scoring" in first.output
    scored = sorted(p.name for p in work.iterdir())
    assert (
        len([n for n in scored if n.endswith(".jsonl")]) == 2
        and len([n for n in scored if n.endswith(".meta.json")]) == 2
    )
    second = invoke("compare", a, b, "--rewards", REWARDS, "--metrics", "distinct", "--work-dir", str(work))
    assert second.exit_code == 0 and "scoring" not in second.output
    assert sorted(p.name for p in work.iterdir()) == scored


def test_scored_files_are_reused_and_must_agree_on_each_reward(files, tmp_path):
    a, b = files
    for src, out, n in ((a, "a.jsonl", 3), (b, "b.jsonl", 3), (b, "b2.jsonl", 2)):
        config = tmp_path / f"{out}.yaml"
        config.write_text(f"rewards:\n  - {{name: repetition_penalty, args: {{ngram_size: {n}}}}}\n  - token_entropy\n")
        done = invoke("eval", src, "--config", str(config), "-o", str(tmp_path / out), "-q")
        assert done.exit_code == 0, done.output
    doc = compare_json(
        str(tmp_path / "a.jsonl"),
        str(tmp_path / "b.jsonl"),
        "--metrics",
        "distinct",
        "--work-dir",
        str(tmp_path / "work"),
    )
    assert set(doc["rewards"]) == {"repetition_penalty", "token_entropy"}  # every reward they hold
    assert not (tmp_path / "work").exists()  # nothing scored again
    command = [sys.executable, "-m", "rewardhub", "compare", str(tmp_path / "a.jsonl"), str(tmp_path / "b2.jsonl")]
    refused = subprocess.run([*command, "--metrics", "distinct"], capture_output=True, text=True, cwd=tmp_path)
    assert refused.returncode == 2
    assert "reward 'repetition_penalty'" in refused.stderr and "ngram_size" in refused.stderr
    assert "Traceback" not in refused.stderr
    picked = subprocess.run(
        [*command, "--rewards", "token_entropy", "--metrics", "distinct", "--json", "-q"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert picked.returncode == 0, picked.stderr
    assert list(json.loads(picked.stdout)["rewards"]) == ["token_entropy"]
    done = invoke(
        "eval", b, "--rewards", "token_entropy", "--tokenize", "whitespace", "-o", str(tmp_path / "b3.jsonl"), "-q"
    )
    assert done.exit_code == 0, done.output
    noted = invoke(
        "compare",
        str(tmp_path / "a.jsonl"),
        str(tmp_path / "b3.jsonl"),
        "--rewards",
        "token_entropy",
        "--metrics",
        "distinct",
        env={"COLUMNS": "200"},
    )
    assert noted.exit_code == 0 and "different tokenizers" in noted.output and "whitespace in b3.jsonl" in noted.output


def test_by_splits_one_file_set_by_a_field(tmp_path):
    data = [{**r, "generator": g} for g in ("base", "tuned", "other") for r in rows()]
    path = write(tmp_path / "all.jsonl", data)
    work = ["--work-dir", str(tmp_path / "work"), "--rewards", "token_entropy", "--metrics", "distinct"]
    ambiguous = invoke("compare", path, "--by", "generator", *work)
    assert ambiguous.exit_code == 2 and "base, tuned, other" in ambiguous.output and "--a" in ambiguous.output
    doc = compare_json(path, "--by", "generator", "--a", "base", "--b", "tuned", *work)
    assert doc["a"]["n"] == doc["b"]["n"] == len(rows()) and doc["paired"]
    assert doc["rewards"]["token_entropy"]["delta"] == 0


def test_the_table_fits_80_columns_and_marks_significant_rows(files, tmp_path):
    a, b = files
    result = invoke(
        "compare",
        a,
        b,
        "--rewards",
        REWARDS,
        "--metrics",
        METRICS,
        "--work-dir",
        str(tmp_path / "w"),
        "-q",
        env={"COLUMNS": "80"},
    )
    assert result.exit_code == 0
    assert max(len(line) for line in result.output.splitlines()) <= 80
    assert "…" not in result.output  # nothing truncated
    assert "↓ seq_rep_2" in result.output and " * " in result.output


def test_help_lists_compare_and_report():
    result = invoke("--help")
    assert "compare" in result.output and "report" in result.output


@pytest.mark.realdata
def test_by_generator_on_the_alpaca_eval_files(realdata, tmp_path):
    files = sorted(str(p) for p in (realdata / "alpaca_eval").glob("*.jsonl"))
    assert len(files) == 7
    doc = compare_json(
        ",".join(files),
        "--by",
        "generator",
        "--a",
        "Meta-Llama-3-8B-Instruct",
        "--b",
        "Llama-3-Instruct-8B-SimPO",
        "--rewards",  # metrics only: nothing to score
        "none",
        "--metrics",
        "distinct,repetition",
        "--work-dir",
        str(tmp_path / "work"),
    )
    assert doc["paired"] and doc["pairs"] == 805 and doc["a"]["n"] == doc["b"]["n"] == 805
    assert doc["a"]["files"] == files and doc["rewards"] == {}
    # SimPO's answers use more distinct bigrams and repeat themselves less than the base model's
    assert doc["metrics"]["distinct_2"]["ci"][0] > 0
    assert doc["metrics"]["seq_rep_2"]["ci"][1] < 0


@pytest.mark.realdata
@pytest.mark.slow
def test_the_docs_python_snippet_runs(realdata):
    import re

    from tests.conftest import ROOT

    page = (ROOT / "docs" / "compare.md").read_text()
    snippet = next(b for b in re.findall(r"```python\n(.*?)```", page, flags=re.S) if "from rewardhub.compare" in b)
    result = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "distinct_2" in result.stdout and "True" in result.stdout


def test_by_group_compares_the_per_group_metrics_too(files, tmp_path):
    from rewardhub import compute_metrics
    from rewardhub.io import read_samples

    a, b = files
    doc = compare_json(a, b, "--metrics", "distinct_avg", "--by-group", "--work-dir", str(tmp_path / "w"))
    expected = compute_metrics(["distinct_avg"], read_samples(b), by_group=True).values
    assert doc["metrics"]["by_group/distinct_avg_2"]["b"] == pytest.approx(expected["by_group/distinct_avg_2"])
    assert doc["metrics"]["by_group/distinct_avg_2"]["higher_is_better"] is True
    assert doc["metrics"]["by_group/distinct_avg_2"]["ci"] is not None


def test_rewards_and_metrics_are_parsed_as_eval_parses_them(tmp_path):
    chat = str(EVALDATA / "chat_en.jsonl")
    empty = invoke("compare", chat, chat, "--rewards", "", "--work-dir", str(tmp_path / "work"))
    assert empty.exit_code == 2 and "--rewards is empty" in empty.output  # not a silent "no rewards"
    preset = invoke(
        "compare", chat, chat, "--rewards", "none", "--metrics", "distinct", "--json", "--work-dir", str(tmp_path / "w")
    )
    assert preset.exit_code == 0, preset.output
    assert json.loads(preset.stdout)["rewards"] == {}

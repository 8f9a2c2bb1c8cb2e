"""DPO preference pairs from scored rows: the Python API and `rewardhub pairs`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rewardhub.cli import cli
from rewardhub.io import InputError
from rewardhub.pairs import PairStats, Scored, make_pairs, pairs_from_files
from rewardhub.types import Sample
from tests.conftest import EVALDATA


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def scored(prompt, response, reward) -> Scored:
    return Scored(Sample(response=response, prompt=prompt), reward)


def test_best_against_worst_per_prompt_in_trl_format():
    rows = [scored("p1", "ok", 0.5), scored("p1", "best", 0.9), scored("p2", "x", 0.1), scored("p1", "worst", 0.1)]
    stats = PairStats()
    pairs = make_pairs(rows, stats=stats)
    assert pairs == [
        {"prompt": "p1", "chosen": "best", "rejected": "worst", "score_chosen": 0.9, "score_rejected": 0.1}
    ]
    assert (stats.groups, stats.pairs, stats.single) == (2, 1, 1)


def test_all_pairs_above_the_margin_better_first():
    rows = [scored("p", "a", 0.2), scored("p", "b", 0.9), scored("p", "c", 0.5)]
    assert len(make_pairs(rows, all_pairs=True, min_margin=0.3)) == 3  # 0.5 - 0.2 is 0.3 up to float noise
    pairs = make_pairs(rows, all_pairs=True, min_margin=0.35)
    assert [(p["chosen"], p["rejected"]) for p in pairs] == [("b", "c"), ("b", "a")]


def test_ties_and_float_noise_make_no_pair():
    rows = [scored("p", "a", 1.0), scored("p", "b", 0.9999999999999999), scored("q", "c", 0.5), scored("q", "d", 0.5)]
    stats = PairStats()
    assert make_pairs(rows, stats=stats) == []
    assert stats.no_margin == 2


def test_conversational_prompts_stay_conversational():
    prompt = [{"role": "user", "content": "hi"}]
    pairs = make_pairs([scored(prompt, "hello!", 1.0), scored(prompt, "go away", -1.0)])
    assert pairs[0]["prompt"] == prompt
    assert pairs[0]["chosen"] == [{"role": "assistant", "content": "hello!"}]
    assert pairs[0]["rejected"] == [{"role": "assistant", "content": "go away"}]


def test_null_rewards_are_skipped_and_counted(tmp_path):
    path = write_jsonl(
        tmp_path / "scored.jsonl",
        [
            {"prompt": "p", "response": "a", "rewards": {"r": 1.0}, "reward": 1.0, "errors": {}},
            {"prompt": "p", "response": "b", "rewards": {"r": None}, "reward": None, "errors": {"r": "boom"}},
            {"prompt": "p", "response": "c", "rewards": {"r": 0.0}, "reward": 0.0, "errors": {}},
        ],
    )
    pairs, stats = pairs_from_files(path, tmp_path / "prefs.jsonl")
    assert stats.null_reward == 1
    assert [(p["chosen"], p["rejected"]) for p in pairs] == [("a", "c")]
    assert read_jsonl(tmp_path / "prefs.jsonl") == pairs


def test_messages_layout_gives_conversational_pairs(tmp_path):
    def row(answer: str, reward: float) -> dict:
        messages = [{"role": "user", "content": "Name a color"}, {"role": "assistant", "content": answer}]
        return {"messages": messages, "rewards": {}, "reward": reward, "errors": {}}

    path = write_jsonl(tmp_path / "scored.jsonl", [row("blue", 0.2), row("a deep ocean blue", 0.8)])
    pairs, _ = pairs_from_files(path)
    assert pairs[0]["prompt"] == [{"role": "user", "content": "Name a color"}]
    assert pairs[0]["chosen"] == [{"role": "assistant", "content": "a deep ocean blue"}]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"prompt": "p", "response": "a"}, r"scored\.jsonl:2: no 'reward' field"),
        ({"prompt": "p", "response": "a", "reward": "high"}, r"scored\.jsonl:2: field 'reward' must be a number"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, row, message):
    good = {"prompt": "p", "response": "z", "reward": 0.1}
    path = write_jsonl(tmp_path / "scored.jsonl", [good, row])
    with pytest.raises(InputError, match=message):
        pairs_from_files(path)


def test_rows_without_prompt_are_refused(tmp_path):
    path = write_jsonl(tmp_path / "scored.jsonl", [{"response": "a", "reward": 1.0}])
    with pytest.raises(InputError, match=r"scored\.jsonl:1: no prompt"):
        pairs_from_files(path)


def test_eval_then_pairs_on_the_command_line(tmp_path):
    """The documented loop: `rewardhub eval -o` then `rewardhub pairs`, on real files."""
    runner = CliRunner()
    scored_path, prefs = tmp_path / "scored.jsonl", tmp_path / "prefs.jsonl"
    result = runner.invoke(
        cli,
        [
            "eval",
            str(EVALDATA / "chat_en.jsonl"),
            "--rewards",
            "token_entropy,repetition_penalty",
            "--metrics",
            "none",
            "-o",
            str(scored_path),
            "-q",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["pairs", str(scored_path), "-o", str(prefs), "--min-margin", "0.01"])
    assert result.exit_code == 0, result.output
    assert "pairs from" in result.output

    rows = read_jsonl(scored_path)
    pairs = read_jsonl(prefs)
    prompts = {r["prompt"] for r in rows}
    assert 0 < len(pairs) <= len(prompts)
    for pair in pairs:
        group = [r for r in rows if r["prompt"] == pair["prompt"]]
        assert pair["score_chosen"] == max(r["reward"] for r in group)
        assert pair["score_rejected"] == min(r["reward"] for r in group)
        assert pair["score_chosen"] - pair["score_rejected"] >= 0.01


def test_pairs_command_reports_bad_input_in_one_line(tmp_path):
    path = write_jsonl(tmp_path / "scored.jsonl", [{"prompt": "p", "response": "a"}])
    result = CliRunner().invoke(cli, ["pairs", str(path), "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 1
    assert f"{path}:1: no 'reward' field" in result.output
    assert not (tmp_path / "out.jsonl").exists()


def test_pairs_json_summary_counts_what_was_written(tmp_path):
    scored = tmp_path / "scored.jsonl"
    args = [
        "eval",
        str(EVALDATA / "chat_en.jsonl"),
        "--rewards",
        "token_entropy",
        "--metrics",
        "none",
        "-o",
        str(scored),
    ]
    result = CliRunner().invoke(cli, [*args, "-q"])
    assert result.exit_code == 0, result.output
    prefs = tmp_path / "prefs.jsonl"
    result = CliRunner().invoke(cli, ["pairs", str(scored), "-o", str(prefs), "--json"])
    summary = json.loads(result.stdout)
    assert summary["pairs"] == len(read_jsonl(prefs)) == summary["groups"] - summary["single"] - summary["no_margin"]
    assert summary["output"] == str(prefs)

"""Metric notes: ``eval`` prints each metric's note under its metrics table (EAD: the range to
expect, since it is not bounded by 1), the ``--json`` summary keeps its shape, and a note that
fails costs nothing."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from rewardhub import Metric, Sample, compute_metrics
from rewardhub.cli import cli

CHAT_EN = str(Path(__file__).resolve().parent.parent / "evaldata" / "chat_en.jsonl")


def test_eval_prints_the_ead_range_under_the_metrics_table():
    ran = CliRunner().invoke(cli, ["eval", CHAT_EN, "--rewards", "none", "--metrics", "ead,distinct", "-q"])
    assert ran.exit_code == 0, ran.output
    after = ran.stdout.partition("ead_avg")[2]
    note = " ".join(after.split())  # the console wraps long lines
    assert "ead: distinct n-grams / those expected from as many uniform draws of V = 50,257" in note
    assert "not bounded by 1" in note and "V, not V^n" in note
    assert "distinct:" not in note  # only metrics that have something to say


def test_the_json_summary_keeps_its_shape_and_the_api_has_the_notes():
    ran = CliRunner().invoke(cli, ["eval", CHAT_EN, "--rewards", "none", "--metrics", "ead", "--json", "-q"])
    assert set(json.loads(ran.stdout)) == {"n", "rewards", "metrics", "metric_directions", "errors"}
    result = compute_metrics([{"name": "ead", "as": "ead_hf", "args": {"vocab_size": 1000}}], [Sample("a b c")])
    assert "V = 1,000" in result.notes["ead_hf"]


class BrokenNote(Metric):
    name = "broken_note"

    def compute(self, samples):
        return {"broken_note": 1.0}

    def note(self):
        raise RuntimeError("no")


def test_a_failing_note_never_costs_the_values():
    result = compute_metrics([BrokenNote()], [Sample("x")])
    assert result.values == {"broken_note": 1.0} and not result.notes and not result.errors

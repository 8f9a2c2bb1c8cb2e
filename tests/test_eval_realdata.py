"""Issue 8's "must show", on real data: alpaca_eval (one answer per prompt) with the default
plugins gives no weighted total and no constant column from a group-aware reward."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rewardhub import types
from rewardhub.cli import cli


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.skipif(
    not hasattr(types, "ALONE_IN_GROUP"), reason="group-aware rewards do not yet give None on a group of one"
)
def test_default_run_on_alpaca_eval_has_no_total_and_no_constant_group_columns(realdata, tmp_path):
    rows = (realdata / "alpaca_eval" / "alpaca-7b.jsonl").read_text().splitlines()[:60]
    source = tmp_path / "alpaca-7b-head.jsonl"
    source.write_text("\n".join(rows) + "\n")
    result = CliRunner().invoke(cli, ["--disable=rewardhub-verify", "eval", str(source), "--metrics", "none", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert "total" not in summary
    for name in ("diversity_bonus", "semantic_redundancy"):
        stats = summary["rewards"][name]
        assert stats["missing"] == 60 and stats["missing_reasons"] == {types.ALONE_IN_GROUP: 60}
    table = CliRunner().invoke(cli, ["--disable=rewardhub-verify", "eval", str(source), "--metrics", "none"]).stdout
    words = " ".join(table.split())  # the notes wrap at 80 columns
    assert "no weighted total" in words
    # a reward with no value on any row is one line with its reason, not a row of dashes
    assert f"no value on any of the 60 rows: diversity_bonus ({types.ALONE_IN_GROUP}); " in words
    assert f"semantic_redundancy ({types.ALONE_IN_GROUP})" in words
    assert not any(line.startswith("diversity_bonus ") for line in table.splitlines())

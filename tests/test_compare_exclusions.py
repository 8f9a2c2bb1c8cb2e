"""``compare`` on scored files whose values are not all usable: every row left out is counted per
reward and reason (table and ``--json``), ``n`` says what was used, huge finite values give the
right statistics with no numpy warning, a ``--tokenize`` mismatch is a field of ``--json``, and a
reward whose direction cannot be read has none (``null``), never "higher is better"."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from rewardhub.cli import cli
from rewardhub.compare.api import reward_directions
from tests.conftest import EVALDATA

REWARDS = "entropy,repetition_penalty"


def scored(tmp_path: Path, name: str, *extra: str, source: Path = EVALDATA / "chat_en.jsonl") -> Path:
    out = tmp_path / f"{name}.jsonl"
    result = CliRunner().invoke(cli, ["eval", str(source), "--rewards", REWARDS, "-o", str(out), "-q", *extra])
    assert result.exit_code == 0, result.output
    return out


def rewrite(path: Path, change) -> list[dict]:
    """Apply ``change(index, row)`` to each row of a scored file, in place (NaN and Infinity
    written as the literals Python's json reads back)."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for i, row in enumerate(rows):
        change(i, row)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return rows


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rewardhub", "compare", *args], capture_output=True, text=True, timeout=600
    )


def test_unusable_values_are_counted_per_reward_and_reason(tmp_path):
    a, b = scored(tmp_path, "a"), scored(tmp_path, "b")
    prompts = [json.loads(line)["prompt"] for line in a.read_text().splitlines()]
    router = [i for i, p in enumerate(prompts) if p == "How do I reset my router?"]
    poison_a = {router[0]: float("nan"), router[1]: float("inf"), router[2]: "high", router[3]: True, 20: None}
    poison_b = {0 if 0 not in router else 5: float("-inf"), 7: [1.0]}

    def change(poison):
        return lambda i, row: row["rewards"].__setitem__("entropy", poison[i]) if i in poison else None

    rewrite(a, change(poison_a))
    rewrite(b, change(poison_b))
    done = run(str(a), str(b), "--metrics", "none", "--json", "-q")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    entropy = doc["rewards"]["entropy"]
    # every row of the router prompt is unusable on A: B's rows of that prompt have no pair
    assert entropy["excluded"]["a"] == {"null": 1, "nan": 1, "infinite": 1, "not_a_number": 2, "no_pair": 0}
    assert entropy["excluded"]["b"] == {"null": 0, "nan": 0, "infinite": 1, "not_a_number": 1, "no_pair": 4}
    pairs = doc["pairs"]
    assert pairs == 6 and entropy["n"]["pairs"] == 5  # the comparison's pairs, and this reward's
    assert entropy["n"] == {"a": 21 - 5, "b": 21 - 2 - 4, "pairs": 5}
    untouched = doc["rewards"]["repetition_penalty"]
    assert untouched["n"] == {"a": 21, "b": 21, "pairs": 6} and not any(untouched["excluded"]["a"].values())
    # the mean of A is over the usable rows only
    values = [json.loads(line)["rewards"]["entropy"] for line in a.read_text().splitlines()]
    usable = [v for i, v in enumerate(values) if i not in poison_a]
    assert entropy["a"] == pytest.approx(np.mean(usable))

    table = run(str(a), str(b), "--metrics", "none", "-q")
    assert table.returncode == 0, table.stderr
    assert "entropy: rows left out: A 1 null, 1 NaN, 1 infinite, 2 not a number; B 1 infinite" in " ".join(
        table.stdout.split()
    )
    assert "no value on the other side" in table.stdout and "repetition_penalty: rows left out" not in table.stdout


def test_values_near_the_float_limit_give_exact_statistics_and_no_warning(tmp_path):
    a, b = scored(tmp_path, "a"), scored(tmp_path, "b")
    rng = np.random.default_rng(0)
    huge_a = rng.uniform(0.5, 1.7, 21) * 1e308
    huge_b = rng.uniform(0.5, 1.7, 21) * 1e308
    rewrite(a, lambda i, row: row["rewards"].__setitem__("entropy", float(huge_a[i])))
    rewrite(b, lambda i, row: row["rewards"].__setitem__("entropy", float(huge_b[i])))
    done = run(str(a), str(b), "--metrics", "none", "--rewards", "entropy", "--json")
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "overflow" not in done.stderr, done.stderr
    entropy = json.loads(done.stdout)["rewards"]["entropy"]
    exact_a = float(sum(Fraction(v) for v in huge_a) / 21)
    exact_b = float(sum(Fraction(v) for v in huge_b) / 21)
    assert entropy["a"] == pytest.approx(exact_a, rel=1e-12) and entropy["b"] == pytest.approx(exact_b, rel=1e-12)
    assert entropy["delta"] == pytest.approx(exact_b - exact_a, rel=1e-9)
    # the same values scaled down to ordinary sizes give the same p and win rate, and the same interval scaled
    rewrite(a, lambda i, row: row["rewards"].__setitem__("entropy", float(huge_a[i] / 2.0**1000)))
    rewrite(b, lambda i, row: row["rewards"].__setitem__("entropy", float(huge_b[i] / 2.0**1000)))
    small = json.loads(run(str(a), str(b), "--metrics", "none", "--rewards", "entropy", "--json").stdout)
    small = small["rewards"]["entropy"]
    assert entropy["p"] == small["p"] and entropy["win_rate"] == small["win_rate"] and entropy["p"] is not None
    assert entropy["ci"] == pytest.approx([x * 2.0**1000 for x in small["ci"]], rel=1e-9)
    table = run(str(a), str(b), "--metrics", "none", "--rewards", "entropy")
    assert table.returncode == 0 and "Warning" not in table.stderr


def test_a_tokenize_mismatch_is_a_field_of_the_json(tmp_path):
    a = scored(tmp_path, "a")
    b = scored(tmp_path, "b", "--tokenize", "whitespace")
    doc = json.loads(run(str(a), str(b), "--metrics", "none", "--json", "-q").stdout)
    assert doc["tokenize"] == {"a": ["auto"], "b": ["whitespace"], "mismatch": True}
    assert any("different tokenizers" in note for note in doc["notes"])
    same = json.loads(run(str(a), str(a), "--metrics", "none", "--json", "-q").stdout)
    assert same["tokenize"] == {"a": ["auto"], "b": ["auto"], "mismatch": False}


class NeedsArgs:
    """A swift-style reward class that cannot be built without its argument: nothing says which
    direction is better."""

    name = "needs_args"

    def __init__(self, threshold):
        self.threshold = threshold

    def compute(self, query, response, images=None):
        return {"reward": float(len(response) > self.threshold)}


class Lower:
    name = "lower"
    higher_is_better = False

    def compute(self, query, response, images=None):
        return {"reward": 1.0}


def test_a_direction_that_cannot_be_read_is_unknown(register_plugin, tmp_path):
    import rewardhub

    class Plugin:
        @staticmethod
        @rewardhub.hookimpl
        def register_rewards(register):
            register(NeedsArgs)
            register(Lower)

    register_plugin(Plugin, "directions-test")
    specs = {"needs_args": {"name": "needs_args"}, "lower": {"name": "lower"}, "gone": {"name": "gone"}}
    assert reward_directions(specs) == {"needs_args": None, "lower": False, "gone": None}


def test_a_reward_not_installed_here_takes_the_direction_its_sidecars_recorded(tmp_path):
    a, b = scored(tmp_path, "a"), scored(tmp_path, "b")
    for path in (a, b):
        meta = path.with_suffix(".meta.json")
        document = json.loads(meta.read_text())
        document["config"]["rewards"][0].update({"name": "uninstalled_entropy", "as": "entropy"})
        meta.write_text(json.dumps(document))
    doc = json.loads(run(str(a), str(b), "--metrics", "none", "--json", "-q").stdout)
    assert doc["rewards"]["entropy"]["higher_is_better"] is True  # both sidecars recorded it
    document = json.loads(b.with_suffix(".meta.json").read_text())
    document["summary"]["rewards"]["entropy"]["higher_is_better"] = False
    b.with_suffix(".meta.json").write_text(json.dumps(document))
    doc = json.loads(run(str(a), str(b), "--metrics", "none", "--json", "-q").stdout)
    assert doc["rewards"]["entropy"]["higher_is_better"] is None  # they disagree: unknown
    assert doc["rewards"]["entropy"]["win_rate"] is None  # and "B is better" means nothing

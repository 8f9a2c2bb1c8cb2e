"""`rewardhub eval` numbers mean what they say (issue 8): no default total, the user's fields
kept, config and input errors as one line, presets and formats, provenance of what was used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import rewardhub
from rewardhub.cli import cli
from rewardhub.io import INPUT_FIELDS
from tests.conftest import EVALDATA

CHAT_EN = str(EVALDATA / "chat_en.jsonl")
#: Keeps the model plugins out of a default run, so it does not load every model installed.
LIGHT = [f"--disable={n}" for n in ("rewardhub-safety", "rewardhub-semantic", "rewardhub-clip", "rewardhub-verify")]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def one_line_error(result, code: int, *fragments: str) -> str:
    assert result.exit_code == code, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("rewardhub: error: "), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    assert "Traceback" not in result.output
    return result.stderr


class Half(rewardhub.Reward):
    """Scores responses of even length; says why it has nothing for the others."""

    name = "half"
    higher_is_better = False

    def score(self, samples):
        return [rewardhub.Score(None, {"reason": "odd length"}) if len(s.response) % 2 else 1.0 for s in samples]


class Labelled(rewardhub.Reward):
    name = "labelled"

    def score(self, samples):
        return [rewardhub.Score(0.0, {"label": "toxic" if "restart" in s.response else "safe"}) for s in samples]


class TrustPlugin:
    @rewardhub.hookimpl
    def register_rewards(register):
        register(Half)
        register(Labelled)


@pytest.fixture
def trust_plugin(register_plugin):
    register_plugin(TrustPlugin, "trust-plugin")


# -- 1. a weighted total only when the user chose rewards and weights -----------------------------


def test_default_mode_has_no_total_in_summary_table_or_rows(tmp_path, trust_plugin):
    out = tmp_path / "out.jsonl"
    chosen = json.loads(run(*LIGHT, "eval", CHAT_EN, "--rewards", "all", "--metrics", "none", "--json").stdout)
    assert "total" in chosen  # "all", named by the user, is a choice

    # The default run: every installed reward, side by side.
    default = run(*LIGHT, "eval", CHAT_EN, "--metrics", "none", "-o", str(out), "--json")
    assert default.exit_code == 0, default.stderr
    summary = json.loads(default.stdout)
    assert "total" not in summary and {"half", "labelled", "token_entropy"} <= set(summary["rewards"])
    assert all("reward" not in row for row in read_jsonl(out))
    table = run("eval", CHAT_EN, "--rewards", "half,labelled", "--metrics", "none").stdout
    assert any(line.startswith("weighted total") for line in table.splitlines())
    table = run(*LIGHT, "eval", CHAT_EN, "--metrics", "none").stdout
    assert not any(line.startswith("weighted total") for line in table.splitlines())
    assert "no weighted total: these are every installed reward" in table


def test_json_total_exists_whenever_rewards_are_chosen(trust_plugin):
    summary = json.loads(run("eval", CHAT_EN, "--rewards", "labelled:2", "--metrics", "none", "--json").stdout)
    assert summary["total"] == {"mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0, "missing": 0}


# -- None with a reason; labels; directions ---------------------------------------------------------


def test_missing_values_are_counted_by_reason_in_rows_summary_and_table(tmp_path, trust_plugin):
    out = tmp_path / "out.jsonl"
    result = run("eval", CHAT_EN, "--rewards", "half,labelled", "--metrics", "distinct", "-o", str(out), "--json")
    summary = json.loads(result.stdout)
    half = summary["rewards"]["half"]
    odd = sum(len(s.response) % 2 for s in rewardhub.io.read_samples(CHAT_EN))
    assert 0 < odd < 21 and half["missing"] == odd and half["missing_reasons"] == {"odd length": odd}
    assert half["higher_is_better"] is False
    assert summary["rewards"]["labelled"]["labels"] == {"safe": 20, "toxic": 1}
    assert summary["metric_directions"]["distinct_1"] is True
    rows = read_jsonl(out)
    row = next(r for r in rows if len(r["response"]) % 2)
    assert row["rewards"]["half"] is None and row["reward_info"]["half"] == {"reason": "odd length"}

    table = run("eval", CHAT_EN, "--rewards", "half,labelled", "--metrics", "distinct").stdout
    assert f"half: {odd} of 21 missing: odd length" in table
    assert "labelled: safe 95.2%, toxic 4.8% of 21 labelled" in table
    assert max(len(line) for line in table.splitlines()) <= 80
    cells = [[c.strip() for c in line.split("│")] for line in table.splitlines() if "│" in line]
    reward_rows = {c[0]: c[1] for c in cells if c[0] in ("half", "labelled")}
    assert reward_rows == {"half": "lower", "labelled": "higher"}


# -- 6, 16: input errors are one line naming file, line and field -----------------------------------


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ('{"prompt": "p", "response": [{"foo": 1}]}', "field 'response' must be a string"),
        ('{"prompt": "p", "response": "ok", "meta": ' + "[" * 5000 + "]" * 5000 + "}", "nested too deep"),
        ('{"prompt": "p", "response": "ok", "meta": ' + "[" * 100 + "]" * 100 + "}", "field 'meta': nested more"),
        ('{"prompt": "p", "response": "bad \\ud800 text"}', "field 'response': contains a lone surrogate"),
        ('{"prompt": "p", "response": "ok", "n": ' + "7" * 5000 + "}", "invalid JSON: Exceeds the limit"),
        ('{"prompt": "p", "response": "ok", "group": {"a": 1}}', "field 'group' must be a string, number or boolean"),
        ('{"prompt": "p", "response": "ok", "group": [1]}', "field 'group' must be a string, number or boolean"),
    ],
)
def test_hostile_rows_are_one_line_errors_and_skippable(tmp_path, line, fragment):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "p", "response": "fine"}\n' + line + "\n")
    result = run("eval", str(bad), "--rewards", "token_entropy", "--metrics", "none")
    one_line_error(result, 1, f"{bad}:2:", fragment)
    out = tmp_path / "out.jsonl"
    skipped = run("eval", str(bad), "--rewards", "token_entropy", "--metrics", "none", "--skip-invalid", "-o", str(out))
    assert skipped.exit_code == 0 and "skipped 1 invalid rows" in skipped.output
    assert [r["response"] for r in read_jsonl(out)] == ["fine"]


# -- 7: the user's own fields named like ours are kept ----------------------------------------------


def test_input_fields_named_like_ours_are_kept_and_pairs_still_read_the_file(tmp_path):
    source = tmp_path / "in.jsonl"
    theirs = {"reward": 0.25, "rewards": {"human": 3}, "errors": ["late"], "reward_info": "x", INPUT_FIELDS: 1}
    rows = [{"prompt": "p", "response": r, **theirs} for r in ("a b c d", "a a a a", "a b a b")]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out, prefs = tmp_path / "out.jsonl", tmp_path / "prefs.jsonl"
    assert (
        run("eval", str(source), "--rewards", "token_entropy", "--metrics", "none", "-o", str(out), "-q").exit_code == 0
    )
    scored = read_jsonl(out)
    assert all(row[INPUT_FIELDS] == theirs for row in scored)
    assert all(set(row["rewards"]) == {"token_entropy"} and isinstance(row["reward"], float) for row in scored)
    assert run("pairs", str(out), "-o", str(prefs), "-q").exit_code == 0
    [pair] = read_jsonl(prefs)
    assert (pair["chosen"], pair["rejected"]) == ("a b c d", "a a a a")
    assert (pair["id_chosen"], pair["id_rejected"]) == (1, 2)


def test_pairs_explain_that_a_default_run_has_no_total(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text(json.dumps({"prompt": "p", "response": "r", "rewards": {"token_entropy": 0.5}, "errors": {}}) + "\n")
    result = run("pairs", str(out), "-o", str(tmp_path / "prefs.jsonl"))
    one_line_error(result, 1, "no 'reward' field", "--rewards NAME[:WEIGHT]")


# -- 23: pairs can be traced back -------------------------------------------------------------------


def test_pairs_keep_ids_and_model_fields(tmp_path):
    scored = tmp_path / "scored.jsonl"
    rows = [
        {"id": "q1-a", "prompt": "p", "response": "good", "generator": "model-a", "reward": 0.9, "rewards": {}},
        {"id": "q1-b", "prompt": "p", "response": "bad", "generator": "model-b", "reward": 0.1, "rewards": {}},
    ]
    scored.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert run("pairs", str(scored), "-o", str(tmp_path / "p.jsonl"), "-q").exit_code == 0
    [pair] = read_jsonl(tmp_path / "p.jsonl")
    assert (pair["id_chosen"], pair["id_rejected"]) == ("q1-a", "q1-b")
    assert (pair["generator_chosen"], pair["generator_rejected"]) == ("model-a", "model-b")
    assert "rewards_chosen" not in pair


# -- 8: config values of the wrong type are config errors ---------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--rewards", "token_entropy:nan"], "weight of 'token_entropy' must be a finite number"),
        (["--rewards", "token_entropy:inf"], "weight of 'token_entropy' must be a finite number"),
        (["--rewards", "token_entropy:"], "weight in 'token_entropy:' is not a number"),
        (["--rewards", ""], "--rewards is empty"),
        (["--rewards", " , "], "--rewards is empty"),
        (["--metrics", ""], "--metrics is empty"),
        (["--tokenize", "nope"], "tokenizer 'nope' cannot be loaded: unknown tokenizer"),
        (["--timeout", "0"], "--timeout must be a positive number"),
    ],
)
def test_bad_options_are_config_errors(args, fragment):
    one_line_error(run("eval", CHAT_EN, *args), 2, fragment)


@pytest.mark.parametrize(
    ("yaml_text", "fragment"),
    [
        ("rewards: [{name: token_entropy, weight: .nan}]", "must be a finite number"),
        ("rewards: [{name: token_entropy, weight: true}]", "weight of 'token_entropy' must be a number, got bool"),
        ("rewards: [{name: token_entropy, weight: [1]}]", "weight of 'token_entropy' must be a number, got list"),
        ("rewards: [{name: token_entropy, as: 3}]", "field 'as' of 'token_entropy' must be a non-empty string"),
        ("rewards: [{name: token_entropy, args: [1]}]", "field 'args' of 'token_entropy' must be a mapping"),
        ("rewards: [{name: token_entropy, args: {tokenize: 3}}]", "args.tokenize of 'token_entropy' must be a string"),
        ("rewards: [{name: 5}]", "field 'name' is required and must be a string"),
        ("rewards: token_entropy\ntokenize: [zh]", "'tokenize' must be a string"),
        ("rewards: {token_entropy: 1}", "rewards: expected a list, got dict"),
    ],
)
def test_config_values_of_the_wrong_type_are_config_errors(tmp_path, yaml_text, fragment):
    config = tmp_path / "c.yaml"
    config.write_text(yaml_text + "\n")
    one_line_error(run("eval", CHAT_EN, "--config", str(config)), 2, str(config), fragment)


@pytest.mark.slow  # imports transformers
def test_an_unloadable_hf_tokenizer_stops_before_any_scoring(tmp_path):
    out = tmp_path / "out.jsonl"
    # A hub name while the hub cannot be reached (HF_HUB_OFFLINE=1 in tests), as on a cluster node.
    tokenizer = "hf:rewardhub-tests/no-such-tokenizer"
    result = run("eval", CHAT_EN, "--rewards", "token_entropy", "--tokenize", tokenizer, "-o", str(out))
    one_line_error(result, 2, "tokenizer 'hf:", "cannot be loaded")
    assert not list(tmp_path.iterdir())


# -- 21: presets and the other input formats ----------------------------------------------------------


def test_presets_none_and_builtin():
    none = json.loads(run("eval", CHAT_EN, "--rewards", "none", "--metrics", "none", "--json").stdout)
    assert none["rewards"] == {} and none["metrics"] == {} and "total" not in none
    builtin = json.loads(run("eval", CHAT_EN, "--rewards", "none", "--metrics", "builtin", "--json").stdout)
    installed = rewardhub.host.registry.registry().metrics
    expected = {n for n, e in installed.items() if e.distribution == "rewardhub"}
    assert {"distinct_1", "self_bleu_4", "seq_rep_2", "ent_1", "distinct_avg_1"} <= set(builtin["metrics"])
    assert {"distinct", "distinct_avg", "repetition", "ngram_entropy", "self_bleu", "ead", "length"} <= expected
    assert "semantic_diversity" not in expected  # a plugin's metric is not built in...
    assert not any(key.startswith("semantic_") for key in builtin["metrics"])  # ...and does not run


def test_a_json_array_file_reads_like_jsonl_with_errors_at_the_element_line(tmp_path):
    rows = [{"instruction": "p", "output": "a b c", "generator": "m"}, {"instruction": "p", "output": "a a"}]
    array = tmp_path / "model_outputs.json"
    array.write_text(json.dumps(rows, indent=2))
    lines = tmp_path / "same.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in rows))
    a = json.loads(run("eval", str(array), "--rewards", "token_entropy", "--metrics", "distinct", "--json").stdout)
    b = json.loads(run("eval", str(lines), "--rewards", "token_entropy", "--metrics", "distinct", "--json").stdout)
    assert a == b and a["n"] == 2
    array.write_text(json.dumps([*rows, {"instruction": "p"}], indent=2))
    one_line_error(run("eval", str(array), "--rewards", "token_entropy"), 1, f"{array}:11: no 'output' field")
    array.write_text('[\n  {"instruction": "p", "output": "x"},\n  {"instruction": \n]')
    one_line_error(run("eval", str(array), "--rewards", "token_entropy"), 1, f"{array}:4: invalid JSON")


def test_a_plain_text_file_is_one_response_per_line(tmp_path):
    text = tmp_path / "samples.txt"
    text.write_text("the cat sat on the mat \n\nthe dog ran\n")
    samples = rewardhub.io.read_samples(text)
    assert [(s.response, s.id) for s in samples] == [("the cat sat on the mat ", 1), ("the dog ran", 3)]
    summary = json.loads(run("eval", str(text), "--rewards", "none", "--metrics", "distinct", "--json").stdout)
    assert summary["n"] == 2 and summary["metrics"]["distinct_1"] == pytest.approx(7 / 9)
    text.write_bytes(b"fine\n\xff\n")
    one_line_error(run("eval", str(text), "--rewards", "token_entropy"), 1, f"{text}:2: not valid UTF-8")


# -- 4 (provenance): what was actually used ---------------------------------------------------------


class Resolving(rewardhub.Reward):
    """Resolves its backend on first score, as toxicity's `auto` does."""

    name = "resolving"

    def __init__(self):
        self.provenance = {"backend": "auto"}

    def score(self, samples):
        self.provenance = {"backend": "offline", "model": "tiny"}
        return [1.0 for _ in samples]


def test_sidecar_records_what_was_used_and_resume_keys_on_the_configuration(tmp_path, register_plugin):
    class Plugin:
        @rewardhub.hookimpl
        def register_rewards(register):
            register(Resolving)

    register_plugin(Plugin, "resolving-plugin")
    out = tmp_path / "out.jsonl"
    args = [
        "eval",
        CHAT_EN,
        str(EVALDATA / "chat_zh.jsonl"),
        "--rewards",
        "resolving,token_entropy",
        "--metrics",
        "distinct",
    ]
    assert run(*args, "-o", str(out), "-q").exit_code == 0
    meta = json.loads((tmp_path / "out.meta.json").read_text())
    zh_rows = len((EVALDATA / "chat_zh.jsonl").read_text().splitlines())
    assert meta["tokenizer"] == {"name": "auto", "resolved": {"13a": 21, "zh": zh_rows}}
    [metric] = meta["config"]["metrics"]
    assert (metric["name"], metric["distribution"]) == ("distinct", "rewardhub") and metric["version"]
    assert meta["config"]["timeout"] is None and meta["config"]["total"] is True
    assert meta["output"]["rows"] == 21 + zh_rows
    described = {r["name"]: r for r in meta["config"]["rewards"]}
    assert described["token_entropy"]["distribution"] == "rewardhub-testing"
    # The sidecar describes the rewards after the run: what they resolved to (Component.describe()
    # reports a reward's `provenance` under "resolved"), not what they were asked for.
    if "resolved" in described["resolving"]:
        assert described["resolving"]["resolved"] == {"backend": "offline", "model": "tiny"}

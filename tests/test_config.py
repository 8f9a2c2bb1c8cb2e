"""Config entries: names, name:weight, dicts with args and 'as', and clear errors."""

from __future__ import annotations

import pytest

from rewardhub.config import ComponentConfig, ConfigError, load_config, parse_component, parse_components
from tests.conftest import EVALDATA


def test_shorthand_and_dict_entries():
    assert parse_component("token_entropy:0.3") == ComponentConfig("token_entropy", 0.3)
    entry = parse_component({"name": "toxicity", "weight": 2, "args": {"threshold": 0.2}, "as": "tox_strict"})
    assert (entry.key, entry.weight, entry.args) == ("tox_strict", 2.0, {"threshold": 0.2})


def test_file_in_the_ms_swift_shape(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "rewards:\n  - {name: token_entropy, weight: 0.3}\nmetrics: [distinct, {name: self_bleu, args: {n: 3}}]\n"
    )
    config = load_config(path)
    assert [c.key for c in config.rewards] == ["token_entropy"]
    assert [(m.name, m.args) for m in config.metrics] == [("distinct", {}), ("self_bleu", {"n": 3})]
    assert config.missing == "skip"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rewards": [{"weight": 1}]}, "rewards\\[0\\]: field 'name' is required"),
        ({"rewards": [{"name": "a", "wieght": 1}]}, "unknown field\\(s\\) \\['wieght'\\]"),
        ({"rewards": ["a:heavy"]}, "weight in 'a:heavy' is not a number"),
        ({"rewards": ["a", "a"]}, "'a' appears twice; give the second one an 'as' name"),
        ({"reward": ["a"]}, "unknown top-level field\\(s\\) \\['reward'\\]"),
        ({"missing": "zero"}, "'missing' must be one of"),
    ],
)
def test_errors_name_the_entry(data, message):
    with pytest.raises(ConfigError, match=message):
        load_config(data)


def test_broken_yaml_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("rewards: [token_entropy\n")
    with pytest.raises(ConfigError, match=str(path)):
        load_config(path)


def test_comma_separated_string():
    assert [c.name for c in parse_components("a,b:2", "--rewards")] == ["a", "b"]


BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")
) + "rewards: *i\n"


def test_a_yaml_alias_bomb_is_refused_at_once_everywhere_a_config_is_read(tmp_path, monkeypatch):
    """9**9 values from a 400-byte file: the CLI, the Scorer and the adapters reading
    REWARDHUB_CONFIG all go through load_config, which counts values with aliases expanded."""
    from click.testing import CliRunner

    from rewardhub import Scorer
    from rewardhub.adapters import openrlhf, swift
    from rewardhub.cli import cli

    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    message = "over 100,000 values once its aliases are expanded"
    with pytest.raises(ConfigError, match=message):
        load_config(path)
    with pytest.raises(ConfigError, match=message):
        Scorer.from_config(str(path))
    monkeypatch.setenv("REWARDHUB_CONFIG", str(path))
    with pytest.raises(ConfigError, match=message):
        swift.configured_entries()
    with pytest.raises(ConfigError, match=message):
        openrlhf.reward_func(["q a"], ["q"], None)
    result = CliRunner().invoke(cli, ["eval", str(EVALDATA / "chat_en.jsonl"), "--config", str(path)])
    assert result.exit_code == 2 and message in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &a [*a]\n", "an alias refers to the value that contains it"),
        ("rewards: " + "[" * 40 + "]" * 40 + "\n", "nested more than 32 levels deep"),
        ("rewards: [" + "x, " * 400_000 + "]\n", "over the 1024 KiB limit"),
    ],
)
def test_yaml_that_is_too_large_deep_or_recursive_is_refused(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)

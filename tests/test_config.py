"""Config entries: names, name:weight, dicts with args and 'as', and clear errors."""

from __future__ import annotations

import pytest

from rewardhub.config import ComponentConfig, ConfigError, load_config, parse_component, parse_components


def test_shorthand_and_dict_entries():
    assert parse_component("entropy:0.3") == ComponentConfig("entropy", 0.3)
    entry = parse_component({"name": "toxicity", "weight": 2, "args": {"threshold": 0.2}, "as": "tox_strict"})
    assert (entry.key, entry.weight, entry.args) == ("tox_strict", 2.0, {"threshold": 0.2})


def test_file_in_the_ms_swift_shape(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "rewards:\n  - {name: entropy, weight: 0.3}\nmetrics: [distinct, {name: self_bleu, args: {n: 3}}]\n"
    )
    config = load_config(path)
    assert [c.key for c in config.rewards] == ["entropy"]
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
    path.write_text("rewards: [entropy\n")
    with pytest.raises(ConfigError, match=str(path)):
        load_config(path)


def test_comma_separated_string():
    assert [c.name for c in parse_components("a,b:2", "--rewards")] == ["a", "b"]

"""Plugin discovery, filtering, isolation of broken plugins, and name clashes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import rewardhub
from rewardhub.cli import cli
from rewardhub.host import registry as plugins
from tests.conftest import EVALDATA

REWARD_PLUGIN = """
import rewardhub

@rewardhub.reward("{name}", inputs=("response",))
def {name}(response):
    return float(len(response))

@rewardhub.hookimpl
def register_rewards(register):
    register({name})
"""


def test_builtins_are_ordinary_plugins_loaded_through_the_hooks():
    registry = plugins.registry()
    builtins = [p for p in registry.plugins if p.builtin]
    assert {p.name for p in builtins} == set(plugins.DEFAULT_PLUGINS)
    assert all(p.distribution == "rewardhub" for p in builtins)


def test_an_installed_plugin_is_its_own_distribution():
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    entries = {p["distribution"]: p for p in json.loads(result.output)}
    assert entries["rewardhub-testing"]["rewards"] == ["token_entropy"]
    assert entries["rewardhub-testing"]["version"] == "1.0"


def test_an_installed_distribution_is_discovered(fake_distribution):
    fake_distribution("rewardhub-length", "rh_length", REWARD_PLUGIN.format(name="length_chars"))
    entry = plugins.registry().entry("reward", "length_chars")
    assert entry.distribution == "rewardhub-length"
    assert rewardhub.Scorer(["length_chars"]).score([rewardhub.Sample("abcd")]).totals == [4.0]


def test_load_plugins_env_limits_distributions(fake_distribution, monkeypatch):
    fake_distribution("rewardhub-length", "rh_length", REWARD_PLUGIN.format(name="length_chars"))
    monkeypatch.setenv("REWARDHUB_LOAD_PLUGINS", "rewardhub-length")
    assert set(plugins.registry().rewards) - _builtin_rewards() == {"length_chars"}
    monkeypatch.setenv("REWARDHUB_LOAD_PLUGINS", "")
    assert set(plugins.registry().rewards) == _builtin_rewards()


def _builtin_rewards() -> set[str]:
    return {name for name, e in plugins.registry().rewards.items() if e.distribution == "rewardhub"}


def test_disable_blocks_one_distribution(fake_distribution):
    fake_distribution("rewardhub-length", "rh_length", REWARD_PLUGIN.format(name="length_chars"))
    result = CliRunner().invoke(cli, ["--disable", "rewardhub-length", "rewards", "--json"])
    names = {r["name"] for r in json.loads(result.output)}
    assert "length_chars" not in names and "token_entropy" in names


def test_a_plugin_that_fails_to_import_is_reported_and_skipped(fake_distribution):
    fake_distribution("rewardhub-broken", "rh_broken", "import not_a_module_anywhere\n")
    fake_distribution("rewardhub-length", "rh_length", REWARD_PLUGIN.format(name="length_chars"))
    registry = plugins.registry()
    assert "length_chars" in registry.rewards
    [failure] = registry.failures
    assert failure.distribution == "rewardhub-broken"
    assert "ModuleNotFoundError" in failure.error
    result = CliRunner().invoke(cli, ["rewards"])
    assert result.exit_code == 0
    assert "rewardhub-broken" in result.output and "skipped" in result.output


def test_a_hook_that_raises_is_isolated(fake_distribution):
    fake_distribution(
        "rewardhub-raising",
        "rh_raising",
        """
        import rewardhub

        @rewardhub.hookimpl
        def register_rewards(register):
            raise RuntimeError("misconfigured")
    """,
    )
    registry = plugins.registry()
    assert "token_entropy" in registry.rewards
    assert registry.failures[0].distribution == "rewardhub-raising"
    assert "register_rewards: RuntimeError: misconfigured" in registry.failures[0].error


def test_two_plugins_registering_one_name_is_an_error_naming_both(fake_distribution):
    fake_distribution("rewardhub-one", "rh_one", REWARD_PLUGIN.format(name="clash"))
    fake_distribution("rewardhub-two", "rh_two", REWARD_PLUGIN.format(name="clash"))
    with pytest.raises(plugins.PluginError, match="rewardhub-one.*rewardhub-two|rewardhub-two.*rewardhub-one"):
        rewardhub.Scorer(["clash"])
    result = CliRunner().invoke(cli, ["eval", str(EVALDATA / "chat_en.jsonl"), "--rewards", "clash"])
    assert result.exit_code == 2
    assert "registered by both" in result.output


def test_throwaway_plugin_object(register_plugin):
    class Plugin:
        @rewardhub.hookimpl
        def register_metrics(register):
            @rewardhub.metric("n_samples")
            def n_samples(samples):
                return {"n_samples": float(len(samples))}

            register(n_samples)

    register_plugin(Plugin, "throwaway")
    assert plugins.registry().entry("metric", "n_samples").plugin == "throwaway"
    assert rewardhub.compute_metrics(["n_samples"], [rewardhub.Sample("a")] * 3).values == {"n_samples": 3.0}


def test_unknown_name_lists_what_is_installed():
    with pytest.raises(plugins.PluginError, match="unknown reward 'nope' .*token_entropy"):
        rewardhub.Scorer(["nope"])


def test_a_broken_builtin_is_reported_and_the_rest_still_load(monkeypatch):
    monkeypatch.setattr(plugins, "DEFAULT_PLUGINS", (*plugins.DEFAULT_PLUGINS, "rewardhub.default_plugins.missing"))
    registry = plugins.registry()
    assert [f.plugin for f in registry.failures] == ["rewardhub.default_plugins.missing"]
    assert "token_entropy" in registry.rewards

"""Plugins that misbehave, and how users name plugins (issue 8, items 14 and 15)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap

import pytest

import rewardhub
from rewardhub.host import registry as plugins
from tests.conftest import EVALDATA, ROOT

LENGTH = """
import rewardhub

@rewardhub.reward("{name}", inputs=("response",))
def {name}(response):
    return float(len(response))

@rewardhub.hookimpl
def register_rewards(register):
    register({name})
"""


def test_block_applies_before_the_plugin_is_imported(fake_distribution):
    fake_distribution("rewardhub-hang", "rh_hang", "raise SystemExit('imported although disabled')\n")
    for spelling in ("rewardhub-hang", "Rewardhub_Hang", "rewardhub.hang", "rh_hang"):
        plugins.reset()
        registry = plugins.registry([spelling])
        assert "rh_hang" not in sys.modules and not registry.failures, spelling
        assert not registry.warnings


def test_names_are_compared_as_pep_503_normalizes_them(fake_distribution, monkeypatch):
    fake_distribution("rewardhub-length", "rh_length", LENGTH.format(name="length_chars"))
    monkeypatch.setenv("REWARDHUB_LOAD_PLUGINS", "Rewardhub_Length")
    assert "length_chars" in plugins.registry().rewards
    assert "token_entropy" not in plugins.registry().rewards  # only what was allowed


def test_unknown_names_get_a_warning_listing_the_known_ones(fake_distribution, monkeypatch):
    fake_distribution("rewardhub-length", "rh_length", LENGTH.format(name="length_chars"))
    monkeypatch.setenv("REWARDHUB_LOAD_PLUGINS", "rewardhub-length,rewardhub-lenght")
    registry = plugins.registry(["entropie"])
    assert len(registry.warnings) == 2
    assert registry.warnings[0].startswith("unknown plugin 'entropie' in the disabled names (known: ")
    assert "unknown plugin 'rewardhub-lenght' in REWARDHUB_LOAD_PLUGINS" in registry.warnings[1]
    assert {"rewardhub-length", "rewardhub-testing"} <= set(registry.known_names)
    assert all("rewardhub-length" in w for w in registry.warnings)


def test_two_distributions_with_the_same_entry_point_name_both_load(fake_distribution, tmp_path):
    site = fake_distribution("rewardhub-one", "rh_one", LENGTH.format(name="len_one"))
    (site / "rh_two.py").write_text(textwrap.dedent(LENGTH.format(name="len_two")))
    info = site / "rewardhub_two-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rewardhub-two\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[rewardhub]\nrh_one = rh_two\n")  # rh_one, as the first
    importlib.invalidate_caches()
    plugins.reset()
    registry = plugins.registry()
    assert registry.rewards["len_one"].distribution == "rewardhub-one"
    assert registry.rewards["len_two"].distribution == "rewardhub-two"
    assert not registry.failures


UNUSABLE = """
import rewardhub

class Nameless(rewardhub.Reward):
    def score(self, samples):
        return [1.0] * len(samples)

@rewardhub.reward("still_here", inputs=("response",))
def still_here(response):
    return 1.0

@rewardhub.hookimpl
def register_rewards(register):
    register(42)
    register(Nameless())
    register(still_here, name=7)
    register(still_here)

@rewardhub.hookimpl
def register_metrics(register):
    register("distinct")
"""


def test_unusable_registrations_are_that_plugins_failures_and_eval_still_works(fake_distribution, monkeypatch):
    fake_distribution("rewardhub-odd", "rh_odd", UNUSABLE)
    monkeypatch.setenv("REWARDHUB_LOAD_PLUGINS", "rewardhub-odd")  # and the built-ins
    registry = plugins.registry()
    errors = [f.error for f in registry.failures]
    assert all(f.distribution == "rewardhub-odd" for f in registry.failures) and len(errors) == 4
    assert errors[0].startswith("register_rewards: 42 is not a reward")
    assert "has no name" in errors[1] and "the name 7" in errors[2]
    assert errors[3].startswith("register_metrics: 'distinct' is not a metric")
    assert "still_here" in registry.rewards
    everything = rewardhub.Scorer(sorted(registry.rewards))  # the default eval builds all of them
    assert "still_here" in everything.weights


EXITING = """
import rewardhub

@rewardhub.hookimpl
def register_rewards(register):
    raise {exc}("hook gave up")
"""

SCORE_EXITS = """
import rewardhub

class Exits(rewardhub.Reward):
    name = "exits"
    inputs = ("response",)

    def score(self, samples):
        raise SystemExit(3)

@rewardhub.hookimpl
def register_rewards(register):
    register(Exits)
"""


@pytest.mark.parametrize("exc", ["SystemExit", "KeyboardInterrupt"])
def test_systemexit_or_keyboardinterrupt_at_import_or_in_a_hook_fails_only_that_plugin(fake_distribution, exc):
    fake_distribution("rewardhub-dies", "rh_dies", f"raise {exc}('import gave up')\n")
    fake_distribution("rewardhub-quits", "rh_quits", EXITING.format(exc=exc))
    registry = plugins.registry()
    failures = {f.distribution: f.error for f in registry.failures}
    assert failures["rewardhub-dies"].startswith(f"{exc}: import gave up")
    assert failures["rewardhub-quits"].startswith(f"register_rewards: {exc}: hook gave up")
    assert "token_entropy" in registry.rewards


@pytest.mark.slow
def test_eval_with_plugins_that_exit_still_scores_the_rest(fake_distribution, tmp_path):
    """Through the CLI in a real process: exit 0 with no output was the old outcome."""
    fake_distribution("rewardhub-dies", "rh_dies", "raise SystemExit(0)\n")
    site = fake_distribution("rewardhub-exits", "rh_exits", SCORE_EXITS)
    out = tmp_path / "out.jsonl"
    paths = [str(site), str(ROOT)]  # (and the tests' own plugin, on PYTHONPATH already)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")])}
    args = ["eval", str(EVALDATA / "chat_en.jsonl"), "--rewards", "token_entropy,exits", "-o", str(out), "--json"]
    proc = subprocess.run([sys.executable, "-m", "rewardhub", *args], env=env, capture_output=True, text=True)
    assert out.is_file(), proc.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows and all(r["rewards"]["token_entropy"] is not None for r in rows)
    assert all(r["errors"]["exits"] == "SystemExit: 3" for r in rows)
    assert "rewardhub-dies" in proc.stderr  # the plugin that exited at import is reported


NEEDS_ARGS = """
import rewardhub

class NeedsPattern(rewardhub.Reward):
    name = "needs_pattern"

    def __init__(self, pattern):
        self.pattern = pattern

    def score(self, samples):
        return [1.0] * len(samples)

@rewardhub.hookimpl
def register_rewards(register):
    register(NeedsPattern)
"""


def test_every_installed_reward_skips_one_that_needs_args(fake_distribution, monkeypatch):
    fake_distribution("rewardhub-args", "rh_args", NEEDS_ARGS)
    monkeypatch.setenv("REWARDHUB_LOAD_PLUGINS", "rewardhub-args")
    names = sorted(plugins.registry().rewards)
    with pytest.raises(plugins.PluginError, match="needs_pattern"):
        rewardhub.Scorer(names)  # chosen explicitly: a config error
    scorer = rewardhub.Scorer(names, skip_unbuildable=True)  # the everything-installed default
    assert "needs_pattern" not in scorer.weights and "diversity_bonus" in scorer.weights
    assert "missing 1 required positional argument: 'pattern'" in scorer.skipped["needs_pattern"]

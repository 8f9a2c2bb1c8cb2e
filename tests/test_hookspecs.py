"""Every hook is typed, documented in the hooks section of the plugin docs, and exercised by a
test of its own that registers a plugin implementing it and checks its effect (datasette's rule).

A hook counts as tested only through :data:`HOOK_TESTS`: the test listed for it must register a
plugin whose implementation of that hook the registry records, then use what the hook added."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import rewardhub
from rewardhub.host import hookspecs
from rewardhub.host import registry as plugins

ROOT = Path(__file__).resolve().parent.parent
HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("register_")]


def hooks_section() -> str:
    """The hooks section of the plugin docs: docs/plugins.md once it has one, else the README's."""
    for path in (ROOT / "docs" / "plugins.md", ROOT / "README.md"):
        if not path.is_file():
            continue
        lines = path.read_text().splitlines()
        start = next((i for i, line in enumerate(lines) if re.match(r"#+ .*\bhooks\b", line, re.IGNORECASE)), None)
        if start is None:
            continue
        level = len(lines[start]) - len(lines[start].lstrip("#"))
        end = next(
            (i for i in range(start + 1, len(lines)) if re.match(rf"#{{1,{level}}} ", lines[i])),
            len(lines),
        )
        return "\n".join(lines[start:end])
    raise AssertionError("no hooks section in docs/plugins.md or README.md")


def _implemented_by(plugin_name: str) -> list[str]:
    registry = plugins.registry()
    return next(p.hooks for p in registry.plugins if p.name == plugin_name)


def test_register_rewards_adds_a_reward_that_scores(register_plugin):
    class Plugin:
        @rewardhub.hookimpl
        def register_rewards(register):
            @rewardhub.reward("hooked_reward", inputs=("response",))
            def hooked(response: str) -> float:
                return float(len(response))

            register(hooked)

    register_plugin(Plugin, "rewards-plugin")
    assert "register_rewards" in _implemented_by("rewards-plugin")
    with rewardhub.Scorer(["hooked_reward"]) as scorer:
        assert scorer.score([rewardhub.Sample("four")]).components["hooked_reward"] == [4.0]


def test_register_metrics_adds_a_metric_that_computes(register_plugin):
    class Plugin:
        @rewardhub.hookimpl
        def register_metrics(register):
            @rewardhub.metric("hooked_metric")
            def hooked(samples) -> dict[str, float]:
                return {"responses": float(len(samples))}

            register(hooked)

    register_plugin(Plugin, "metrics-plugin")
    assert "register_metrics" in _implemented_by("metrics-plugin")
    result = rewardhub.compute_metrics(["hooked_metric"], [rewardhub.Sample("a"), rewardhub.Sample("b")])
    assert result.values == {"responses": 2.0}


def test_register_commands_adds_a_working_command(register_plugin):
    class Plugin:
        @rewardhub.hookimpl
        def register_commands(cli):
            @cli.command(name="hello-test")
            def hello():
                click.echo("hello from a plugin")

    register_plugin(Plugin, "commands-plugin")
    assert "register_commands" in _implemented_by("commands-plugin")
    from rewardhub.cli import cli

    result = CliRunner().invoke(cli, ["hello-test"])
    assert result.output == "hello from a plugin\n"


#: The test of each hook: it registers a plugin implementing the hook and uses what it added.
HOOK_TESTS = {
    "register_rewards": test_register_rewards_adds_a_reward_that_scores,
    "register_metrics": test_register_metrics_adds_a_metric_that_computes,
    "register_commands": test_register_commands_adds_a_working_command,
}


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_and_typed(hook):
    fn = getattr(hookspecs, hook)
    assert fn.__doc__ and len(fn.__doc__.strip()) > 40
    assert all(p.annotation is not inspect.Parameter.empty for p in inspect.signature(fn).parameters.values())
    section = hooks_section()
    assert f"`{hook}(" in section, f"{hook} is not documented in the plugin docs' hooks section"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test_that_implements_and_uses_it(hook):
    assert hook in HOOK_TESTS, f"no test implements {hook}"
    source = inspect.getsource(HOOK_TESTS[hook])
    assert f"def {hook}(" in source and "_implemented_by(" in source

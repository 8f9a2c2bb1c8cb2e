"""Every hook is typed, documented, and exercised by a test (datasette's rule)."""

from __future__ import annotations

import inspect
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import rewardhub
from rewardhub.host import hookspecs

HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("register_")]
README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_and_typed(hook):
    fn = getattr(hookspecs, hook)
    assert fn.__doc__ and len(fn.__doc__.strip()) > 40
    assert all(p.annotation is not inspect.Parameter.empty for p in inspect.signature(fn).parameters.values())
    assert f"`{hook}" in README.read_text(), f"{hook} is not documented in the README"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_tested(hook):
    tests = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    assert f"def {hook}(" in tests


def test_register_commands_adds_a_working_command(register_plugin):
    class Plugin:
        @rewardhub.hookimpl
        def register_commands(cli):
            @cli.command(name="hello-test")
            def hello():
                click.echo("hello from a plugin")

    register_plugin(Plugin, "commands-plugin")
    from rewardhub.cli import cli

    result = CliRunner().invoke(cli, ["hello-test"])
    assert result.output == "hello from a plugin\n"

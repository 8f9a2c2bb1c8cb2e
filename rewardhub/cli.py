"""The ``rewardhub`` command line: a click group whose commands load when they run.

Built-in commands are listed in :data:`BUILTIN_COMMANDS` (name -> ``"module:attribute"`` and a
one-line help) and imported only when invoked, so ``rewardhub --help`` imports neither pandas
nor any plugin (``benchmarks/bench_startup.py`` measures it). Commands from plugins
(``register_commands``) load when a name is not a built-in, after the global options are
parsed, so ``--disable NAME`` keeps a plugin out before any of its code is imported; a plugin
command never replaces a built-in one (it is skipped with a warning).

Every listing command takes ``--json``; people get tables, and ``eval`` a progress bar on
stderr. Bad input and bad configuration end with one line naming the file, line and field, and
a non-zero exit (1: input or output, 2: configuration or usage, 130: interrupted, Ctrl-C at
any moment): never a traceback. Tested in ``tests/test_cli_*.py``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

#: Built-in commands: name -> ("module:attribute" of the click command, one-line help).
#: Add one with one line; it is imported only when it runs.
BUILTIN_COMMANDS: dict[str, tuple[str, str]] = {
    "eval": ("rewardhub.commands.evaluate:eval_command", "Score input FILES with rewards and metrics."),
    "pairs": ("rewardhub.commands.pairs:pairs_command", "Turn scored FILES into DPO preference pairs."),
    "plugins": ("rewardhub.commands.listing:plugins_command", "List installed plugins and what each registers."),
    "rewards": ("rewardhub.commands.listing:rewards_command", "List the installed rewards."),
    "metrics": ("rewardhub.commands.listing:metrics_command", "List the installed corpus metrics."),
    "serve": ("rewardhub.serve.command:serve_command", "Serve the rewards over HTTP to trainers that score remotely."),
    "compare": ("rewardhub.compare.command:compare_command", "Did B change from A? Deltas with confidence intervals."),
    "report": ("rewardhub.compare.command:report_command", "One self-contained HTML page of a run or a comparison."),
    "dashboard": ("rewardhub.telemetry.command:dashboard_command", "Watch a training run's RUN_DIR live in a browser."),
}

EXIT_INTERRUPTED = 130


def load_builtin(name: str) -> click.Command:
    """The built-in command ``name``, imported now."""
    module, _, attribute = BUILTIN_COMMANDS[name][0].partition(":")
    return getattr(importlib.import_module(module), attribute)


class RewardhubGroup(click.Group):
    """Built-ins from :data:`BUILTIN_COMMANDS`, imported on use; plugin commands on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*BUILTIN_COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in BUILTIN_COMMANDS:
            return load_builtin(name)
        if name in self.commands:
            return self.commands[name]
        return plugin_commands(tuple(ctx.params.get("disable") or ())).get(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The built-ins from the table (nothing imported), then where plugin commands are."""
        rows = [(name, help_text) for name, (_, help_text) in sorted(BUILTIN_COMMANDS.items())]
        rows += [(name, cmd.get_short_help_str()) for name, cmd in sorted(self.commands.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)
        with formatter.section("Commands from plugins"):
            formatter.write_text("Installed plugins may add commands: `rewardhub plugins` lists them.")

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            interrupted()


def interrupted(detail: str = "") -> None:
    """Ctrl-C: one line and exit status 130, never a traceback."""
    click.echo(f"rewardhub: interrupted{detail}", err=True)
    sys.exit(EXIT_INTERRUPTED)


_plugin_commands: dict[tuple[str, ...], tuple[Any, dict[str, click.Command]]] = {}


def plugin_commands(block: tuple[str, ...] = ()) -> dict[str, click.Command]:
    """The commands plugins add through ``register_commands``, loaded once per ``block``.

    A command named like a built-in is skipped with a warning, and a hook that fails is reported.
    """
    from rewardhub import plugins

    pm, _ = plugins.get(block)
    if block in _plugin_commands and _plugin_commands[block][0] is pm:
        return _plugin_commands[block][1]
    found: dict[str, click.Command] = {}
    for plugin, commands in commands_by_plugin(pm):
        if isinstance(commands, BaseException):  # a broken plugin command must not break the CLI
            warn(f"plugin {plugin!r} register_commands failed: {type(commands).__name__}: {commands}")
            continue
        for name, command in commands.items():
            if name in BUILTIN_COMMANDS:
                warn(f"plugin {plugin!r} adds a command {name!r}; a built-in has that name, so it is skipped")
            elif name in found:
                warn(f"plugin {plugin!r} adds a command {name!r} that another plugin added; it is skipped")
            else:
                found[name] = command
    _plugin_commands[block] = (pm, found)
    return found


def commands_by_plugin(pm: Any) -> list[tuple[str, dict[str, click.Command] | BaseException]]:
    """Each plugin's ``register_commands``, run into a scratch group of its own so every command
    is attributed to its plugin: ``(plugin name, {name: command})``, or the exception it raised."""
    from rewardhub.interrupts import PLUGIN_EXITS, is_user_interrupt, sigints, watching_sigint

    out: list[tuple[str, dict[str, click.Command] | BaseException]] = []
    for impl in pm.hook.register_commands.get_hookimpls():
        scratch = click.Group()
        seen = sigints()
        try:
            with watching_sigint():
                impl.function(cli=scratch)
        except (Exception, *PLUGIN_EXITS) as exc:
            if is_user_interrupt(exc, seen):
                raise
            out.append((impl.plugin_name, exc))
            continue
        out.append((impl.plugin_name, dict(scratch.commands)))
    return out


def warn(message: str) -> None:
    click.echo(f"rewardhub: warning: {message}", err=True)


@click.group(cls=RewardhubGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rewardhub")
@click.option("--disable", multiple=True, metavar="NAME", help="Do not load this plugin or distribution (repeatable).")
@click.pass_context
def cli(ctx: click.Context, disable: tuple[str, ...]) -> None:
    """Score LLM outputs with reward plugins and diversity metrics."""
    ctx.obj = {"block": disable}


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings from rewardhub and its plugins, as the CLI's other messages read: one line."""
    return f"rewardhub: warning: {message}\n"


def main() -> None:
    import warnings

    warnings.formatwarning = _one_line_warning
    try:
        cli(prog_name="rewardhub")
    except KeyboardInterrupt:
        interrupted()

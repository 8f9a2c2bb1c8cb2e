"""``rewardhub plugins``, ``rewardhub rewards`` and ``rewardhub metrics``: what is installed."""

from __future__ import annotations

from typing import Any

import click

from rewardhub.cli.output import print_json, warn_failures


def _commands_by_plugin(block: tuple[str, ...]) -> dict[str, list[str]]:
    """The commands each plugin adds (``register_commands``), by plugin name."""
    from rewardhub.cli import commands_by_plugin
    from rewardhub.host import registry as plugins

    pm, _ = plugins.get(block)
    return {name: sorted(found) for name, found in commands_by_plugin(pm) if isinstance(found, dict)}


@click.command(name="plugins")
@click.option("--json", "as_json", is_flag=True, help="Output as JSON.")
@click.option("--all", "show_all", is_flag=True, help="Include the built-in plugins.")
@click.pass_obj
def plugins_command(obj: dict[str, Any], as_json: bool, show_all: bool) -> None:
    """List installed plugins: distribution, version, what each registers."""
    from rewardhub.host import registry as plugins

    block = obj["block"]
    registry = plugins.registry(block)
    commands = _commands_by_plugin(block)
    shown = [p for p in registry.plugins if show_all or not p.builtin]
    data = [
        {
            "name": p.name,
            "distribution": p.distribution,
            "version": p.version,
            "rewards": p.rewards,
            "metrics": p.metrics,
            "commands": commands.get(p.name, []),
            "hooks": p.hooks,
            "builtin": p.builtin,
        }
        for p in shown
    ]
    failures = [{"plugin": f.plugin, "distribution": f.distribution, "error": f.error} for f in registry.failures]
    if as_json:
        print_json({"plugins": data, "failures": failures} if failures else data)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for column in ("distribution", "version", "plugin", "registers"):
        table.add_column(column, overflow="fold")
    for p in data:
        registers = [*p["rewards"], *p["metrics"], *(f"command {c}" for c in p["commands"])]
        table.add_row(p["distribution"], p["version"], p["name"], ", ".join(registers))
    console = Console()
    if data:
        console.print(table)
    hidden = sum(p.builtin for p in registry.plugins) if not show_all else 0
    if not data:
        console.print(
            f"No plugins installed besides the {hidden} built-in ones: `rewardhub plugins --all` lists them, "
            "`rewardhub rewards` and `rewardhub metrics` what they register.",
            highlight=False,
        )
    elif hidden:
        console.print(f"{hidden} built-in plugins not shown: `rewardhub plugins --all` lists them.", highlight=False)
    warn_failures(registry)


def _list(kind: str, obj: dict[str, Any], as_json: bool) -> None:
    from rewardhub.host import registry as plugins

    registry = plugins.registry(obj["block"])
    entries = registry.rewards if kind == "reward" else registry.metrics
    data = [
        {"name": e.name, "distribution": e.distribution, "version": e.version, "description": e.description}
        for e in sorted(entries.values(), key=lambda e: e.name)
    ]
    if as_json:
        print_json(data)
        warn_failures(registry)  # on stderr: the JSON on stdout stays clean
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for column in (kind, "distribution", "version", "description"):
        table.add_column(column, overflow="fold")
    for d in data:
        table.add_row(d["name"], d["distribution"], d["version"], d["description"])
    Console().print(table)
    warn_failures(registry)


@click.command(name="rewards")
@click.option("--json", "as_json", is_flag=True, help="Output as JSON.")
@click.pass_obj
def rewards_command(obj: dict[str, Any], as_json: bool) -> None:
    """List the installed rewards."""
    _list("reward", obj, as_json)


@click.command(name="metrics")
@click.option("--json", "as_json", is_flag=True, help="Output as JSON.")
@click.pass_obj
def metrics_command(obj: dict[str, Any], as_json: bool) -> None:
    """List the installed corpus metrics."""
    _list("metric", obj, as_json)

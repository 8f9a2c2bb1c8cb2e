"""The built-in commands of the ``rewardhub`` CLI, one module per family, imported on use
(see :data:`rewardhub.cli.BUILTIN_COMMANDS`); helpers they share."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

EXIT_INPUT = 1
EXIT_CONFIG = 2


def fail(message: str, code: int) -> None:
    """One line on stderr, and exit with ``code``."""
    click.echo(f"rewardhub: error: {message}", err=True)
    sys.exit(code)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def warn_failures(registry: Any) -> None:
    """Plugins that failed to load, names two plugins registered, and unknown names in
    ``--disable`` / ``REWARDHUB_LOAD_PLUGINS``, as warnings."""
    for message in registry.warnings:
        click.echo(f"rewardhub: warning: {message}", err=True)
    for f in registry.failures:
        click.echo(f"rewardhub: warning: plugin {f.plugin!r} ({f.distribution}) skipped: {f.error}", err=True)
    for (kind, name), entries in registry.clashes.items():
        owners = " and ".join(e.distribution for e in entries)
        click.echo(f"rewardhub: warning: {kind} {name!r} is registered by both {owners}", err=True)

"""What commands print besides their results: JSON on stdout, warnings on stderr (one line each).
Errors are :mod:`rewardhub.cli.errors`'."""

from __future__ import annotations

import json
from typing import Any

import click


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def warn_failures(registry: Any) -> None:
    """Plugins that failed to load, names two plugins registered, and unknown names in
    ``--disable`` / ``REWARDHUB_LOAD_PLUGINS``, as warnings."""
    for message in registry.warnings:
        warn(message)
    for f in registry.failures:
        warn(f"plugin {f.plugin!r} ({f.distribution}) skipped: {f.error}")
    for (kind, name), entries in registry.clashes.items():
        warn(f"{kind} {name!r} is registered by both {' and '.join(e.distribution for e in entries)}")


def warn(message: str) -> None:
    click.echo(f"rewardhub: warning: {message}", err=True)

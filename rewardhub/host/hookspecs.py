"""The hooks a rewardhub plugin may implement.

Plugins implement them with ``@rewardhub.hookimpl``; the built-ins in
``rewardhub.default_plugins`` use exactly the same hooks. Every hook here is documented in the
hooks section of the plugin docs (``docs/plugins.md``; the README's until it moves there) and
has a test of its own in ``tests/test_hookspecs.py`` that registers a plugin implementing it
and uses what it added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

hookspec = pluggy.HookspecMarker("rewardhub")
hookimpl = pluggy.HookimplMarker("rewardhub")

#: ``register(obj, *, name=None)``: the callback the registration hooks receive.
Register = Callable[..., None]


@hookspec
def register_rewards(register: Register) -> None:
    """Register reward plugins.

    Call ``register(obj)`` once per reward. ``obj`` may be:

    - a :class:`rewardhub.Reward` subclass (constructed with the config's ``args``),
    - a :class:`rewardhub.Reward` instance (takes no ``args``),
    - a function decorated with :func:`rewardhub.reward`,
    - a class in the ms-swift plugin style, with ``compute(query, response, images=None)``
      returning ``{"reward": float, "info": dict}``.

    ``register(obj, name="other")`` registers it under another name. Names are unique across
    all plugins: two plugins registering the same name is an error naming both.

    :param register: the callback; it returns nothing.
    """


@hookspec
def register_metrics(register: Register) -> None:
    """Register corpus metrics.

    Call ``register(obj)`` once per metric, where ``obj`` is a :class:`rewardhub.Metric`
    subclass or instance, or a function ``f(samples, **args) -> dict[str, float]`` decorated
    with :func:`rewardhub.metric`. Names are unique across plugins, as for rewards.

    :param register: the callback; it returns nothing.
    """


@hookspec
def register_commands(cli: click.Group) -> Any:
    """Add commands to the ``rewardhub`` command line.

    :param cli: the root click group; add commands with ``@cli.command()``.
    """

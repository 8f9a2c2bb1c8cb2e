"""The options several commands share, each defined once: names, types, choices, checks.

``eval``, ``serve``, ``compare``, ``report`` and ``pairs`` (and the commands plugins add, which
may import these) take ``--rewards``, ``--metrics``, ``--config``, ``--missing``, ``--timeout``,
``--tokenize``, ``--prompt-field``/``--response-field``, ``--skip-invalid``, ``--json`` and
``-q`` from here, so one meaning and one check holds everywhere: ``--missing`` offers
:data:`rewardhub.config.MISSING_POLICIES`, ``--timeout`` is refused by the engine's own check
(:func:`rewardhub.engine.calls.check_timeout`) in the same line and status for every command.
A command may say what an option means for it (``help=``). Tested in ``tests/test_cli_shared.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from rewardhub.cli.errors import EXIT_CONFIG, fail
from rewardhub.config.files import MISSING_POLICIES

Decorator = Callable[[Any], Any]


def rewards(help: str = "Rewards to run, with weights (presets: none, builtin, all).") -> Decorator:
    return click.option("--rewards", "rewards", metavar="NAME[:WEIGHT],...", help=help)


def metrics(help: str = "Corpus metrics to compute (presets: none, builtin, all).") -> Decorator:
    return click.option("--metrics", "metrics", metavar="NAME,...", help=help)


def config(help: str = "YAML config: rewards (with weights and args), metrics.") -> Decorator:
    return click.option("--config", "config", type=click.Path(exists=True, dir_okay=False), help=help)


def missing() -> Decorator:
    return click.option(
        "--missing", type=click.Choice(MISSING_POLICIES), help="Total when a reward has no value (as a config's)."
    )


def _check_timeout(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    from rewardhub.engine.calls import check_timeout

    try:
        return check_timeout(value, "--timeout")  # the Scorer's own check
    except ValueError as exc:
        fail(str(exc), EXIT_CONFIG)


def timeout() -> Decorator:
    return click.option(
        "--timeout",
        type=float,
        metavar="SECONDS",
        callback=_check_timeout,
        help="Give up on a reward call after this long (that call's samples get no value).",
    )


def tokenize() -> Decorator:
    return click.option(
        "--tokenize", metavar="NAME", help="Tokenizer for n-gram metrics and rewards (auto, 13a, zh, hf:PATH...)."
    )


def fields() -> Decorator:
    """``--prompt-field`` and ``--response-field``."""

    def decorate(fn: Any) -> Any:
        fn = click.option("--response-field", metavar="FIELD", help="Field holding the response (default: detected).")(
            fn
        )
        return click.option("--prompt-field", metavar="FIELD", help="Field holding the prompt (default: detected).")(
            fn
        )

    return decorate


def skip_invalid() -> Decorator:
    return click.option("--skip-invalid", is_flag=True, help="Skip and count malformed rows instead of stopping.")


def as_json(help: str = "Print the result as JSON on stdout.") -> Decorator:
    return click.option("--json", "as_json", is_flag=True, help=help)


def quiet(help: str = "No messages on stderr.") -> Decorator:
    return click.option("-q", "--quiet", is_flag=True, help=help)

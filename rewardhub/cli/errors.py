"""How every command ends on an error: one line on stderr and an exit status, never a traceback.

The statuses (the same for every command, plugins' too): 1 bad input or an output that cannot
be written (:class:`~rewardhub.io.InputError`, :class:`~rewardhub.io.OutputError`, any
``OSError``), 2 bad configuration or usage (:class:`~rewardhub.config.ConfigError`,
:class:`~rewardhub.host.registry.PluginError`, :class:`~rewardhub.io.ResumeError`,
:class:`~rewardhub.evaluate.backends.BackendError`, any other ``ValueError``), 130 interrupted
(Ctrl-C), 143 terminated (SIGTERM). :func:`one_line_errors` maps an exception to its status;
nothing is imported until an error happens, so ``rewardhub --help`` stays light. Tested in
``tests/test_cli_shared.py``.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

EXIT_INPUT = 1
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 128 + signal.SIGTERM


def fail(message: str, code: int) -> NoReturn:
    """One line on stderr, and exit with ``code``."""
    click.echo(f"rewardhub: error: {message}", err=True)
    sys.exit(code)


def interrupted(detail: str = "") -> NoReturn:
    """Ctrl-C: one line and exit status 130, never a traceback."""
    click.echo(f"rewardhub: interrupted{detail}", err=True)
    sys.exit(EXIT_INTERRUPTED)


def exit_code(exc: BaseException) -> int | None:
    """The exit status for ``exc`` (see the module doc), ``None`` for an exception that is a bug."""
    from rewardhub.config import ConfigError
    from rewardhub.evaluate.backends.base import BackendError
    from rewardhub.host.registry import PluginError
    from rewardhub.io import InputError, OutputError, ResumeError

    if isinstance(exc, (InputError, OutputError, OSError)):
        return EXIT_INPUT
    if isinstance(exc, (ConfigError, PluginError, ResumeError, BackendError, ValueError)):
        return EXIT_CONFIG
    return None


def message(exc: BaseException) -> str:
    """The one line for ``exc``: an ``OSError`` names its file and the system's reason."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one line and their exit status (a bug propagates)."""
    try:
        yield
    except Exception as exc:
        code = exit_code(exc)
        if code is None:
            raise
        fail(message(exc), code)

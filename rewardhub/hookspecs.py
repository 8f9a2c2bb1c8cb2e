"""Moved to :mod:`rewardhub.host.hookspecs`; this path stays for code written against it.

Every name here is the very object :mod:`rewardhub.host.hookspecs` defines (tested in ``tests/test_moved_paths.py``).
"""

from rewardhub.host.hookspecs import (
    Register,
    hookimpl,
    hookspec,
    register_commands,
    register_metrics,
    register_rewards,
)

__all__ = ["Register", "hookimpl", "hookspec", "register_commands", "register_metrics", "register_rewards"]

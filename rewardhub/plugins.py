"""Moved to :mod:`rewardhub.host.registry`; this path stays for code written against it.

Every name here is the very object :mod:`rewardhub.host.registry` defines (tested in ``tests/test_moved_paths.py``).
"""

from rewardhub.host.registry import (
    DEFAULT_PLUGINS,
    ENTRY_POINT_GROUP,
    Entry,
    PluginError,
    PluginFailure,
    PluginInfo,
    Registry,
    add,
    collect,
    get,
    load,
    normalize_name,
    registry,
    remove,
    reset,
)

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "Entry",
    "PluginError",
    "PluginFailure",
    "PluginInfo",
    "Registry",
    "add",
    "collect",
    "get",
    "load",
    "normalize_name",
    "registry",
    "remove",
    "reset",
]

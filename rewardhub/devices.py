"""Moved to :mod:`rewardhub.host.devices`; this path stays for code written against it.

Every name here is the very object :mod:`rewardhub.host.devices` defines (tested in ``tests/test_moved_paths.py``).
"""

from rewardhub.host.devices import (
    quiet_loading,
    resolve_device,
    resolve_dtype,
)

__all__ = ["quiet_loading", "resolve_device", "resolve_dtype"]

"""Moved to :mod:`rewardhub.host.progress`; this path stays for code written against it.

Every name here is the very object :mod:`rewardhub.host.progress` defines (tested in ``tests/test_moved_paths.py``).
"""

from rewardhub.host.progress import (
    Listener,
    Progress,
    listening,
    report,
    silent,
)

__all__ = ["Listener", "Progress", "listening", "report", "silent"]

"""Moved to :mod:`rewardhub.engine.calls`; this path stays for code written against it.

Every name here is the very object :mod:`rewardhub.engine.calls` defines (tested in ``tests/test_moved_paths.py``).
"""

from rewardhub.engine.calls import (
    RewardBusyError,
    RewardCaller,
    RewardTimeoutWarning,
    as_list,
    check_timeout,
)

__all__ = ["RewardBusyError", "RewardCaller", "RewardTimeoutWarning", "as_list", "check_timeout"]

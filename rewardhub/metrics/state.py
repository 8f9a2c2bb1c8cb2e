"""Moved to :mod:`rewardhub.host.state`; this path stays for code written against it.

Every name here is the very object :mod:`rewardhub.host.state` defines (tested in ``tests/test_moved_paths.py``).
"""

from rewardhub.host.state import (
    CollectingState,
    MetricState,
    run_state,
)

__all__ = ["CollectingState", "MetricState", "run_state"]

"""Moved to :mod:`rewardhub.config.build`; this path stays for code written against it.

Every name here is the very object :mod:`rewardhub.config.build` defines (tested in ``tests/test_moved_paths.py``).
"""

from rewardhub.config.build import (
    Component,
    build_metrics,
    build_rewards,
)

__all__ = ["Component", "build_metrics", "build_rewards"]

"""Moved to :mod:`rewardhub.metrics.runner`; this path stays for code written against it.

Every name here is the very object :mod:`rewardhub.metrics.runner` defines (tested in ``tests/test_moved_paths.py``).
"""

from rewardhub.metrics.runner import (
    BY_GROUP_PREFIX,
    CHUNK,
    ExactSum,
    MetricResults,
    MetricsAccumulator,
    compute_metrics,
    groups_of,
    metric_values,
)

__all__ = [
    "BY_GROUP_PREFIX",
    "CHUNK",
    "ExactSum",
    "MetricResults",
    "MetricsAccumulator",
    "compute_metrics",
    "groups_of",
    "metric_values",
]

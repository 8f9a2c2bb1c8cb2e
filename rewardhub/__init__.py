"""rewardhub: reward functions and diversity metrics for RL fine-tuning, as plugins.

The public face: the data model (:class:`Sample`, :class:`Score`), the plugin kinds
(:class:`Reward`, :class:`Metric`, :func:`reward`, :func:`metric`), the hook marker
(:data:`hookimpl`) and the engine (:class:`Scorer`). Importing this package imports no model
library; plugins that need one import it when they first score.

Names load on first use (PEP 562), so ``import rewardhub`` (and ``rewardhub --help``) costs
next to nothing: ``from rewardhub import Scorer`` and ``rewardhub.Scorer`` work as always, and
subpackages too (``rewardhub.io.read_samples(...)`` after ``import rewardhub``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rewardhub._version import __version__

#: Public name -> the module that defines it.
_EXPORTS = {
    "ComponentConfig": "rewardhub.config",
    "ConfigError": "rewardhub.config",
    "RunConfig": "rewardhub.config",
    "load_config": "rewardhub.config",
    "Scorer": "rewardhub.engine",
    "hookimpl": "rewardhub.host.hookspecs",
    "compute_metrics": "rewardhub.metrics.runner",
    "MetricsAccumulator": "rewardhub.metrics.runner",
    "PluginError": "rewardhub.host.registry",
    "ScoreBatch": "rewardhub.engine.results",
    "ScoredSample": "rewardhub.engine.results",
    "Metric": "rewardhub.host.kinds",
    "MetricUndefined": "rewardhub.host.kinds",
    "Reward": "rewardhub.host.kinds",
    "as_metric": "rewardhub.host.kinds",
    "as_reward": "rewardhub.host.kinds",
    "metric": "rewardhub.host.kinds",
    "reward": "rewardhub.host.kinds",
    "Sample": "rewardhub.types",
    "Score": "rewardhub.types",
}
#: Subpackages and modules reachable as attributes after ``import rewardhub``.
_SUBMODULES = (
    *("io", "text", "metrics", "rewards", "adapters", "evaluate", "evaluation", "plugins", "engine", "config"),
    *("host", "telemetry"),
)

__all__ = [
    "ComponentConfig",
    "ConfigError",
    "Metric",
    "MetricUndefined",
    "MetricsAccumulator",
    "PluginError",
    "Reward",
    "RunConfig",
    "Sample",
    "Score",
    "ScoreBatch",
    "ScoredSample",
    "Scorer",
    "__version__",
    "as_metric",
    "as_reward",
    "compute_metrics",
    "hookimpl",
    "load_config",
    "metric",
    "reward",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time names load on first use
    from rewardhub.config import ComponentConfig, ConfigError, RunConfig, load_config
    from rewardhub.engine import Scorer
    from rewardhub.engine.results import ScoreBatch, ScoredSample
    from rewardhub.host.hookspecs import hookimpl
    from rewardhub.host.kinds import Metric, MetricUndefined, Reward, as_metric, as_reward, metric, reward
    from rewardhub.host.registry import PluginError
    from rewardhub.metrics.runner import MetricsAccumulator, compute_metrics
    from rewardhub.types import Sample, Score


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # the next access is a plain attribute
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"rewardhub.{name}")
    raise AttributeError(f"module 'rewardhub' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS, *_SUBMODULES})

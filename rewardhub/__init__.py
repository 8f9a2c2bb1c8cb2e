"""rewardhub: reward functions and diversity metrics for RL fine-tuning, as plugins.

The public face: the data model (:class:`Sample`, :class:`Score`), the plugin kinds
(:class:`Reward`, :class:`Metric`, :func:`reward`, :func:`metric`), the hook marker
(:data:`hookimpl`) and the engine (:class:`Scorer`). Importing this package imports no model
library; plugins that need one import it when they first score.
"""

__version__ = "0.1.0"

from rewardhub.config import ComponentConfig, ConfigError, RunConfig, load_config
from rewardhub.engine import Scorer
from rewardhub.hookspecs import hookimpl
from rewardhub.metrics_runner import compute_metrics
from rewardhub.plugins import PluginError
from rewardhub.results import ScoreBatch, ScoredSample
from rewardhub.rewards import Metric, Reward, as_metric, as_reward, metric, reward
from rewardhub.types import Sample, Score

__all__ = [
    "ComponentConfig",
    "ConfigError",
    "Metric",
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

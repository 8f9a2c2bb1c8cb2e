"""The host's own per-sample rewards, registered by the built-in plugin like any plugin's:
``repetition_penalty`` (ms-swift's), ``diversity_bonus`` (group aware): :mod:`~rewardhub.rewards.diversity`;
the degeneracy flags ``repetition_loop`` and ``truncated``: :mod:`~rewardhub.rewards.degeneracy`.
:data:`REWARDS` lists them all.

This path is also where the plugin kinds were defined before they moved to
:mod:`rewardhub.host.kinds`: ``from rewardhub.rewards import Reward`` (and the other names of
that module) keeps working and gives the very same objects. Those load with this package;
the built-in rewards, which import the n-gram machinery, load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rewardhub.host.kinds import (
    REWARD_KINDS,
    SAMPLE_FIELDS,
    Metric,
    MetricFunction,
    Reward,
    RewardFunction,
    RewardKind,
    as_metric,
    as_reward,
    has_field,
    lacking_fields,
    metric,
    reward,
    reward_name,
    usable_as,
)

#: The host's rewards: name -> the module defining it.
_BUILTINS = {
    "RepetitionPenalty": "rewardhub.rewards.diversity",
    "DiversityBonus": "rewardhub.rewards.diversity",
    "RepetitionLoop": "rewardhub.rewards.degeneracy",
    "Truncated": "rewardhub.rewards.degeneracy",
}

if TYPE_CHECKING:
    from rewardhub.rewards.degeneracy import RepetitionLoop, Truncated
    from rewardhub.rewards.diversity import DiversityBonus, RepetitionPenalty

    REWARDS: tuple[type[Reward], ...]


def __getattr__(name: str) -> Any:
    if name in _BUILTINS:
        value = getattr(importlib.import_module(_BUILTINS[name]), name)
    elif name == "REWARDS":
        value = tuple(__getattr__(n) for n in _BUILTINS)
    else:
        raise AttributeError(f"module 'rewardhub.rewards' has no attribute {name!r}")
    globals()[name] = value  # the next access is a plain attribute
    return value


__all__ = [
    "REWARDS",
    "REWARD_KINDS",
    "SAMPLE_FIELDS",
    "DiversityBonus",
    "Metric",
    "MetricFunction",
    "RepetitionLoop",
    "RepetitionPenalty",
    "Reward",
    "RewardFunction",
    "RewardKind",
    "Truncated",
    "as_metric",
    "as_reward",
    "has_field",
    "lacking_fields",
    "metric",
    "reward",
    "reward_name",
    "usable_as",
]

"""rewardhub plugin: ``reward_model``, a learned reward model (Bradley-Terry sequence classifier).

Skywork-Reward, InternLM2-Reward, ArmoRM, the OpenAssistant DeBERTa RMs...: any
``AutoModelForSequenceClassification`` RM by hub id or folder, scored in this process
(``transformers``) or on a pooling server (``vllm``, ``sglang``), each sample rendered with the
RM's own chat template (never the policy's). Importing this package imports neither torch nor a
model: the model loads on the first score. See :mod:`rewardhub_rm.reward`.
"""

from __future__ import annotations

import rewardhub
from rewardhub_rm._version import __version__
from rewardhub_rm.reward import RewardModel

__all__ = ["RewardModel", "__version__"]


@rewardhub.hookimpl
def register_rewards(register):
    register(RewardModel)

"""rewardhub plugin: ``toxicity``, a safe/unsafe reward from a toxicity classifier.

Two backends: any transformers text-classification model (hub id or local path; default
``facebook/roberta-hate-speech-dynabench-r4-target``) and the offline offensive-language model
of ``alt-profanity-check``. Importing this package imports neither torch nor a model: the
classifier loads on the first score.
"""

from __future__ import annotations

import rewardhub
from rewardhub_safety.reward import Toxicity, __version__

__all__ = ["Toxicity", "__version__"]


@rewardhub.hookimpl
def register_rewards(register):
    register(Toxicity)

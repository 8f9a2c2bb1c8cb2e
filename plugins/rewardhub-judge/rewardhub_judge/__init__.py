"""rewardhub plugin: LLM judges over any OpenAI-compatible endpoint.

- ``llm_judge`` (:mod:`rewardhub_judge.pointwise`): a grade on a rubric, 0..1;
- ``llm_pairwise_judge`` (:mod:`rewardhub_judge.pairwise`): which of two answers is better,
  asked in both orders; what ``rewardhub compare --judge`` uses;
- ``cascade`` (:mod:`rewardhub_judge.cascade`): a rule first, the judge only where it cannot tell.

Their client (:mod:`rewardhub_judge.client`) owns concurrency, rate limits, retries, one
deadline per request and the token budget; answers are cached in SQLite
(:mod:`rewardhub_judge.cache`). Importing this package connects to nothing and starts no
thread: that happens on the first score. Users' page: ``docs/judges.md``.
"""

from __future__ import annotations

import rewardhub
from rewardhub_judge._version import __version__
from rewardhub_judge.cascade import Cascade
from rewardhub_judge.pairwise import PairwiseJudge
from rewardhub_judge.pointwise import LLMJudge

__all__ = ["Cascade", "LLMJudge", "PairwiseJudge", "__version__"]


@rewardhub.hookimpl
def register_rewards(register):
    register(LLMJudge)
    register(PairwiseJudge)
    register(Cascade)

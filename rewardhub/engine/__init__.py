"""The batch scoring engine: :class:`Scorer` and what it is made of.

- :mod:`~rewardhub.engine.scorer`: :class:`Scorer`, the one engine behind every door;
- :mod:`~rewardhub.engine.calls`: how one reward's ``score()`` is called (thread rules,
  timeouts), and :mod:`~rewardhub.engine.isolation`: pure-Python rewards in worker processes;
- :mod:`~rewardhub.engine.values`: each value checked;
- :mod:`~rewardhub.engine.aggregation`: the weighted total and group-decoupled advantages;
- :mod:`~rewardhub.engine.results`: what a scorer returns (:class:`ScoreBatch`);
- :mod:`~rewardhub.engine.protocol`: :class:`ScorerLike`, what a :class:`Scorer` and a
  :class:`~rewardhub.remote.RemoteScorer` both are.
"""

from rewardhub.engine.aggregation import weighted_total
from rewardhub.engine.results import ScoreBatch, ScoredSample
from rewardhub.engine.scorer import Scorer
from rewardhub.engine.values import Batch, normalize

__all__ = ["Batch", "ScoreBatch", "ScoredSample", "Scorer", "normalize", "weighted_total"]

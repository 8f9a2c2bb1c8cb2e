"""Compare two sets of generations and report on them: "did training change my model?"

- :func:`compare` (``rewardhub compare A B``): each reward's and corpus metric's delta B - A
  with a confidence interval (Student's t on a jackknife over prompts when the sides are
  paired, samples when not: :mod:`rewardhub.compare.jackknife`), a permutation p-value and the
  win rate of B for rewards (:mod:`rewardhub.compare.stats`); :mod:`rewardhub.compare.corpus`
  makes a corpus metric's leave-outs a few sparse products. Users' page: ``docs/compare.md``.
- :func:`write_report` (``rewardhub report``): one self-contained HTML page.

Heavy imports (pandas, scipy, plotly) happen inside the functions that need them.
"""

from rewardhub.compare.api import compare
from rewardhub.compare.result import Comparison, MetricDelta, RewardDelta, SideSummary

__all__ = ["Comparison", "MetricDelta", "RewardDelta", "SideSummary", "compare"]

"""Built-in corpus metrics, as mergeable states, and their runner.

Metrics: ``distinct`` (corpus distinct-n), ``distinct_avg`` (per-response distinct-n),
``self_bleu`` (Texygen self-BLEU-n, exact to NLTK), ``repetition`` (seq-rep-n and duplicate
share), ``ngram_entropy`` (Ent-n), ``ead`` (expectation-adjusted distinct-n), the ``diversity``
package's ``compression_ratio``, ``ngram_diversity_score`` and ``self_repetition_score``, and
``length``: :data:`METRICS`. The n-gram ones take ``tokenize=`` (default ``auto``). Also here: their
runner (:mod:`~rewardhub.metrics.runner`: whole-set and per-group values over a stream).

The host's per-sample rewards live in :mod:`rewardhub.rewards`; their names are still readable
here (``rewardhub.metrics.RepetitionPenalty``, ``REWARDS``...), loaded from there on first use.
"""

import importlib
from typing import Any

from rewardhub.metrics.compression import CompressionRatio
from rewardhub.metrics.distinct import Distinct, DistinctAverage
from rewardhub.metrics.ead import Ead
from rewardhub.metrics.entropy import NgramEntropy
from rewardhub.metrics.length import Length, LengthStatistics
from rewardhub.metrics.ngram_diversity import NgramDiversityScore
from rewardhub.metrics.ngrams import NgramCorpus
from rewardhub.metrics.repetition import Repetition
from rewardhub.metrics.self_bleu import SelfBleu, self_bleu_scores
from rewardhub.metrics.self_repetition import SelfRepetitionScore

METRICS = (Distinct, DistinctAverage, SelfBleu, Repetition, NgramEntropy)
METRICS += (Ead, CompressionRatio, NgramDiversityScore, SelfRepetitionScore, LengthStatistics)

#: Names that moved to :mod:`rewardhub.rewards`, still readable here.
_MOVED = ("REWARDS", "RepetitionPenalty", "DiversityBonus", "RepetitionLoop", "Truncated")


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        return getattr(importlib.import_module("rewardhub.rewards"), name)
    raise AttributeError(f"module 'rewardhub.metrics' has no attribute {name!r}")


__all__ = [
    "METRICS",
    "REWARDS",
    "CompressionRatio",
    "Distinct",
    "DistinctAverage",
    "DiversityBonus",
    "Ead",
    "Length",
    "LengthStatistics",
    "NgramCorpus",
    "NgramDiversityScore",
    "NgramEntropy",
    "Repetition",
    "RepetitionLoop",
    "RepetitionPenalty",
    "SelfBleu",
    "SelfRepetitionScore",
    "Truncated",
    "self_bleu_scores",
]

"""Built-in diversity metrics (corpus level) and diversity rewards (per sample).

Metrics: ``distinct`` (corpus distinct-n), ``distinct_avg`` (per-response distinct-n),
``self_bleu`` (Texygen self-BLEU-n, exact to NLTK), ``repetition`` (seq-rep-n and duplicate
share), ``ngram_entropy`` (Ent-n). Rewards: ``repetition_penalty`` (ms-swift) and
``diversity_bonus`` (group aware). All take ``tokenize=`` (default ``auto``).
"""

from rewardhub.metrics.distinct import Distinct, DistinctAverage
from rewardhub.metrics.diversity_rewards import DiversityBonus, RepetitionPenalty
from rewardhub.metrics.entropy import NgramEntropy
from rewardhub.metrics.ngrams import NgramCorpus
from rewardhub.metrics.repetition import Repetition
from rewardhub.metrics.self_bleu import SelfBleu, self_bleu_scores

METRICS = (Distinct, DistinctAverage, SelfBleu, Repetition, NgramEntropy)
REWARDS = (RepetitionPenalty, DiversityBonus)

__all__ = [
    "METRICS",
    "REWARDS",
    "Distinct",
    "DistinctAverage",
    "DiversityBonus",
    "NgramCorpus",
    "NgramEntropy",
    "Repetition",
    "RepetitionPenalty",
    "SelfBleu",
    "self_bleu_scores",
]

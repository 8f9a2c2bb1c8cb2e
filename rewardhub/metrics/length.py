"""``length``: how long the responses are, in tokens (of ``tokenize``, default ``auto``).

- ``length_mean``, ``length_median``: tokens per response (the median of an even count is the
  mean of the two middle lengths, as ``statistics.median``);
- ``average_sentence_length``: all tokens over all sentences, i.e. the mean sentence length in
  tokens. A sentence ends right after ``。``, ``！`` or ``？``; after ``.``, ``!``, ``?`` or ``…``
  followed by whitespace or the end of the text; or at a line break. Blank pieces do not count.

The name ``average_sentence_length`` is the one the issue gives for EvalScope; the EvalScope
snapshot we read (modelscope/evalscope, default branch) has no metric of that name, so this
definition is ours, stated above. No direction: longer is neither better nor worse. No
responses: no value; responses but no sentence: no ``average_sentence_length``.

Mergeable state: a count of responses per length (exact median at any scale, memory bounded by
the number of distinct lengths), the token and sentence totals. Tested in
``tests/test_metrics_length.py`` and ``tests/test_metrics_new_states.py``.
"""

from __future__ import annotations

import re
from collections import Counter

from rewardhub.host.state import MetricState
from rewardhub.metrics.base import NgramMetric, Responses, response_texts

#: A sentence ends after a CJK full stop, exclamation or question mark; after ``.``, ``!``, ``?``
#: or ``…`` followed by whitespace or the end; or at a line break.
SENTENCE_END = re.compile(r"(?<=[\u3002\uff01\uff1f])\s*|(?<=[.!?\u2026])(?:\s+|$)|\n+")


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (see the module doc), blank pieces dropped."""
    return [piece for piece in SENTENCE_END.split(text) if piece.strip()]


def median_of_counts(counts: Counter[int]) -> float:
    """The median of a multiset of integers given as ``{value: how many}``."""
    total = sum(counts.values())
    ordered = sorted(counts.items())
    middle = [(total - 1) // 2, total // 2]  # 0-based ranks of the middle value(s)
    found: list[int] = []
    seen = 0
    for value, count in ordered:
        while len(found) < 2 and middle[len(found)] < seen + count:
            found.append(value)
        seen += count
        if len(found) == 2:
            break
    return (found[0] + found[1]) / 2


class LengthStatistics(NgramMetric):
    """Mean and median tokens per response and the mean sentence length in tokens."""

    name = "length"
    higher_is_better = None
    version = "1"
    description = "Tokens per response (mean, median) and mean sentence length in tokens"

    def state(self) -> LengthState:
        return LengthState(self)


class LengthState(MetricState):
    """Responses per token length, and the token and sentence totals."""

    def __init__(self, metric: LengthStatistics) -> None:
        super().__init__()
        self.metric = metric
        self.lengths: Counter[int] = Counter()
        self.tokens = 0
        self.sentences = 0

    def add(self, samples: Responses, pass_: int = 0) -> None:
        if not len(samples):
            return
        counts = self.metric.hashed(samples).lengths.tolist()  # the n-gram metrics' chunk: tokenized once
        self.lengths.update(counts)
        self.tokens += sum(counts)
        self.sentences += sum(len(sentences(text)) for text in response_texts(samples))

    def merge(self, other: MetricState) -> None:
        assert isinstance(other, LengthState)
        self.lengths.update(other.lengths)
        self.tokens += other.tokens
        self.sentences += other.sentences

    def result(self) -> dict[str, float]:
        responses = sum(self.lengths.values())
        if not responses:
            return {}
        values = {"length_mean": self.tokens / responses, "length_median": median_of_counts(self.lengths)}
        if self.sentences:
            values["average_sentence_length"] = self.tokens / self.sentences
        return values


#: The former name (before the verify plugin's ``length`` reward, a different class, shared it).
Length = LengthStatistics

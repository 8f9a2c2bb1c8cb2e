"""The base of the n-gram metrics: one tokenizer argument, one way to read responses, and the
base of their mergeable states, which share one hashed chunk per (tokenizer, chunk); the
argument checks the metrics and the host's token rewards (:mod:`rewardhub.rewards`) share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

from rewardhub.host.kinds import Metric
from rewardhub.host.state import MetricState
from rewardhub.metrics.hashed import HashedChunk, hashed_chunk
from rewardhub.text import Tokenizer, get_tokenizer
from rewardhub.types import Sample

#: Metrics accept samples, or bare response strings for convenience.
Responses = Sequence[Union[Sample, str]]


def response_texts(samples: Responses) -> list[str]:
    """The response text of each item (a :class:`Sample` or a plain string)."""
    return [s if isinstance(s, str) else s.response for s in samples]


def resolve_tokenizer(name: str) -> Tokenizer | None:
    """The tokenizer ``name``, checked now; ``None`` for ``hf:`` ones, which load on first use."""
    return None if name.startswith("hf:") else get_tokenizer(name)


def positive_int(name: str, value: Any) -> int:
    """``value``, checked to be an ``int`` of at least 1 (not a bool), for an arg called ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


class NgramMetric(Metric):
    """A corpus metric over the n-grams of the responses' tokens (``tokenize``: see
    :mod:`rewardhub.text.tokenizers`; ``auto`` splits Chinese per character). Defined by its
    mergeable :meth:`state`; ``compute(samples)`` runs the samples through one."""

    def __init__(self, tokenize: str = "auto"):
        self.tokenize = tokenize
        self._tokenizer = resolve_tokenizer(tokenize)

    def token_lists(self, samples: Responses) -> list[list[str]]:
        return [self.tokenizer(text) for text in response_texts(samples)]

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = get_tokenizer(self.tokenize)
        return self._tokenizer

    def hashed(self, samples: Responses) -> HashedChunk:
        """The hashed n-grams of a chunk, shared with other metrics folding in the same chunk."""
        return hashed_chunk(response_texts(samples), self.tokenize, self.tokenizer)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_tokenizer": None}  # rebuilt by name where it is used

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} v{self.version} tokenize={self.tokenize!r}>"


class NgramState(MetricState):
    """A state of an :class:`NgramMetric`: reads each chunk through :meth:`NgramMetric.hashed`.
    The metric object travels with the state (it is small and picklable: its tokenizer is
    rebuilt by name on the other side)."""

    def __init__(self, metric: NgramMetric):
        super().__init__()
        self.metric = metric

    def add(self, samples: Responses, pass_: int = 0) -> None:
        if len(samples):
            self.fold(self.metric.hashed(samples), pass_)

    def fold(self, chunk: HashedChunk, pass_: int) -> None:
        raise NotImplementedError

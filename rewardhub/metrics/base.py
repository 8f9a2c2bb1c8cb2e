"""The base of the n-gram metrics: one tokenizer argument, one way to read responses, and one
n-gram corpus per set of responses shared by every metric that looks at that set."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Union

from rewardhub.metrics.ngrams import NgramCorpus
from rewardhub.rewards import Metric
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


#: Recently built corpora by (tokenizer, texts): distinct, distinct_avg, repetition,
#: ngram_entropy and self_bleu over one set tokenize it and number its n-grams once, not five
#: times. Two entries: the set being measured and the one before it.
_CORPORA: OrderedDict[tuple[str, tuple[str, ...]], NgramCorpus] = OrderedDict()
_CORPORA_SIZE = 2
_corpora_lock = threading.Lock()


class NgramMetric(Metric):
    """A corpus metric over the n-grams of the responses' tokens (``tokenize``: see
    :mod:`rewardhub.text.tokenizers`; ``auto`` splits Chinese per character)."""

    def __init__(self, tokenize: str = "auto"):
        self.tokenize = tokenize
        self._tokenizer = resolve_tokenizer(tokenize)

    def token_lists(self, samples: Responses) -> list[list[str]]:
        if self._tokenizer is None:
            self._tokenizer = get_tokenizer(self.tokenize)
        return [self._tokenizer(text) for text in response_texts(samples)]

    def corpus(self, samples: Responses) -> NgramCorpus:
        """The n-gram corpus of the responses, shared with other metrics measuring the same set."""
        texts = tuple(response_texts(samples))
        key = (self.tokenize, texts)  # str hashes are cached by Python: cheap for a repeated set
        with _corpora_lock:
            if key in _CORPORA:
                _CORPORA.move_to_end(key)
                return _CORPORA[key]
        corpus = NgramCorpus(self.token_lists(texts))
        with _corpora_lock:
            _CORPORA[key] = corpus
            while len(_CORPORA) > _CORPORA_SIZE:
                _CORPORA.popitem(last=False)
        return corpus

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} v{self.version} tokenize={self.tokenize!r}>"

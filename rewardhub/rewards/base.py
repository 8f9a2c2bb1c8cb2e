"""The base of the host's token rewards: the response's tokens from the run's shared tokenizer memo."""

from __future__ import annotations

from rewardhub.host.kinds import Reward
from rewardhub.metrics.base import resolve_tokenizer
from rewardhub.text import Tokenizer, get_tokenizer
from rewardhub.text.tokenizers import lowercased_tokens


class TokenReward(Reward):
    """A reward over the tokens of the response (``tokenize``: a rewardhub tokenizer name),
    read from the run's shared tokenizer memo; pure Python, so called in the calling thread."""

    batch_size = 1024
    pure_python = True

    def __init__(self, tokenize: str):
        self.tokenize = tokenize
        self._tokenizer: Tokenizer | None = resolve_tokenizer(tokenize)

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = get_tokenizer(self.tokenize)
        return self._tokenizer

    def tokens(self, text: str, lowercase: bool = False) -> list[str]:
        """The tokens of ``text`` (of ``text.lower()`` with ``lowercase``)."""
        return lowercased_tokens(self.tokenizer, text) if lowercase else self.tokenizer(text)

"""``ngram_diversity_score``: the ``diversity`` package's n-gram diversity (Shaib et al. 2024;
after Padmakumar & He 2022). Higher is more diverse.

``sum over n = 1..num_n of distinct n-grams / all n-grams``, so it ranges up to ``num_n`` (4 by
default), not 1. Exactly what ``diversity.ngram_diversity_score(responses, num_n)`` computes,
quirks included:

- **n-grams cross response boundaries**: the responses are joined with single spaces and the
  n-grams run over the joined text, so the last words of one response and the first of the next
  make n-grams too;
- tokens are the joined text split on single spaces (``str.split(" ")``): two spaces in a row
  give an empty token, and a newline does not separate words (``"end.\\nNext"`` is one token);
- the package rounds to 3 decimals; we report the unrounded sum;
- fewer tokens than ``num_n``: the package raises ZeroDivisionError; we give no value.

``tokenize``: ``"auto"`` (default; also ``None``) is the package's split above, so passing the
run-wide default explicitly changes nothing; a set holding CJK text, which that split cannot
tokenize, has no value but an error saying so (:mod:`rewardhub.metrics.package_split`), as
with ``"whitespace"`` (each response's ``str.split()``). Any other rewardhub tokenizer (``zh``,
``13a``, ``hf:...``) tokenizes each response with it, and n-grams still cross boundaries.

Mergeable state: one set of 64-bit n-gram hashes per order, the token count, and the first and
last ``num_n - 1`` token hashes, from which a merge (in stream order) forms exactly the n-grams
that cross the boundary between the two parts. Tested in ``tests/test_metrics_shaib.py``,
``tests/test_metrics_new_states.py`` and ``tests/test_measures_tokenize.py``.
"""

from __future__ import annotations

from rewardhub.lazy import np
from rewardhub.metrics.base import Responses, positive_int, response_texts
from rewardhub.metrics.hash_sets import HashSet
from rewardhub.metrics.hashing import ngram_hashes_flat, token_hashes
from rewardhub.metrics.package_split import WHITESPACE_SPLITS, checked_tokenize, refuse, untokenizable
from rewardhub.metrics.state import MetricState
from rewardhub.rewards import Metric
from rewardhub.text import get_tokenizer


def joined_tokens(texts: list[str], tokenize: str | None = "auto") -> list[str]:
    """The token stream the score runs over: the package's ``" ".join(texts).split(" ")`` for
    ``auto`` (or ``None``), else each text's tokens from the rewardhub tokenizer ``tokenize``,
    one after the other."""
    if tokenize in (None, "auto"):
        return " ".join(texts).split(" ")
    tokenizer = get_tokenizer(tokenize)
    return [token for text in texts for token in tokenizer(text)]


class NgramDiversityScore(Metric):
    """Sum over orders 1..``num_n`` of distinct / all n-grams of the joined responses
    (``diversity`` package; see the module doc for its quirks). Key ``ngram_diversity_score``."""

    name = "ngram_diversity_score"
    higher_is_better = True
    version = "2"  # 2: tokenize "auto" is the package's split; CJK text refused
    description = "Sum over n=1..4 of distinct/all n-grams of the joined responses (diversity package)"

    def __init__(self, num_n: int = 4, tokenize: str | None = "auto") -> None:
        positive_int("num_n", num_n)
        self.num_n, self.tokenize = num_n, checked_tokenize(tokenize)

    def state(self) -> NgramDiversityState:
        return NgramDiversityState(self.num_n, self.tokenize)


class NgramDiversityState(MetricState):
    """Distinct n-gram hashes per order over the token stream so far, with its ends."""

    def __init__(self, num_n: int, tokenize: str = "auto") -> None:
        super().__init__()
        self.num_n, self.tokenize = num_n, tokenize
        self.seen = [HashSet() for _ in range(num_n)]  # seen[k - 1]: n-grams of order k
        self.tokens = 0
        self.responses = 0
        self.untokenizable = 0  # responses a whitespace split cannot tokenize (CJK)
        self.head = np.zeros(0, dtype=np.uint64)  # the first num_n - 1 token hashes
        self.tail = np.zeros(0, dtype=np.uint64)  # the last num_n - 1 token hashes

    def add(self, samples: Responses, pass_: int = 0) -> None:
        texts = response_texts(samples)
        if not texts:  # an empty chunk adds no separator, hence no token
            return
        flat = token_hashes(joined_tokens(texts, self.tokenize))
        chunk = NgramDiversityState(self.num_n, self.tokenize)
        lengths = np.array([len(flat)], dtype=np.int64)
        for k in range(1, self.num_n + 1):
            chunk.seen[k - 1].update(ngram_hashes_flat(flat, lengths, k)[0])
        chunk.tokens, chunk.responses = len(flat), len(texts)
        if self.tokenize in WHITESPACE_SPLITS:
            chunk.untokenizable = untokenizable(texts)
        edge = self.num_n - 1
        chunk.head, chunk.tail = flat[:edge].copy(), flat[len(flat) - min(edge, len(flat)) :].copy()
        self.merge(chunk)

    def merge(self, other: MetricState) -> None:
        """Fold in ``other``, the part of the stream that comes right after this one."""
        assert isinstance(other, NgramDiversityState) and other.num_n == self.num_n
        edge = self.num_n - 1
        window = np.concatenate([self.tail, other.head])
        for k in range(2, self.num_n + 1):  # n-grams starting in our tail and ending in their head
            hashes, _ = ngram_hashes_flat(window, np.array([len(window)], dtype=np.int64), k)
            starts = np.arange(len(hashes))
            self.seen[k - 1].update(hashes[(starts < len(self.tail)) & (starts + k > len(self.tail))])
        for mine, theirs in zip(self.seen, other.seen):
            mine.merge(theirs)
        if len(self.head) < edge:
            self.head = np.concatenate([self.head, other.head])[:edge]
        self.tail = other.tail if len(other.tail) == edge else window[len(window) - min(edge, len(window)) :]
        self.tokens += other.tokens
        self.responses += other.responses
        self.untokenizable += other.untokenizable

    def result(self) -> dict[str, float]:
        refuse("ngram_diversity_score", self.untokenizable, self.responses)
        if self.tokens < self.num_n:
            return {}
        score = sum(len(self.seen[k - 1]) / (self.tokens - k + 1) for k in range(1, self.num_n + 1))
        return {"ngram_diversity_score": score}

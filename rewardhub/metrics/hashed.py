"""The one n-gram representation: hashed n-grams of a chunk of responses.

A :class:`HashedChunk` holds a chunk's tokens as process-stable uint64 hashes
(:mod:`rewardhub.metrics.hashing`) and derives, per n-gram order ``k`` on first use:

- :meth:`HashedChunk.counts_per_response`: one row per (n-gram, response) that occurs, with
  how often the n-gram occurs in that response, sorted by hash (what per-response measures and
  self-BLEU's clipping need; sorted, so table look-ups are a merge-like binary search);
- :meth:`HashedChunk.ngram_counts`: the chunk's distinct n-grams, sorted, and their counts
  (what distinct-n, EAD and entropy fold into their tables).

Every n-gram metric's mergeable state folds chunks in through these, and ``compare``'s corpus
resampling reads a whole side as one chunk (:mod:`rewardhub.compare.corpus`), so a value is the
same computation whichever door it comes through. n-grams never cross a response boundary.
:func:`hashed_chunk` shares one chunk between the states folding the same texts with the same
tokenizer (the latest one only; no text is kept alive: the memos are keyed by digests).
:class:`LengthTable` is the per-response
table (distinct-avg, seq-rep): integer sums by n-gram total, so merging is exact.

Tested in ``tests/test_ngram_states_oracle.py`` (against dense-id oracles and plain Python),
``tests/test_metric_states.py``, ``tests/test_ngram_memory.py`` (what stays alive) and
``tests/test_text_hash_memo.py`` (the token-hash memo: hits, its byte bound, its keys).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from hashlib import blake2b

from rewardhub.lazy import np
from rewardhub.memo import MiB, RecentMemo, budget
from rewardhub.metrics.hash_sets import run_starts
from rewardhub.metrics.hashing import ngram_hashes_flat, token_hashes

#: Bytes of per-text token hashes remembered across chunks and passes (:class:`TextHashMemo`);
#: ``REWARDHUB_TEXT_HASHES_MB`` changes it (``0`` turns the memo off).
HASH_MEMO_BYTES = budget("text_hashes", 32 * MiB)
#: Bytes a :class:`TextHashMemo` entry costs beyond its hashes: the key (tokenizer name, 16-byte
#: digest), the entry tuple, the array header and the dict's slot, from above.
ENTRY_BYTES = 512


def _empty(dtype: str) -> np.ndarray:
    return np.zeros(0, dtype=dtype)


class HashedChunk:
    """The hashed tokens and n-grams of one chunk of responses (one token list each)."""

    def __init__(self, token_lists: Sequence[Sequence[str]], texts: Sequence[str] = ()):
        self._start(
            token_hashes(list(texts)),
            np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists)),
            token_hashes([t for tokens in token_lists for t in tokens]),
        )

    @classmethod
    def of_hashes(cls, per_response: Sequence[np.ndarray], text_hashes: np.ndarray) -> HashedChunk:
        """The chunk of responses given as their token hashes (one array each)."""
        chunk = cls.__new__(cls)
        lengths = np.fromiter(map(len, per_response), dtype=np.int64, count=len(per_response))
        flat = np.concatenate(per_response) if len(per_response) else _empty("uint64")
        chunk._start(text_hashes, lengths, flat)
        return chunk

    def _start(self, text_hashes: np.ndarray, lengths: np.ndarray, flat: np.ndarray) -> None:
        self.size = len(lengths)
        #: hashes of the whole response texts, when given (exact-duplicate counting)
        self.text_hashes = text_hashes
        self.lengths = lengths
        self.flat = flat  # every token's hash, response after response
        self._pairs: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._counts: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._shared: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def grams(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(hashes, responses)`` of every n-gram occurrence of order ``k``, in corpus order."""
        return ngram_hashes_flat(self.flat, self.lengths, k)

    def counts_per_response(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(hashes, responses, counts)``: one row per (n-gram, response) that occurs, with how
        often the n-gram occurs in that response; sorted by hash, then response. Responses and
        counts are int32 (16 bytes a row)."""
        if k not in self._pairs:
            self._pairs[k] = self._count_pairs(k)
        return self._pairs[k]

    def _count_pairs(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return count_pairs(*self.grams(k), self.size)

    def shared_pairs(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows of :meth:`counts_per_response` whose n-gram two or more responses hold (the
        only ones a self-BLEU hypothesis can match against the others), in the same order."""
        if k not in self._shared:
            hashes, responses, counts = self.counts_per_response(k)
            starts = run_starts(hashes)
            lengths = np.diff(np.r_[starts, len(hashes)])
            shared = np.repeat(lengths > 1, lengths)
            self._shared[k] = (hashes[shared], responses[shared], counts[shared])
        return self._shared[k]

    def ngram_counts(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(hashes, counts)``: the distinct n-grams of order ``k``, sorted, and how often each
        occurs in the chunk (int64)."""
        if k not in self._counts:
            hashes, _, counts = self.counts_per_response(k)
            starts = run_starts(hashes)
            totals = np.add.reduceat(counts.astype(np.int64), starts) if len(starts) else _empty("int64")
            self._counts[k] = (hashes[starts], totals)
        return self._counts[k]

    def distinct_per_response(self, k: int) -> np.ndarray:
        """How many distinct n-grams of order ``k`` each response has."""
        _, responses, _ = self.counts_per_response(k)
        return np.bincount(responses, minlength=self.size)

    def totals(self, k: int) -> np.ndarray:
        """The number of n-grams of order ``k`` in each response."""
        return np.maximum(self.lengths - (k - 1), 0)

    @property
    def nbytes(self) -> int:
        arrays = [self.text_hashes, self.lengths, self.flat]
        arrays += [a for rows in (*self._pairs.values(), *self._counts.values(), *self._shared.values()) for a in rows]
        return sum(a.nbytes for a in arrays)


def count_pairs(hashes: np.ndarray, responses: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(hashes, responses, counts)``: one row per distinct (hash, response) among the
    occurrences given, with how many there are; sorted by hash, then response (int32 responses
    and counts). A SIMD argsort by hash, then one by response inside the runs of equal hashes
    only (most n-grams of order 3 and up occur once), rather than one ``np.lexsort``."""
    if not len(hashes):
        return _empty("uint64"), _empty("int32"), _empty("int32")
    order = np.argsort(hashes)
    hashes, responses = hashes[order], responses[order]
    del order
    same = hashes[1:] == hashes[:-1]
    shared = np.flatnonzero(np.r_[same, False] | np.r_[False, same])  # rows in runs of 2 or more
    del same
    if len(shared):
        run = np.cumsum(np.r_[False, hashes[shared[1:]] != hashes[shared[:-1]]])
        inner = responses[shared]
        key = run * max(size, 1) + inner
        del run
        if not np.all(key[1:] >= key[:-1]):
            responses[shared] = inner[np.argsort(key)]
    starts = np.flatnonzero(np.r_[True, (hashes[1:] != hashes[:-1]) | (responses[1:] != responses[:-1])])
    counts = np.diff(np.r_[starts, len(hashes)]).astype(np.int32)
    return hashes[starts], responses[starts].astype(np.int32), counts


def text_digests(texts: Sequence[str]) -> list[bytes]:
    """A 128-bit BLAKE2b digest of each text: what the memos below are keyed by, so they keep
    no text alive (a 0.7 MB response costs its 16 bytes, not its characters)."""
    return [blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest() for text in texts]


class TextHashMemo:
    """Each recent text's token hashes, per tokenizer, in a :class:`~rewardhub.memo.RecentMemo`
    bounded by bytes (8 per token plus :data:`ENTRY_BYTES` per text) and keyed by
    ``(tokenizer name, digest of the text)`` (:func:`text_digests`), so it holds no text. A
    second pass over the same rows (self-BLEU's) then needs neither the tokenizer nor the
    hashing: rows hashed once in order whose entries fit the budget (the default 32 MB: about
    4M tokens, less 64 tokens' worth a response) are all found again, in any order (the memo
    drops its older generation only when a second one fills up)

    Texts it has to tokenize are split without filling the tokenizer's own memo (tokens as
    Python strings, about 60 bytes each): what the n-gram metrics keep of a text is its hashes,
    here. Tokens a reward of the run already asked for are taken from that memo."""

    def __init__(self, max_bytes: int):
        self.memo: RecentMemo[tuple[str, bytes], tuple[int, np.ndarray]] = RecentMemo(max_bytes=max_bytes)

    @property
    def max_bytes(self) -> int:
        return self.memo.max_bytes

    @property
    def nbytes(self) -> int:
        """The bytes held now, as accounted (never more than :attr:`max_bytes`)."""
        return self.memo.nbytes

    def __len__(self) -> int:
        return len(self.memo)

    def chunk(
        self,
        texts: Sequence[str],
        tokenize: str,
        tokenizer: Callable[[str], list[str]],
        digests: Sequence[bytes] | None = None,
    ) -> HashedChunk:
        """The :class:`HashedChunk` of ``texts``, tokenizing and hashing only the texts not remembered."""
        keys = [(tokenize, d) for d in (text_digests(texts) if digests is None else digests)]
        found = [self.memo.get(key) for key in keys]
        missing = [i for i, entry in enumerate(found) if entry is None]
        if missing:
            split = getattr(tokenizer, "tokens_unremembered", tokenizer)
            new_texts = [texts[i] for i in missing]
            token_lists = [split(text) for text in new_texts]
            flat = token_hashes([t for tokens in token_lists for t in tokens])
            ends = np.cumsum([len(tokens) for tokens in token_lists])
            del token_lists
            new_hashes = token_hashes(new_texts)
            del new_texts
            for i, text_hash, start, end in zip(missing, new_hashes.tolist(), np.r_[0, ends[:-1]], ends):
                found[i] = (text_hash, flat[start:end].copy())  # a copy: entries never pin the chunk
            self.memo.put_many((keys[i], found[i], found[i][1].nbytes + ENTRY_BYTES) for i in missing)  # type: ignore[index]
        entries: list[tuple[int, np.ndarray]] = found  # type: ignore[assignment]
        hashes = np.fromiter((h for h, _ in entries), dtype=np.uint64, count=len(entries))
        return HashedChunk.of_hashes([a for _, a in entries], hashes)

    def clear(self) -> None:
        self.memo.clear()


#: The process's memo of token hashes (see :class:`TextHashMemo`).
TEXT_HASHES = TextHashMemo(HASH_MEMO_BYTES)

#: The latest chunk :func:`hashed_chunk` built: ``(key, chunk)``.
_LATEST: list[tuple[tuple[str, bytes], HashedChunk]] = []
_chunks_lock = threading.Lock()


def hashed_chunk(texts: Sequence[str], tokenize: str, tokenizer: Callable[[str], list[str]]) -> HashedChunk:
    """The :class:`HashedChunk` of ``texts``, shared by every state folding in the same chunk
    with the same tokenizer: the latest chunk is remembered (by the digest of its texts' digests,
    so no text is kept alive) until another is asked for, and dropped before that one is built,
    so at most one chunk's arrays are held; built from the texts' remembered token hashes where
    :data:`TEXT_HASHES` has them."""
    digests = text_digests(texts)
    key = (tokenize, blake2b(b"".join(digests), digest_size=16).digest())
    with _chunks_lock:
        if _LATEST and _LATEST[0][0] == key:
            return _LATEST[0][1]
        _LATEST.clear()  # before building the next one: one chunk's arrays at a time
    chunk = TEXT_HASHES.chunk(texts, tokenize, tokenizer, digests)
    with _chunks_lock:
        _LATEST[:] = [(key, chunk)]
    return chunk


def forget_chunks() -> None:
    """Drop the remembered chunk (tests; a caller done with a stream)."""
    with _chunks_lock:
        _LATEST.clear()


class LengthTable:
    """Per n-gram total ``t``: how many responses have ``t`` n-grams and the sum of their
    distinct n-gram counts. Integers, so any chunking and merge order gives the same table."""

    def __init__(self) -> None:
        self.responses = _empty("int64")
        self.distinct = _empty("int64")

    def add(self, totals: np.ndarray, distinct: np.ndarray) -> None:
        size = max(len(self.responses), int(totals.max()) + 1 if len(totals) else 0)
        self.responses = grow(self.responses, size) + np.bincount(totals, minlength=size)
        self.distinct = grow(self.distinct, size) + np.bincount(totals, weights=distinct, minlength=size).astype(
            np.int64
        )

    def merge(self, other: LengthTable) -> None:
        size = max(len(self.responses), len(other.responses))
        self.responses = grow(self.responses, size) + grow(other.responses, size)
        self.distinct = grow(self.distinct, size) + grow(other.distinct, size)

    @property
    def count(self) -> int:
        return int(self.responses.sum())

    def ratio_sum(self) -> float:
        """The sum over responses of ``distinct / total`` (responses without n-grams add 0)."""
        totals = np.arange(1, len(self.distinct))
        return float(np.sum(self.distinct[1:] / totals)) if len(totals) else 0.0


def grow(values: np.ndarray, size: int) -> np.ndarray:
    return values if len(values) >= size else np.concatenate([values, np.zeros(size - len(values), values.dtype)])

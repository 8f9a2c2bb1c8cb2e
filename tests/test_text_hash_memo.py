"""The token-hash memo of the n-gram metrics (``rewardhub.metrics.hashed.TextHashMemo``): a hit
gives the same hashes as tokenizing and hashing again, without calling the tokenizer; the memo
never holds more bytes than its budget (a ``RecentMemo``), keeps no text (keys are 16-byte
digests), and its budget comes from ``REWARDHUB_TEXT_HASHES_MB``."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardhub.metrics.hashed import ENTRY_BYTES, HashedChunk, TextHashMemo


class CountingSplit:
    """A whitespace tokenizer that counts the texts it splits."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, text: str) -> list[str]:
        self.calls += 1
        return text.split()


def random_texts(count: int, seed: int, words: int = 30) -> list[str]:
    rnd = random.Random(seed)
    vocab = [f"w{i}" for i in range(50)] + ["é", "猫", "a"]
    return [" ".join(rnd.choice(vocab) for _ in range(rnd.randint(0, words))) for _ in range(count)]


def same_chunk(a: HashedChunk, b: HashedChunk) -> bool:
    return (
        np.array_equal(a.flat, b.flat)
        and np.array_equal(a.lengths, b.lengths)
        and np.array_equal(a.text_hashes, b.text_hashes)
        and all(
            np.array_equal(x, y) for k in (1, 2, 3) for x, y in zip(a.counts_per_response(k), b.counts_per_response(k))
        )
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet="ab c\u00e9\u732b", max_size=20), max_size=12), st.randoms(use_true_random=False))
def test_a_hit_gives_the_same_hashes_as_hashing_again(texts, rnd):
    memo = TextHashMemo(1 << 20)
    split = CountingSplit()
    first = memo.chunk(texts, "whitespace", split)
    fresh = HashedChunk([t.split() for t in texts], texts)
    assert same_chunk(first, fresh)
    calls = split.calls
    again = list(texts)
    rnd.shuffle(again)
    second = memo.chunk(again, "whitespace", split)
    assert split.calls == calls  # every text remembered: no tokenizer call
    assert same_chunk(second, HashedChunk([t.split() for t in again], again))


def test_hits_and_misses_mix_in_one_chunk_in_order():
    texts = [f"t{i} {text}" for i, text in enumerate(random_texts(40, seed=3))]  # all different
    memo = TextHashMemo(1 << 20)
    split = CountingSplit()
    memo.chunk(texts[::2], "whitespace", split)
    split.calls = 0
    chunk = memo.chunk(texts, "whitespace", split)
    assert split.calls == len(texts[1::2])  # only the texts not seen yet
    assert same_chunk(chunk, HashedChunk([t.split() for t in texts], texts))


def test_the_tokenizer_name_is_part_of_the_key():
    memo = TextHashMemo(1 << 20)
    texts = ["a-b c", "d e-f"]
    memo.chunk(texts, "whitespace", str.split)
    chars = memo.chunk(texts, "chars", list)
    assert same_chunk(chars, HashedChunk([list(t) for t in texts], texts))


def test_the_byte_bound_holds_and_keys_hold_no_text():
    budget = 64 << 10
    memo = TextHashMemo(budget)
    split = CountingSplit()
    for seed in range(60):
        texts = random_texts(20, seed=seed, words=200)
        memo.chunk(texts, "whitespace", split)
        assert memo.nbytes <= budget
    entries = {**memo.memo._old, **memo.memo._new}
    assert entries and len(entries) == len(memo)
    accounted = sum(hashes.nbytes + ENTRY_BYTES for _, hashes in entries.values())
    assert accounted == memo.nbytes <= budget
    for (name, digest), (_, hashes) in entries.items():
        assert name == "whitespace" and isinstance(digest, bytes) and len(digest) == 16
        assert hashes.base is None  # its own buffer: no entry pins a chunk's arrays


def test_a_second_pass_over_rows_that_fit_the_budget_tokenizes_nothing():
    texts = [f"t{i} {text}" for i, text in enumerate(random_texts(300, seed=5, words=60))]
    need = sum(len(t.split()) * 8 + ENTRY_BYTES for t in texts)
    memo = TextHashMemo(need + need // 20)  # more than half the budget: two generations
    split = CountingSplit()
    for start in range(0, len(texts), 16):  # pass 0, in chunks
        memo.chunk(texts[start : start + 16], "whitespace", split)
    assert split.calls == len(texts) and memo.nbytes == need
    for start in range(0, len(texts), 16):  # pass 1: every text found again
        chunk = memo.chunk(texts[start : start + 16], "whitespace", split)
        part = texts[start : start + 16]
        assert same_chunk(chunk, HashedChunk([t.split() for t in part], part))
    assert split.calls == len(texts)


def test_a_text_too_large_for_the_budget_is_not_kept():
    memo = TextHashMemo(4 << 10)
    text = " ".join(f"w{i}" for i in range(1_000))  # 8 KB of hashes
    split = CountingSplit()
    chunk = memo.chunk([text], "whitespace", split)
    assert len(memo) == 0 and memo.nbytes == 0
    assert same_chunk(chunk, HashedChunk([text.split()], [text]))


def test_the_budget_comes_from_the_environment():
    code = "from rewardhub.metrics import hashed; print(hashed.TEXT_HASHES.max_bytes)"
    for value, expected in (("2", 2 << 20), ("0", 0)):
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "REWARDHUB_TEXT_HASHES_MB": value},
            capture_output=True,
            text=True,
            check=True,
        )
        assert int(out.stdout) == expected

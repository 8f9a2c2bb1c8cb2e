"""What the n-gram metrics keep alive between chunks (``rewardhub/metrics/hashed.py``): token
hashes keyed by digests, never the texts; one chunk's arrays at a time; the tokenizer's memo of
Python-string tokens left to the rewards that read it. numpy reports its buffers to
tracemalloc, so the bytes measured here include the hashed arrays."""

from __future__ import annotations

import gc
import random
import tracemalloc

from rewardhub.metrics import hashed
from rewardhub.metrics.runner import MetricsAccumulator
from rewardhub.text import get_tokenizer, tokenizers

NGRAM_METRICS = ["distinct", "distinct_avg", "repetition", "ngram_entropy", "self_bleu", "ead", "length"]


def long_word_texts(count: int, chars: int, seed: int) -> list[str]:
    """Texts of ``chars`` characters in words of about 60: few tokens for many characters, so
    a text kept alive shows far above its token hashes (8 bytes a token)."""
    rnd = random.Random(seed)
    texts = []
    for _ in range(count):
        words = []
        while sum(map(len, words)) < chars:
            words.append("".join(rnd.choice("abcdefghij") for _ in range(60)))
        texts.append(" ".join(words))
    return texts


def retained_after_the_run(texts: list[str]) -> int:
    """Bytes still allocated once a run over ``texts`` is over and the texts are dropped."""
    hashed.TEXT_HASHES.clear()
    hashed.forget_chunks()
    tokenizers._choices.clear()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        run = MetricsAccumulator(NGRAM_METRICS)
        for pass_ in range(run.passes):
            if pass_:
                run.start_pass(pass_)
            for start in range(0, len(texts), 8):
                run.add(texts[start : start + 8], pass_)
        run.result()
        del run
        texts.clear()
        gc.collect()
        # less what ``auto`` remembers of its choice per text (zh or 13a): a memo of the tokenizer
        # keyed by the texts, bounded by its own budget (docs/caches.md), not the n-gram metrics'
        return tracemalloc.get_traced_memory()[0] - before - tokenizers._choices.nbytes
    finally:
        tracemalloc.stop()


def test_no_text_outlives_the_run_in_the_ngram_memos():
    texts = long_word_texts(24, 400_000, seed=1)  # 9.6 MB of text, 160 K tokens (1.3 MB of hashes)
    size = sum(map(len, texts))
    retained = retained_after_the_run(texts)
    # what stays: the token hashes (8 bytes a token, to spare self-BLEU's second pass a
    # tokenization), not one of the 400 KB texts (b3cc6bc kept the last chunks' texts and their
    # tokens as Python strings: several times the text)
    assert retained < size / 4, (retained, size)


def test_the_ngram_metrics_leave_the_tokenizer_memo_to_the_rewards():
    tokenizer = get_tokenizer("auto")
    texts = [f"answer {i}: the cat sat on the mat, number {i}." for i in range(50)]
    hashed.TEXT_HASHES.clear()
    tokenizer._memo.clear()
    run = MetricsAccumulator(NGRAM_METRICS)
    run.add(texts)
    assert len(tokenizer._memo) == 0  # their tokens live on as hashes, 8 bytes each
    tokenizer(texts[0])  # a reward asks first: the metrics then read the memo, the same tokens
    hashed.TEXT_HASHES.clear()
    hashed.forget_chunks()
    other = MetricsAccumulator(NGRAM_METRICS)
    other.add(texts)
    assert other.result().values == run.result().values


def test_one_chunk_at_a_time_is_remembered():
    metric_texts = [long_word_texts(4, 2_000, seed=s) for s in range(3)]
    from rewardhub.metrics import Distinct

    metric = Distinct()
    chunks = [metric.hashed(texts) for texts in metric_texts]
    assert metric.hashed(metric_texts[2]) is chunks[2]  # the latest is shared by the states
    assert len(hashed._LATEST) == 1 and hashed._LATEST[0][1] is chunks[2]
    assert all(isinstance(part, (str, bytes)) and len(part) <= 16 for part in hashed._LATEST[0][0])

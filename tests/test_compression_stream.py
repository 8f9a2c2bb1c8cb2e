"""compression_ratio's result streams the text through its compressors a chunk at a time
(``rewardhub.metrics.compression.compressed_sizes``): the sizes are exactly those of compressing
the whole text at once, as the ``diversity`` package does, however the stream is cut."""

from __future__ import annotations

import gzip
import io
import itertools
import lzma
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardhub.metrics.compression import CompressionRatio, compressed_sizes, gzip_level9

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "realdata" / "alpaca_eval"


def one_shot_double_gzip(data: bytes) -> int:
    """The package's compressed.gz, whole: the inner gzip in memory, written into a GzipFile."""
    sink = io.BytesIO()
    with gzip.GzipFile(filename="compressed.gz", mode="wb", fileobj=sink, compresslevel=9, mtime=0) as outer:
        outer.write(gzip_level9(data))
    return sink.tell()


def cut(data: bytes, rnd: random.Random, pieces: int) -> list[bytes]:
    edges = sorted({0, len(data), *(rnd.randrange(len(data) + 1) for _ in range(pieces))})
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000) | st.text(max_size=2000).map(str.encode), st.integers(0, 2**32), st.integers(0, 12))
def test_streamed_sizes_equal_the_one_shot_sizes_however_the_bytes_are_cut(data, seed, pieces):
    total, sizes = compressed_sizes(cut(data, random.Random(seed), pieces))
    assert total == len(data)
    assert sizes == {"gzip": one_shot_double_gzip(data), "xz": len(lzma.compress(data))}


@pytest.mark.skipif(not REAL.is_dir(), reason="needs ../shared/realdata/alpaca_eval")
def test_real_answers_streamed_in_chunks_give_the_one_shot_sizes():
    import json

    texts = [json.loads(line)["output"] for line in (REAL / "alpaca-7b.jsonl").open(encoding="utf-8")]
    data = " ".join(texts).encode("utf-8")  # about 0.4 MB: past deflate's window, several blocks
    rnd = random.Random(0)
    for pieces in (1, 7, 400):
        total, sizes = compressed_sizes(cut(data, rnd, pieces))
        assert (total, sizes) == (len(data), {"gzip": one_shot_double_gzip(data), "xz": len(lzma.compress(data))})


def test_the_state_fed_in_chunks_gives_the_ratio_of_the_whole():
    rnd = random.Random(5)
    words = "the cat sat on a mat and then ran off to see 中文 text again".split()
    texts = [" ".join(rnd.choice(words) for _ in range(rnd.randrange(0, 40))) for _ in range(300)]
    data = " ".join(texts).encode("utf-8")
    metric = CompressionRatio()
    state = metric.state()
    for start in range(0, len(texts), 37):
        state.add(texts[start : start + 37])
    assert state.result() == {
        "compression_ratio_gzip": len(data) / one_shot_double_gzip(data),
        "compression_ratio_xz": len(data) / len(lzma.compress(data)),
    }

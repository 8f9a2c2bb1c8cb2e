"""``compression_ratio``: how much the responses compress, as the ``diversity`` package measures
it (Shaib et al. 2024, "Standardizing the measurement of text diversity"). Higher means more
compressible: more repetitive, less diverse.

Keys ``compression_ratio_gzip`` and ``compression_ratio_xz`` (``algorithms`` picks): the size of
the responses joined with single spaces (UTF-8 bytes) divided by its compressed size. Exactly
what ``diversity.compression_ratio(responses, algorithm)`` computes, quirks included:

- **gzip compresses twice**: the package writes ``gzip.compress(text)`` (level 9) into a
  ``GzipFile`` named ``compressed.gz`` (level 9 again, its header carrying that name), and
  divides by the size of that file. So ``compression_ratio_gzip`` is lower than a plain gzip
  ratio. Ours does the same, in memory;
- the inner gzip header holds a timestamp, which the outer compression then compresses: the
  package's value moves with the clock (by a few bytes in millions: 3,092,501 vs 3,092,504 on
  the 5,635 alpaca_eval answers). Ours fixes the timestamp at 0, so it is reproducible; the
  package gives the same value with its clock at 0 (that is how the tests compare);
- the inner header is written byte for byte as the package's ``gzip.compress`` writes it, OS
  byte 255 ("unknown") included. ``gzip.compress(data, mtime=0)`` would not do: CPython takes a
  zlib shortcut for ``mtime=0`` that writes OS byte 3 ("Unix"), and that one byte, compressed
  again, changes the outer size on about one small corpus in ten (``tests/test_compression_gzip.py``
  checks the bytes, and the ratio against the package on random small corpora);
- xz is ``lzma`` at its defaults (preset 6, CRC64 check), compressed once;
- the package rounds to 3 decimals; we report the unrounded ratio;
- the original size is the file it writes in text mode, i.e. the locale's encoding: UTF-8
  bytes here, as on any UTF-8 system.

No responses: no value (the package returns 0.0: an empty file over its compressed header).

``tokenize``: accepted, like every built-in metric's, and checked, but it changes nothing:
compression reads the UTF-8 bytes of the joined responses, with no tokens, so Chinese text is
measured like any other (its bytes compress; nothing to tokenize).

Mergeable state: a compression ratio of the whole concatenation is not a function of the
chunks' ratios, so the state holds the text itself, compressed per chunk with fast zlib (about
a third of its size), and :meth:`CompressionState.result` decompresses it in stream order and
compresses it as one stream (:func:`compressed_sizes`: one chunk's text at a time, counting
the compressed bytes, never holding the whole text or its compressed forms; the compressors'
state is what it costs, about 94 MB for xz's preset 6 at any size). Memory is O(corpus), a
third of the raw text; merges are exact. Tested in ``tests/test_metrics_shaib.py``,
``tests/test_metrics_new_states.py``, ``tests/test_compression_gzip.py`` and
``tests/test_compression_stream.py`` (streamed sizes equal the one-shot ones).
"""

from __future__ import annotations

import gzip
import io
import lzma
import struct
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from rewardhub.host.kinds import Metric
from rewardhub.host.state import MetricState
from rewardhub.metrics.base import Responses, response_texts
from rewardhub.metrics.package_split import checked_tokenize

ALGORITHMS = ("gzip", "xz")


#: The header ``gzip.compress`` writes at level 9 with timestamp 0: magic, deflate, no flags,
#: mtime 0, extra flags 2 (best compression), OS 255 (unknown). RFC 1952, section 2.3.
GZIP_HEADER_LEVEL9_MTIME0 = struct.pack("<BBBBLBB", 0x1F, 0x8B, 8, 0, 0, 2, 255)


def gzip_level9(data: bytes) -> bytes:
    """``data`` gzipped as the package's ``gzip.compress(data)`` does (level 9), with its clock
    at 0: header (:data:`GZIP_HEADER_LEVEL9_MTIME0`), raw deflate, CRC-32 and size."""
    trailer = struct.pack("<LL", zlib.crc32(data), len(data) & 0xFFFFFFFF)
    return GZIP_HEADER_LEVEL9_MTIME0 + zlib.compress(data, level=9, wbits=-15) + trailer


class _ByteCount(io.RawIOBase):
    """A write-only sink that keeps only how many bytes went in."""

    def __init__(self) -> None:
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        self.count += size
        return size


class _DoubleGzip:
    """:func:`double_gzip_size` fed piece by piece: the inner gzip (:func:`gzip_level9`) is
    streamed into the outer ``GzipFile`` as it is produced, and only the outer bytes are counted."""

    def __init__(self) -> None:
        self.sink = _ByteCount()
        self.outer = gzip.GzipFile(filename="compressed.gz", mode="wb", fileobj=self.sink, compresslevel=9, mtime=0)
        self.outer.write(GZIP_HEADER_LEVEL9_MTIME0)
        self.inner = zlib.compressobj(9, zlib.DEFLATED, -15)
        self.crc, self.size = 0, 0

    def feed(self, data: bytes) -> None:
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        self.outer.write(self.inner.compress(data))

    def finish(self) -> int:
        self.outer.write(self.inner.flush() + struct.pack("<LL", self.crc, self.size & 0xFFFFFFFF))
        self.outer.close()
        return self.sink.count


class _Xz:
    """:func:`xz_size` fed piece by piece (lzma's defaults: preset 6, CRC64)."""

    def __init__(self) -> None:
        self.compressor = lzma.LZMACompressor()
        self.count = 0

    def feed(self, data: bytes) -> None:
        self.count += len(self.compressor.compress(data))

    def finish(self) -> int:
        return self.count + len(self.compressor.flush())


_STREAMS = {"gzip": _DoubleGzip, "xz": _Xz}


def compressed_sizes(pieces: Iterable[bytes], algorithms: Sequence[str] = ALGORITHMS) -> tuple[int, dict[str, int]]:
    """``(original size, {algorithm: compressed size})`` of the concatenation of ``pieces``,
    compressed as a stream: the same bytes as compressing the whole at once (deflate and LZMA
    decide nothing by where their input was cut; ``tests/test_compression_stream.py``), holding
    one piece at a time and the compressors' own state (lzma's preset 6: about 94 MB), never
    the text nor its compressed forms."""
    streams = {a: _STREAMS[a]() for a in algorithms}
    total = 0
    for piece in pieces:
        total += len(piece)
        for stream in streams.values():
            stream.feed(piece)
    return total, {a: stream.finish() for a, stream in streams.items()}


def double_gzip_size(data: bytes) -> int:
    """The size of the ``diversity`` package's ``compressed.gz``: ``data`` gzipped (level 9,
    timestamp 0: :func:`gzip_level9`), written into a level-9 ``GzipFile`` named ``compressed.gz``."""
    return compressed_sizes([data], ("gzip",))[1]["gzip"]


def xz_size(data: bytes) -> int:
    """The size of ``data`` xz-compressed at lzma's defaults (what ``lzma.open(..., "wb")`` writes)."""
    return compressed_sizes([data], ("xz",))[1]["xz"]


COMPRESSED_SIZE = {"gzip": double_gzip_size, "xz": xz_size}


def compression_ratio(texts: Sequence[str], algorithm: str = "gzip") -> float:
    """``diversity.compression_ratio(texts, algorithm)``, unrounded, with the gzip timestamp at 0."""
    data = " ".join(texts).encode("utf-8")
    return len(data) / COMPRESSED_SIZE[algorithm](data)


class CompressionRatio(Metric):
    """Original / compressed size of the joined responses, per algorithm (``gzip``, ``xz``),
    as the ``diversity`` package computes it (see the module doc for its quirks)."""

    name = "compression_ratio"
    higher_is_better = False
    version = "2"  # 2: the inner gzip header is the package's (OS byte 255); takes tokenize
    description = "Original / compressed size of the joined responses, gzip and xz (diversity package)"

    def __init__(self, algorithms: str | Sequence[str] = ALGORITHMS, tokenize: str = "auto") -> None:
        self.tokenize = checked_tokenize(tokenize)  # bytes, not tokens: see the module doc
        chosen = (algorithms,) if isinstance(algorithms, str) else tuple(algorithms)
        unknown = [a for a in chosen if a not in ALGORITHMS]
        if not chosen or unknown:
            raise ValueError(f"algorithms must be among {', '.join(ALGORITHMS)}, got {algorithms!r}")
        self.algorithms = tuple(dict.fromkeys(chosen))

    def state(self) -> CompressionState:
        return CompressionState(self.algorithms)


class CompressionState(MetricState):
    """The responses' text so far: one zlib blob per non-empty chunk, in stream order."""

    def __init__(self, algorithms: tuple[str, ...]) -> None:
        super().__init__()
        self.algorithms = algorithms
        self.blobs: list[bytes] = []  # each chunk's responses joined with spaces, UTF-8, zlib level 1

    def add(self, samples: Responses, pass_: int = 0) -> None:
        texts = response_texts(samples)
        if texts:  # an empty chunk adds no separator
            self.blobs.append(zlib.compress(" ".join(texts).encode("utf-8"), 1))

    def merge(self, other: MetricState) -> None:
        assert isinstance(other, CompressionState)
        self.blobs.extend(other.blobs)

    def result(self) -> dict[str, float]:
        if not self.blobs:
            return {}
        # " ".join over all responses is " ".join over the chunks' joins: the separators match.
        # Streamed a chunk at a time (compressed_sizes): the whole text is never held at once.
        total, sizes = compressed_sizes(self._pieces(), self.algorithms)
        return {f"compression_ratio_{a}": total / sizes[a] for a in self.algorithms}

    def _pieces(self) -> Iterator[bytes]:
        for i, blob in enumerate(self.blobs):
            if i:
                yield b" "
            yield zlib.decompress(blob)

"""compression_ratio_gzip writes the ``diversity`` package's bytes exactly (its clock at 0).

The package gzips the text with ``gzip.compress(data)`` and gzips that again into a file.
With the clock at 0, CPython's ``gzip.compress`` writes the header with OS byte 255; its
``mtime=0`` shortcut (zlib) writes 3 instead, and the outer compression of that one byte
changes the file size on about one small corpus in ten. These tests compare bytes and
ratios with the package itself on random small corpora.
"""

from __future__ import annotations

import gzip
import importlib.util
import tempfile
from pathlib import Path
from types import ModuleType
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewardhub.metrics import CompressionRatio
from rewardhub.metrics.compression import compression_ratio


def package_compression() -> ModuleType:
    """The package's ``compression`` module, loaded from its file (its ``__init__`` needs spacy),
    with ``round`` returning its argument so unrounded ratios compare."""
    spec = importlib.util.find_spec("diversity")
    if spec is None or spec.origin is None:
        pytest.skip("the diversity package is not installed", allow_module_level=True)
    source = Path(spec.origin).parent / "compression.py"
    loaded = importlib.util.spec_from_file_location("_diversity_compression", source)
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    module.round = lambda value, ndigits=None: value
    return module


PACKAGE = package_compression()
#: Short texts over a small alphabet (repeats compress; newlines and non-ASCII count as bytes).
TEXTS = st.lists(st.text(alphabet="ab c\né", max_size=40), min_size=1, max_size=5)


def clock_at_zero():
    return mock.patch.object(gzip.time, "time", lambda: 0.0)


def test_the_inner_gzip_is_what_the_package_writes_with_its_clock_at_0():
    from rewardhub.metrics.compression import gzip_level9

    for data in (b"", b"a", b"the cat sat on the mat " * 20, "你好 é".encode()):
        with clock_at_zero():
            expected = gzip.compress(data)  # the package's call: no mtime, so the clock's time
        assert gzip_level9(data) == expected
        assert expected[9] == 255  # OS byte: unknown
        assert gzip.decompress(gzip_level9(data)) == data
    assert gzip.compress(b"x", mtime=0)[9] == 3  # the shortcut this module avoids


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=TEXTS)
def test_equal_to_the_package_on_small_random_corpora(texts):
    with tempfile.TemporaryDirectory() as folder, clock_at_zero():
        expected = PACKAGE.compression_ratio(texts, "gzip", path=folder)
    assert compression_ratio(texts, "gzip") == expected
    assert CompressionRatio(algorithms="gzip").compute(texts) == {"compression_ratio_gzip": expected}

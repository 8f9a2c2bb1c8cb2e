"""Folding a chunk in bounded pieces, and handing freed heap back: what keeps the memory of
``eval --metrics`` flat in rows (``benchmarks/README_metrics_memory.md``; the pieces are tested
in ``tests/test_ngram_memory.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

#: The most response characters the states fold at once: a chunk is cut into pieces of about
#: this size, each folded by every state in turn (so they share one hashed piece), which bounds
#: the hashed n-gram arrays of a piece whatever the chunk size (figures in
#: ``benchmarks/README_metrics_memory.md``).
PIECE_CHARS = 1 << 18


def pieces(samples: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """``samples`` cut, in order, into runs of about ``size`` response characters (a longer
    response is a piece of its own); all of it when it is that small (the usual case)."""
    lengths = [len(s if isinstance(s, str) else getattr(s, "response", "") or "") for s in samples]
    if sum(lengths) <= size:
        return [samples]
    cuts, total = [0], 0
    for i, length in enumerate(lengths):
        if total and total + length > size:
            cuts.append(i)
            total = 0
        total += length
    cuts.append(len(samples))
    return [samples[a:b] for a, b in pairwise(cuts)]


def release_free_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim(0)``; nothing
    elsewhere). Folding tables frees many arrays of a few MB that glibc keeps in its heap;
    trimming after each chunk, before each pass and before the results keeps that freed heap
    from adding to the peak."""
    global _malloc_trim
    if _malloc_trim is None:
        import ctypes

        try:
            _malloc_trim = ctypes.CDLL(None).malloc_trim
        except (AttributeError, OSError):  # not glibc
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim: Any = None

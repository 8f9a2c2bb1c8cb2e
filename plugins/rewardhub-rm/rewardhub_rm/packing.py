"""Batching by tokens: sort a call's sequences by length, pack micro-batches under a token budget.

:func:`pack` returns micro-batches of indices into the call. Sequences are taken longest first
(stable for equal lengths), and each micro-batch is a run of them whose ``rows x longest row``
(the padded size a forward pass computes) stays within ``max_tokens``; a sequence longer than
the budget on its own gets a micro-batch of one. Callers put the results back at their
indices, so the order of the call is restored whatever the packing. Where the runs are cut:

- ``overhead=None`` (greedy): a micro-batch grows while the budget holds, so there are as few
  micro-batches as the budget allows: what a server request or a GPU wants, where a pass costs
  about the same however full it is;
- ``overhead=N``: the cuts minimize the padded tokens plus ``N`` per micro-batch (an exact
  dynamic programme over the sorted lengths): a pass's fixed cost weighed against the padding
  it saves. On a CPU a pass costs about its tokens (all-MiniLM-L6-v2: about 0.23 ms per token
  and 5 to 7 ms per pass, so ``N`` of about 30), and a call of mixed lengths is better cut into
  more, tighter micro-batches than filled to the budget.

Longest first, because the first forward pass then has the largest shape: an out-of-memory
shows at once, and a caching allocator reserves the peak once rather than growing step by step.

:class:`PackingStats` counts what the packing cost: real tokens, padded tokens (what was
computed) and micro-batches; ``padding_share`` is the share of computed tokens that were
padding. Tested in ``tests/test_rm_packing.py`` (hypothesis: every index once, the budget
held, order restorable; with ``overhead``, the least cost of every cut, against brute force).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def pack(lengths: Sequence[int], max_tokens: int, overhead: int | None = None) -> list[list[int]]:
    """Micro-batches of indices into ``lengths``, longest first, each with
    ``len(batch) * max(length) <= max_tokens`` unless it holds a single sequence; greedy, or
    (``overhead``) the cuts of least ``padded tokens + overhead x micro-batches``."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    if overhead is not None:
        return _least_cost(order, [lengths[i] for i in order], max_tokens, overhead)
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in order:
        if current and (len(current) + 1) * max(longest, lengths[i]) > max_tokens:
            batches.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, lengths[i])
    if current:
        batches.append(current)
    return batches


def _least_cost(order: list[int], sorted_lengths: list[int], max_tokens: int, overhead: int) -> list[list[int]]:
    """The runs of ``order`` (lengths descending) of least padded tokens plus ``overhead`` each.

    ``best[j]`` is the least cost of the first ``j`` sequences; the last run ``[i, j)`` costs
    ``(j - i) * L[i] + overhead`` and must fit the budget (or hold one sequence). Since lengths
    descend, the runs that fit end a contiguous range of ``i``, whose left end only moves right.
    """
    import numpy as np

    n = len(order)
    lengths = np.asarray(sorted_lengths, dtype=np.int64)
    best = np.zeros(n + 1, dtype=np.int64)
    start = np.zeros(n + 1, dtype=np.int64)
    low = 0
    for j in range(1, n + 1):
        while low < j - 1 and (j - low) * sorted_lengths[low] > max_tokens:
            low += 1
        starts = np.arange(low, j)
        costs = best[low:j] + (j - starts) * lengths[low:j] + overhead
        pick = int(np.argmin(costs))  # (ties: the earliest start, the fewer micro-batches)
        best[j], start[j] = costs[pick], low + pick
    batches: list[list[int]] = []
    j = n
    while j > 0:
        i = int(start[j])
        batches.append(order[i:j])
        j = i
    return batches[::-1]


def padded_size(lengths: Sequence[int], batch: Sequence[int]) -> int:
    """Tokens a forward pass computes for ``batch``: rows x its longest row."""
    return len(batch) * max((lengths[i] for i in batch), default=0)


@dataclass
class PackingStats:
    """What packing cost, summed over calls: ``tokens`` (real), ``padded_tokens`` (computed),
    ``micro_batches``, and ``oom_splits`` (micro-batches halved after an out-of-memory)."""

    sequences: int = 0
    tokens: int = 0
    padded_tokens: int = 0
    micro_batches: int = 0
    oom_splits: int = 0

    def add_batch(self, lengths: Sequence[int], batch: Sequence[int]) -> None:
        self.sequences += len(batch)
        self.tokens += sum(lengths[i] for i in batch)
        self.padded_tokens += padded_size(lengths, batch)
        self.micro_batches += 1

    def add_request(self, lengths: Sequence[int], batch: Sequence[int]) -> None:
        """A micro-batch sent to a server as token id lists: nothing padded on the wire."""
        real = sum(lengths[i] for i in batch)
        self.sequences += len(batch)
        self.tokens += real
        self.padded_tokens += real
        self.micro_batches += 1

    @property
    def padding_share(self) -> float | None:
        """Share of computed tokens that were padding (``None`` before any batch)."""
        if not self.padded_tokens:
            return None
        return 1.0 - self.tokens / self.padded_tokens

    def as_dict(self) -> dict[str, float | int | None]:
        share = self.padding_share
        return {
            "sequences": self.sequences,
            "tokens": self.tokens,
            "padded_tokens": self.padded_tokens,
            "padding_share": None if share is None else round(share, 6),
            "micro_batches": self.micro_batches,
            "oom_splits": self.oom_splits,
        }

"""Batching by tokens: sort a call's sequences by length, pack micro-batches under a token budget.

:func:`pack` returns micro-batches of indices into the call. Sequences are taken longest first
(stable for equal lengths) and a micro-batch grows while ``rows x longest row`` (the padded
size a forward pass computes) stays within ``max_tokens``; a sequence longer than the budget
on its own gets a micro-batch of one. Callers put the results back at their indices, so the
order of the call is restored whatever the packing.

Longest first, because the first forward pass then has the largest shape: an out-of-memory
shows at once, and a caching allocator reserves the peak once rather than growing step by step.

:class:`PackingStats` counts what the packing cost: real tokens, padded tokens (what was
computed) and micro-batches; ``padding_share`` is the share of computed tokens that were
padding. Tested in ``tests/test_rm_packing.py`` (hypothesis: every index once, the budget
held, order restorable).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def pack(lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Micro-batches of indices into ``lengths``, longest first, each with
    ``len(batch) * max(length) <= max_tokens`` unless it holds a single sequence."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
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

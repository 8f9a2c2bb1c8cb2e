"""Self-BLEU within groups for a whole step at once: each response against the *other* responses
of its group (Texygen's definition, exact to NLTK as :mod:`rewardhub.metrics.self_bleu` is), the
mean per group, then the mean over groups of two or more.

The host's self-BLEU builds a state per call; a step of 512 groups would pay that 512 times. Here
the step's one :class:`~rewardhub.metrics.hashed.HashedChunk` serves every group: each n-gram's
hash is salted with its group, so the clipping counts (largest count among the others, holders,
next count) of every group come from one pass per order, and the brevity penalty's closest
length is looked up within the group. The BLEU formula is the host's own
(:func:`~rewardhub.metrics.self_bleu.bleu_scores`). Tested against the host's self-BLEU run group
by group in ``tests/test_telemetry_recorder.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

from rewardhub.lazy import np
from rewardhub.metrics.hashed import HashedChunk
from rewardhub.metrics.self_bleu import bleu_scores, closest_other_length

_SALT = np.uint64(0x9E3779B97F4A7C15)  # odd: distinct groups map an n-gram to distinct keys


def _matches(chunk: HashedChunk, group_of: np.ndarray, k: int) -> np.ndarray:
    hashes, responses, counts = chunk.counts_per_response(k)
    if len(hashes) == 0:
        return np.zeros(chunk.size)
    with np.errstate(over="ignore"):
        salted = hashes ^ (group_of[responses].astype(np.uint64) * _SALT)
    _, ids = np.unique(salted, return_inverse=True)
    size = int(ids.max()) + 1
    top = np.zeros(size, dtype=np.int64)
    np.maximum.at(top, ids, counts)
    at_top = counts == top[ids]
    holders = np.bincount(ids[at_top], minlength=size)
    below = np.zeros(size, dtype=np.int64)
    np.maximum.at(below, ids[~at_top], counts[~at_top])
    best_other = np.where(at_top & (holders[ids] == 1), below[ids], top[ids])
    return np.bincount(responses, weights=np.minimum(counts, best_other), minlength=chunk.size)


def self_bleu_within_groups(chunk: HashedChunk, groups: Sequence[int], order: int = 4) -> float | None:
    """The mean over groups (of two or more responses) of each group's self-BLEU-``order``;
    ``groups``: a group index per response of ``chunk``. ``None`` without such a group."""
    group_of = np.asarray(groups, dtype=np.int64)
    members = [np.flatnonzero(group_of == g) for g in np.unique(group_of)]
    members = [m for m in members if len(m) >= 2]
    if not members:
        return None
    lengths = chunk.lengths
    ref = lengths.copy()
    for m in members:
        ref[m] = closest_other_length(lengths[m])
    matches = {k: _matches(chunk, group_of, k) for k in range(1, order + 1)}
    scores = bleu_scores(lengths, ref, matches, (order,))[order]
    return float(np.mean([scores[m].mean() for m in members]))

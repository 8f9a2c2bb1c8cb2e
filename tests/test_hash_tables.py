"""The sorted hash tables (rewardhub.metrics.hash_sets) against Python dicts: any batching, any
merge shape, pickled or not, gives the same rows; hashes that occurred once are kept key-only."""

from __future__ import annotations

import itertools
import pickle
import random
from collections import Counter, defaultdict

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardhub.metrics import hash_sets
from rewardhub.metrics.hash_sets import HashCounts, HashSet, NgramTable, Sum, Top, TopCounts

# few distinct keys, so rows repeat within and across batches; keys near 2**64 as well
KEYS = st.sampled_from([0, 1, 2, 7, 2**32 + 5, 2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1])
rows_st = st.lists(st.tuples(KEYS, st.integers(1, 5)), max_size=40)


def _batches(rows: list, rnd: random.Random) -> list[list]:
    cuts = sorted({0, len(rows), *(rnd.randrange(len(rows) + 1) for _ in range(rnd.randrange(5)))})
    return [rows[a:b] for a, b in itertools.pairwise(cuts)]


def _fill(table, batches, add) -> list:
    """One table per batch, merged in a random order (via pickle, as a distributed run ships them)."""
    parts = []
    for batch in batches:
        part = type(table)() if not isinstance(table, NgramTable) else NgramTable(table.parts)
        add(part, batch)
        parts.append(part)
    return parts


def _merged(parts, rnd: random.Random):
    rnd.shuffle(parts)  # the tables do not depend on order at all
    total = parts[0]
    for part in parts[1:]:
        total.merge(pickle.loads(pickle.dumps(part)))
    return total


def keys(batch: list) -> np.ndarray:
    return np.array([k for k, _ in batch], dtype=np.uint64)


def counts(batch: list) -> np.ndarray:
    return np.array([c for _, c in batch], dtype=np.int64)


def _expected_top(rows) -> dict[int, tuple[int, int, int]]:
    per_key = defaultdict(list)
    for key, count in rows:
        per_key[key].append(count)
    out = {}
    for key, counts in per_key.items():
        top = max(counts)
        out[key] = (top, counts.count(top), max((c for c in counts if c < top), default=0))
    return out


@settings(max_examples=120, deadline=None)
@given(rows_st, st.integers(0, 2**32 - 1))
def test_counts_set_and_top_statistics_equal_python_dicts(rows, seed):
    rnd = random.Random(seed)
    batches = _batches(rows, rnd) or [[]]

    sets = _merged(_fill(HashSet(), batches, lambda t, b: t.update(keys(b))), rnd)
    assert sets.values().tolist() == sorted({k for k, _ in rows})
    assert len(sets) == len({k for k, _ in rows})

    totals = Counter()
    for key, count in rows:
        totals[key] += count
    table = _merged(_fill(HashCounts(), batches, lambda t, b: t.add(keys(b), counts(b))), rnd)
    probe = np.array(sorted({*totals, 3}), dtype=np.uint64)
    assert table.lookup(probe).tolist() == [totals.get(int(k), 0) for k in probe]
    got_keys, got_counts = table.items()
    assert dict(zip(got_keys.tolist(), got_counts.tolist())) == dict(totals)
    assert set(table.once.tolist()) == {k for k, c in totals.items() if c == 1}  # key-only

    tops = _merged(_fill(TopCounts(), batches, lambda t, b: t.add(keys(b), counts(b))), rnd)
    expected = _expected_top(rows)
    probe = np.array(sorted({*expected, 3}), dtype=np.uint64)
    got = list(zip(*(column.tolist() for column in tops.lookup(probe))))
    assert got == [expected.get(int(k), (0, 0, 0)) for k in probe]


@settings(max_examples=80, deadline=None)
@given(rows_st, st.integers(0, 2**32 - 1))
def test_a_shared_table_holds_both_counts_and_top_statistics(rows, seed):
    """The table the n-gram metrics of a run share: a sum of occurrences and self-BLEU's
    statistics in one, folded from one row per (n-gram, response)."""
    rnd = random.Random(seed)
    batches = _batches(rows, rnd) or [[]]

    def add(table, batch):
        hashes = np.array([k for k, _ in batch], dtype=np.uint64)
        per_response = np.array([c for _, c in batch], dtype=np.int32)
        table._queue(hashes, [per_response.astype(np.int64), *hash_sets.top_rows(per_response)])

    table = _merged(_fill(NgramTable((Sum, Top)), batches, add), rnd)
    expected = _expected_top(rows)
    totals = Counter()
    for key, count in rows:
        totals[key] += count
    probe = np.array(sorted(expected), dtype=np.uint64)
    total, top, holders, below = table.lookup_values(probe)
    assert total.tolist() == [totals[int(k)] for k in probe]
    assert list(zip(top.tolist(), holders.tolist(), below.tolist())) == [expected[int(k)] for k in probe]


def test_pruning_keeps_only_what_another_response_shares_and_answers_zero_for_the_rest():
    table = TopCounts()
    table.add(np.array([1, 2, 2, 3, 4], dtype=np.uint64), np.array([1, 1, 1, 3, 1], dtype=np.int64))
    table.add(np.array([4], dtype=np.uint64), np.array([2], dtype=np.int64))
    table.prune_unshared()
    assert table.keys.tolist() == [2, 4] and len(table.once) == 0  # 1 and 3: one response each
    top, holders, below = table.lookup(np.array([1, 2, 3, 4], dtype=np.uint64))
    assert list(zip(top.tolist(), holders.tolist(), below.tolist())) == [(0, 0, 0), (1, 2, 0), (0, 0, 0), (2, 1, 1)]
    assert table.candidates(np.array([2, 4], dtype=np.uint64)).all()  # never rules out a held key


def test_a_hash_counted_once_costs_eight_bytes():
    table = HashCounts()
    table.add(np.arange(100_000, dtype=np.uint64))
    table.add(np.arange(10, dtype=np.uint64))  # ten of them twice
    table.compact()
    assert (len(table.once), len(table.keys)) == (99_990, 10)
    assert table.once.nbytes + table.keys.nbytes + table.counts.nbytes == 8 * 99_990 + 16 * 10

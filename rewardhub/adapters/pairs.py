"""Moved to :mod:`rewardhub.pairs` (DPO pairs are not a trainer adapter); this path stays for code written against it.

Every name here is the very object :mod:`rewardhub.pairs` defines (tested in ``tests/test_moved_paths.py``).
"""

from rewardhub.pairs import (
    LENGTH_BIAS,
    TIE,
    PairStats,
    Scored,
    length_bias,
    load_pairs,
    make_pairs,
    pairs_from_files,
    preference_row,
    read_scored,
    write_pairs,
)

__all__ = [
    "LENGTH_BIAS",
    "TIE",
    "PairStats",
    "Scored",
    "length_bias",
    "load_pairs",
    "make_pairs",
    "pairs_from_files",
    "preference_row",
    "read_scored",
    "write_pairs",
]

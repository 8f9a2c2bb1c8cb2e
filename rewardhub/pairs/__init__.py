"""Preference pairs for DPO from scored responses (``rewardhub pairs``): see :mod:`rewardhub.pairs.dpo`."""

from rewardhub.pairs.dpo import (
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

"""What the engine makes of rewards' outputs: each value checked (:func:`normalize`: a number,
a :class:`~rewardhub.Score`, ``None``, or an exception for that sample; never NaN), stored
where it belongs, and the batches a call is packed into (the weighted total and advantages:
:mod:`rewardhub.engine.aggregation`). Tested in ``tests/test_engine.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rewardhub.host.faults import describe
from rewardhub.types import Score

Batch = list[list[int]]  # a batch is a list of units (one sample, or one whole group)


def pack(units: list[list[int]], size: int) -> list[Batch]:
    """Pack units into batches of at most ``size`` samples; a larger unit goes alone, whole."""
    batches: list[Batch] = []
    current: Batch = []
    count = 0
    for unit in units:
        if current and count + len(unit) > size:
            batches.append(current)
            current, count = [], 0
        current.append(unit)
        count += len(unit)
    if current:
        batches.append(current)
    return batches


class _SampleError(Exception):
    """One sample's failure, reported by the reward in its results."""


def store(indices: list[int], out: Sequence[Any], values, errors) -> None:
    for i, raw in zip(indices, out):
        try:
            values[i] = normalize(raw)
        except (TypeError, ValueError, _SampleError) as exc:
            errors[i] = str(exc)


def normalize(raw: Any) -> Score | None:
    """A reward's raw output as a :class:`Score` (or ``None``), refusing non-finite values.

    An exception object in place of a value is that sample's error: a reward that can tell
    which samples it failed on reports them so, and the rest of its batch stands.
    """
    if raw is None:
        return None
    if isinstance(raw, BaseException):
        raise _SampleError(describe(raw))
    score = raw if isinstance(raw, Score) else Score(raw)
    if score.value is None:
        return score
    if isinstance(score.value, bool) or (
        not isinstance(score.value, (int, float)) and not hasattr(score.value, "__float__")
    ):
        raise TypeError(f"returned {type(score.value).__name__}, expected a number")
    value = float(score.value)
    if not math.isfinite(value):
        raise ValueError(f"returned {value}, not a finite number")
    return Score(value, dict(score.info))


def fail(indices: list[int], errors: list[str | None], message: str) -> None:
    for i in indices:
        errors[i] = message

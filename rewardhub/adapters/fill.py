"""What a missing reward becomes for a trainer that needs a number everywhere (verl, OpenRLHF).

The engine's answer for a sample it could not score is ``None`` with the reason. verl and
OpenRLHF need a float for every sample and every logged column, so the adapters *fill* each
``None`` (a component, or the total when it is ``None``) under a policy, ``missing_fill``:

- a number (default ``0.0``): that number;
- ``"group_mean"``: the mean of that column's values in the sample's group (the responses to
  the same prompt in the same call), so a sample with no value gets its group's average and,
  in GRPO, an advantage of about zero; where the group has no value at all, ``0.0`` (its
  advantages are zero either way);
- ``"raise"``: :class:`MissingRewardError`, naming the samples and the reasons: the training
  step fails rather than train on a made-up value.

How a missing component counts in the total is the config's ``missing`` policy (skip,
renormalize, propagate); ``missing_fill`` decides only what a ``None`` becomes. Every filled
component is counted in ``rewardhub_missing``. The policy in force is printed once per process
and adapter when the adapter first scores (one line on stderr, also logged to
``rewardhub.adapters``). Tested in ``tests/test_adapters_fill.py``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any

#: The environment variable read when the trainer passes no ``missing_fill``.
FILL_ENV = "REWARDHUB_MISSING_FILL"

#: The key of the float-only rows that counts the components a sample has no value for.
MISSING_KEY = "rewardhub_missing"

#: The key of a row's total.
TOTAL_KEY = "score"

Policy = float | str
NAMED = ("group_mean", "raise")

logger = logging.getLogger("rewardhub.adapters")
_announced: set[tuple[str, str]] = set()
_announce_lock = threading.Lock()


class MissingRewardError(ValueError):
    """``missing_fill="raise"`` and some sample has no value: the step must not go on."""


def fill_policy(value: Any = None) -> Policy:
    """The policy ``value`` names (``None``: the ``REWARDHUB_MISSING_FILL`` variable, else 0.0)."""
    if value is None:
        value = os.environ.get(FILL_ENV) or 0.0
    if isinstance(value, str) and value.strip() in NAMED:
        return value.strip()
    number = math.nan
    if not isinstance(value, bool):
        with contextlib.suppress(TypeError, ValueError):
            number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"missing_fill must be a finite number, 'group_mean' or 'raise'; got {value!r}")
    return number


def describe(policy: Policy) -> str:
    if policy == "group_mean":
        return "its group's mean (0.0 where the group has no value)"
    if policy == "raise":
        return "an error that stops the step"
    return f"{policy:g}"


def announce(adapter: str, policy: Policy, note: str = "") -> None:
    """Say once per process and adapter which policy is in force (stderr and the log)."""
    key = (adapter, repr(policy))
    with _announce_lock:
        if key in _announced:
            return
        _announced.add(key)
    line = (
        f"rewardhub ({adapter}): a missing reward value becomes {describe(policy)} "
        f"(missing_fill={policy if isinstance(policy, str) else format(policy, 'g')}); "
        f"filled components are counted in {MISSING_KEY}{note}"
    )
    print(line, file=sys.stderr, flush=True)
    logger.info(line)


def fill_rows(
    rows: Sequence[dict[str, float | None]],
    groups: Sequence[Any],
    policy: Policy,
    reasons: Sequence[str] | None = None,
) -> list[dict[str, float]]:
    """``rows`` (``{"score": total, <component>: value}``, ``None`` where missing) as floats under
    ``policy``, each with ``rewardhub_missing``: how many of its components were filled.
    ``groups[i]`` is row ``i``'s group; ``reasons[i]`` says why row ``i`` lacks values (for
    the error of ``raise``)."""
    if policy == "raise":
        _refuse(rows, reasons)
    means: dict[tuple[str, Any], float] = {}
    if policy == "group_mean":
        sums: dict[tuple[str, Any], list[float]] = {}
        for row, group in zip(rows, groups, strict=True):
            for name, value in row.items():
                if value is not None:
                    sums.setdefault((name, group), []).append(float(value))
        means = {key: math.fsum(values) / len(values) for key, values in sums.items()}
    out = []
    for row, group in zip(rows, groups, strict=True):
        filled: dict[str, float] = {}
        for name, value in row.items():
            if value is not None:
                filled[name] = float(value)
            elif policy == "group_mean":
                filled[name] = means.get((name, group), 0.0)
            else:
                filled[name] = float(policy)
        filled[MISSING_KEY] = float(sum(v is None for k, v in row.items() if k != TOTAL_KEY))
        out.append(filled)
    return out


def _refuse(rows: Sequence[dict[str, float | None]], reasons: Sequence[str] | None) -> None:
    lacking = [i for i, row in enumerate(rows) if any(v is None for v in row.values())]
    if not lacking:
        return
    why = []
    for i in lacking[:3]:
        absent = ", ".join(k for k, v in rows[i].items() if v is None)
        why.append(f"sample {i}: {(reasons[i] if reasons else '') or 'no value for ' + absent}")
    more = f" (and {len(lacking) - 3} more)" if len(lacking) > 3 else ""
    raise MissingRewardError(
        f"rewardhub: {len(lacking)} of {len(rows)} samples have no reward value (missing_fill=raise): "
        + "; ".join(why)
        + more
    )

"""The native protocol's shapes, shared by the server (``POST /v1/score``) and its client
(:mod:`rewardhub.remote`), so both sides read and write the same thing. No web framework here.

Request: ``{"samples": [row, ...], "rewards": [key, ...]}`` where a row is what ``eval`` reads
from a JSONL line (``prompt``/``response``/``reference``/``group``/``id``/``images``/``history``,
other fields kept as ``meta``), and ``rewards`` optionally picks some of the served rewards.

Response: ``{"results": [{"id", "rewards": {key: value|null}, "reward": total|null,
"errors": {key: message}, "reward_info": {key: info}}, ...]}``, one per sample, in order:
the per-row shape ``eval`` writes (``reward_info`` only where a reward gave info). Tested in
``tests/test_serve.py`` and ``tests/test_remote.py``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from rewardhub.engine import weighted_total
from rewardhub.results import ScoreBatch
from rewardhub.types import Sample

#: The header a client sends its remaining time budget in (seconds): the server answers 504
#: rather than keep a request whose client has given up.
DEADLINE_HEADER = "X-Rewardhub-Deadline"

#: Row fields with a meaning of their own; a sample's ``meta`` keys of these names are not sent.
RESERVED = frozenset(
    {"prompt", "response", "id", "group", "reference", "images", "history", "ground_truth", "solution", "image"}
)


def finite(value: Any) -> Any:
    """``value`` with non-finite floats as ``None``, keys as strings, numpy values as lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if hasattr(value, "tolist"):
        return finite(value.tolist())
    return value


def dumps(data: Any) -> str:
    """``data`` as ASCII JSON: lone surrogates escaped, NaN as ``null``, unknown objects as text."""
    try:
        return json.dumps(data, ensure_ascii=True, allow_nan=False, default=_plain)
    except (TypeError, ValueError):  # NaN in some plugin's info, a key that is not a string
        return json.dumps(finite(data), ensure_ascii=True, allow_nan=False, default=str)


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def sample_row(sample: Sample) -> dict[str, Any]:
    """A sample as a request row (images must be paths or URLs: the server reads them)."""
    row: dict[str, Any] = {k: v for k, v in sample.meta.items() if k not in RESERVED}
    row["prompt"] = sample.prompt
    row["response"] = sample.response
    for name in ("id", "group", "reference"):
        value = getattr(sample, name)
        if value is not None:
            row[name] = value
    if sample.images:
        if not all(isinstance(i, str) for i in sample.images):
            raise ValueError("images must be paths or URLs to be scored remotely (the server opens them)")
        row["images"] = list(sample.images)
    if sample.history:
        row["history"] = list(sample.history)
    return row


def result_rows(batch: ScoreBatch, keys: Sequence[str] | None = None, missing: str = "skip") -> list[dict[str, Any]]:
    """Each sample's results, as ``eval`` writes them; ``keys`` restricts them to some rewards
    (the total is then theirs, under the same ``missing`` policy)."""
    keys = list(batch.components) if keys is None else list(keys)
    subset = keys != list(batch.components)
    rows = []
    for i, sample in enumerate(batch.samples):
        values = {k: batch.components[k][i] for k in keys}
        total = weighted_total(values, batch.weights, missing) if subset else batch.totals[i]
        row: dict[str, Any] = {
            "id": sample.id,
            "rewards": values,
            "reward": total,
            "errors": {k: e for k, e in batch.errors[i].items() if k in values},
        }
        info = {k: batch.infos[k][i] for k in keys if batch.infos[k][i]}
        if info:
            row["reward_info"] = info
        rows.append(row)
    return rows


def read_results(
    samples: list[Sample],
    keys: Sequence[str],
    weights: dict[str, float],
    data: Any,
    missing: str = "skip",
    source: str = "the server",
) -> ScoreBatch:
    """A server's response to ``samples`` as a :class:`ScoreBatch`; ``ValueError`` if malformed.

    Each value is checked as the engine checks a reward's output: one that is not a finite
    number is ``None`` with the reason in that sample's errors. A row with such a value, or
    whose total is not a finite number, gets its total computed here from its valid values,
    under the server's ``missing`` policy.
    """
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list) or len(results) != len(samples):
        got = len(results) if isinstance(results, list) else type(results).__name__
        raise ValueError(f"malformed response: expected {len(samples)} results, got {got}")
    components: dict[str, list[float | None]] = {k: [] for k in keys}
    infos: dict[str, list[dict[str, Any]]] = {k: [] for k in keys}
    errors: list[dict[str, str]] = []
    totals: list[float | None] = []
    picked = {k: weights[k] for k in keys}
    for row in results:
        if not isinstance(row, dict) or not isinstance(row.get("rewards"), dict):
            raise ValueError("malformed response: a result without 'rewards'")
        info = row.get("reward_info") if isinstance(row.get("reward_info"), dict) else {}
        sent_errors = row.get("errors") if isinstance(row.get("errors"), dict) else {}
        row_errors = {str(k): str(v) for k, v in sent_errors.items()}
        values: dict[str, float | None] = {}
        invalid = False
        for k in keys:
            values[k], problem = _checked(row["rewards"].get(k))
            if problem:
                row_errors[k] = f"{source} sent an invalid value: {problem}"
                invalid = True
            components[k].append(values[k])
            infos[k].append(dict(info[k]) if isinstance(info.get(k), dict) else {})
        errors.append(row_errors)
        total, problem = _checked(row.get("reward"))
        if problem or invalid:
            total = weighted_total(values, picked, missing)
        totals.append(total)
    return ScoreBatch(samples, components, infos, errors, totals, picked)


def _checked(value: Any) -> tuple[float | None, str | None]:
    """``(value, None)`` for a finite number or ``None``; ``(None, why)`` for anything else (the
    engine's rule for a reward's output, :func:`rewardhub.engine.normalize`, on JSON values)."""
    if value is None:
        return None, None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        shown = json.dumps(value)[:40] if isinstance(value, (str, bool)) else type(value).__name__
        return None, f"{shown}, not a number"
    try:
        number = float(value)
    except OverflowError:
        return None, "a number too large for a float"
    if not math.isfinite(number):
        return None, f"{number}, not a finite number"
    return number, None

"""``POST /v1/score``: rewardhub's own protocol (shapes in :mod:`rewardhub.remote.wire`).

A sample is a row as ``eval`` reads it from JSONL, so the results equal ``eval``'s rows for
the same samples. Errors name the field: ``samples[3].response: ...``, ``rewards[0]: ...``.
Under a group-normalized ``aggregation`` each row also has ``advantage`` (over the request's
samples: :func:`rewardhub.serve.service.request_advantages`).
"""

from __future__ import annotations

from typing import Any

from rewardhub.io.schema import RowError, detect_layout, row_to_sample
from rewardhub.remote.wire import result_rows
from rewardhub.serve.http import field_error
from rewardhub.serve.service import Service
from rewardhub.types import Sample

_SCALARS = (str, int, float, bool)


def to_sample(row: Any, where: str, default_id: Any) -> Sample:
    """A request row as a sample, or a 422 naming the field at fault."""
    if not isinstance(row, dict):
        raise field_error(where, f"expected an object, got {_kind(row)}")
    try:
        sample = row_to_sample(row, detect_layout(row), default_id)
    except RowError as exc:
        raise field_error(f"{where}.{exc.field}" if exc.field else where, str(exc)) from None
    if sample.group is not None and not isinstance(sample.group, _SCALARS):
        raise field_error(f"{where}.group", f"expected a string or number, got {_kind(sample.group)}")
    if isinstance(sample.prompt, list) and not all(isinstance(m, dict) for m in sample.prompt):
        raise field_error(f"{where}.prompt", "expected a string or a list of {role, content} messages")
    if not all(isinstance(i, str) for i in sample.images):
        raise field_error(f"{where}.images", "expected paths or URLs (strings)")
    return sample


def pick_rewards(value: Any, service: Service) -> list[str]:
    """The requested subset of the served rewards (all when absent)."""
    if value is None:
        return service.keys
    if not isinstance(value, list) or not value:
        raise field_error("rewards", "expected a non-empty list of reward names")
    for i, key in enumerate(value):
        if key not in service.keys:
            raise field_error(f"rewards[{i}]", f"{key!r} is not served here (served: {', '.join(service.keys)})")
    return list(dict.fromkeys(value))


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


async def score(body: Any, service: Service, deadline: float | None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise field_error("body", f"expected an object with 'samples', got {_kind(body)}")
    rows = body.get("samples")
    if not isinstance(rows, list):
        raise field_error("samples", f"required: a list of samples, got {_kind(rows)}")
    keys = pick_rewards(body.get("rewards"), service)
    samples = [to_sample(row, f"samples[{i}]", i) for i, row in enumerate(rows)]
    batch = await service.score(samples, deadline, "/v1/score")
    rows = result_rows(batch, keys, service.missing)
    if batch.advantages is not None:
        for row, advantage in zip(rows, batch.advantages, strict=True):
            row["advantage"] = advantage
    return {"results": rows}


ROUTES = (("/v1/score", "POST", score),)

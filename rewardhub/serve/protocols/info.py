"""``GET /health`` (ready once the models are loaded) and ``GET /v1/rewards`` (what is served)."""

from __future__ import annotations

from typing import Any

from rewardhub._version import __version__
from rewardhub.serve.http import ClientError
from rewardhub.serve.service import Service


async def health(body: Any, service: Service, deadline: float | None) -> dict[str, Any]:
    if service.ready is None or not service.ready.is_set():
        raise ClientError(503, "loading: the rewards' models are not loaded yet", {"Retry-After": "1"})
    out: dict[str, Any] = {"status": "ok", "rewards": service.keys, "queued": service.batcher.queued}
    if service.warmup_errors:
        out["warmup_errors"] = service.warmup_errors
    return out


async def rewards(body: Any, service: Service, deadline: float | None) -> dict[str, Any]:
    return {"rewardhub": __version__, "missing": service.missing, "rewards": service.describe()}


ROUTES = (("/health", "GET", health), ("/v1/rewards", "GET", rewards))

"""One JSON POST with retries under a deadline: the policy of :class:`rewardhub.remote.RemoteScorer`.

``RemoteScorer`` keeps its retry loop inside a method bound to rewardhub's own wire (deadline
header, connection slots), so it is not reusable as it is; this is the same policy, for any
JSON API:

- retries with exponential backoff and "equal jitter" (half the bound fixed, half random) on
  connection errors, timeouts and 5xx; a 503's ``Retry-After`` is honoured;
- any other 4xx is final at once (the request itself is wrong: asking again cannot help), as is
  an answer that is not JSON;
- one overall ``deadline`` (a :func:`time.monotonic` time): no call waits past it, whatever
  the server does.

A request that fails for good raises :class:`ServerError` with what happened last. Tested in
``tests/test_rm_pooling_servers.py`` against a real server that fails on purpose.
"""

from __future__ import annotations

import random
import time
from typing import Any


class ServerError(Exception):
    """A request the server did not answer with a usable result."""


def post_json(
    client: Any,
    url: str,
    payload: Any,
    deadline: float,
    *,
    retries: int = 5,
    backoff: float = 0.5,
    max_backoff: float = 30.0,
) -> Any:
    """``POST url`` with ``payload`` as JSON; the decoded answer (see the module doc)."""
    import httpx

    last = "no attempt made (the deadline had passed)"
    attempt = 0
    for attempt in range(max(0, retries) + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        retry_after: float | None = None
        try:
            response = client.post(url, json=payload, timeout=remaining)
        except httpx.TransportError as exc:  # refused, reset, timed out: worth another try
            last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        else:
            if response.status_code < 400:
                try:
                    return response.json()
                except ValueError:
                    raise ServerError(
                        f"{url} answered {response.status_code} with something that is not JSON"
                    ) from None
            last = f"HTTP {response.status_code}: {_reason(response)}"
            if response.status_code < 500:
                raise ServerError(f"{url}: {last}")
            retry_after = _seconds(response.headers.get("retry-after"))
        if attempt == retries:
            break
        bound = min(max_backoff, backoff * 2**attempt)
        delay = bound / 2 + random.uniform(0, bound / 2)
        if retry_after is not None:
            delay = max(delay, retry_after * random.uniform(1.0, 1.2))
        time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
    tries = attempt + 1
    raise ServerError(f"{url}: gave up after {tries} {'try' if tries == 1 else 'tries'}: {last}")


def _reason(response: Any) -> str:
    try:
        data = response.json()
    except ValueError:
        return (response.text or response.reason_phrase or "")[:200]
    if isinstance(data, dict):
        error = data.get("error", data.get("message", data.get("detail", data)))
        if isinstance(error, dict):
            error = error.get("message", error)
        return str(error)[:200]
    return str(data)[:200]


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None

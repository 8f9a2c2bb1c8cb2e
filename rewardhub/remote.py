"""The client of ``rewardhub serve``, with the :class:`~rewardhub.Scorer` interface.

::

    from rewardhub.remote import RemoteScorer

    with RemoteScorer("http://reward-host:8000", token="...") as scorer:
        batch = scorer.score(samples)          # a ScoreBatch, as Scorer.score returns

Every adapter takes it where it takes a Scorer (``reward_funcs(url=...)`` for TRL, and so on).

Promises (tested in ``tests/test_remote.py`` against a real server that fails on purpose, and
in ``tests/test_remote_attacks.py`` against real servers that drip bytes or send bad values):

- retries with exponential backoff and jitter on connection errors, timeouts and 5xx; a 503's
  ``Retry-After`` is honoured; any other 4xx is final at once (the request itself is wrong);
- one overall deadline per call (``timeout``): no call hangs past it, whatever the server does
  (one that answers a byte a second included: each request runs in the client's own event loop
  thread under :func:`asyncio.wait_for`, as httpx advises for a total timeout), and the server
  is told the remaining budget so it stops working for a client that gave up;
- what the server sends is checked as the engine checks a reward's output: a value that is
  not a finite number (``NaN``, ``1e999``, ``true``, a string) is ``None`` with the error for
  that sample and reward, and the total is then computed here from the valid values (the
  server's ``missing`` policy); a total that is not a finite number is computed here too;
- the token is sent as UTF-8 bytes (the server compares UTF-8 bytes); a token that cannot be
  sent (not UTF-8, control characters, blanks at its ends) is refused at construction;
- after the last try, every sample of the failed request is ``None`` with the error in
  ``errors`` (never 0), so a trainer sees a missing reward, not a wrong one;
- at most ``max_concurrency`` requests in flight from one client (threads and ``ascore``
  callers share the cap), so many trainer workers cannot flood the server.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import random
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rewardhub.results import ScoreBatch
from rewardhub.serve.wire import DEADLINE_HEADER, dumps, read_results, sample_row
from rewardhub.types import Sample

#: The ``errors`` key used when the served rewards are not even known (server unreachable).
REMOTE_KEY = "rewardhub_remote"

#: Samples per request; a larger call is sent in several requests, whole groups each.
REQUEST_SAMPLES = 1024


class RemoteError(Exception):
    """A request the server did not answer with results; ``final`` when retrying cannot help."""

    def __init__(self, message: str, final: bool = False):
        super().__init__(message)
        self.final = final


@dataclass
class RemoteComponent:
    """One reward the server serves: its column ``key``, ``weight`` and description."""

    key: str
    weight: float
    info: dict[str, Any]

    def describe(self) -> dict[str, Any]:
        return dict(self.info)


class RemoteScorer:
    """Scores samples with the rewards of a ``rewardhub serve`` at ``url``.

    :param token: the server's token (default: the ``REWARDHUB_TOKEN`` environment variable).
    :param timeout: seconds one :meth:`score` call may take in all, retries included.
    :param max_concurrency: requests in flight at once from this client.
    :param retries: further tries after the first one fails.
    :param rewards: serve only these of the server's rewards (their keys); default all.
    :param backoff: the first retry's delay bound in seconds; it doubles per try, up to ``max_backoff``.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 300.0,
        max_concurrency: int = 4,
        retries: int = 5,
        rewards: Sequence[str] | None = None,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
    ):
        import httpx

        self.url = url.rstrip("/").removesuffix("/v1/score")
        token = token if token is not None else os.environ.get("REWARDHUB_TOKEN")
        headers: dict[str, Any] = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = b"Bearer " + token_bytes(token)
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._selected = None if rewards is None else list(rewards)
        self._components: list[RemoteComponent] | None = None
        self._missing = "skip"  # the server's policy for a missing component (read with the rewards)
        self._lock = threading.Lock()
        concurrency = max(1, int(max_concurrency))
        # Requests run in an event loop of this client's own, where a deadline can cancel them.
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="rewardhub-remote", daemon=True)
        self._thread.start()
        self._slots = asyncio.Semaphore(concurrency)
        self._client = httpx.AsyncClient(headers=headers, limits=httpx.Limits(max_connections=concurrency))
        self._finalizer = weakref.finalize(self, _stop_loop, self._loop, self._thread, self._client)

    # -- the Scorer interface ------------------------------------------------------------

    @property
    def components(self) -> list[RemoteComponent]:
        """The served rewards (asked once, with the same retries and deadline as a call)."""
        with self._lock:
            if self._components is None:
                self._components = self._fetch_components(time.monotonic() + self.timeout)
            return self._components

    @property
    def weights(self) -> dict[str, float]:
        return {c.key: c.weight for c in self.components}

    def describe(self) -> list[dict[str, Any]]:
        return [c.describe() for c in self.components]

    def score(self, samples: Sequence[Sample]) -> ScoreBatch:
        """Score ``samples`` on the server; a request that fails for good gives its samples
        ``None`` with the error."""
        samples = list(samples)
        deadline = time.monotonic() + self.timeout
        try:
            components = self.components
        except RemoteError as exc:
            return _failed(samples, [], {}, f"rewardhub serve at {self.url}: {exc}")
        keys = [c.key for c in components]
        weights = {c.key: c.weight for c in components}
        parts = []
        for positions in _requests(samples):
            chunk = [samples[i] for i in positions]
            try:
                payload = {"samples": [sample_row(s) for s in chunk]}
                if self._selected is not None:
                    payload["rewards"] = keys
                data = self._call("POST", "/v1/score", deadline, dumps(payload))
                source = f"rewardhub serve at {self.url}"
                parts.append((positions, read_results(chunk, keys, weights, data, self._missing, source)))
            except (RemoteError, ValueError) as exc:
                parts.append((positions, _failed(chunk, keys, weights, f"rewardhub serve at {self.url}: {exc}")))
        return _concat(samples, keys, weights, parts)

    async def ascore(self, samples: Sequence[Sample]) -> ScoreBatch:
        """:meth:`score` for event loops (in a worker thread; the concurrency cap still holds)."""
        return await asyncio.to_thread(self.score, samples)

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> RemoteScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RemoteScorer {self.url}>"

    # -- HTTP with retries ---------------------------------------------------------------

    def _fetch_components(self, deadline: float) -> list[RemoteComponent]:
        data = self._call("GET", "/v1/rewards", deadline)
        if not isinstance(data, dict):
            raise RemoteError("malformed answer to /v1/rewards: not an object", final=True)
        if data.get("missing") in ("skip", "renormalize", "propagate"):
            self._missing = data["missing"]
        served = {d["key"]: d for d in data.get("rewards", []) if isinstance(d, dict) and "key" in d}
        keys = list(served) if self._selected is None else self._selected
        unknown = [k for k in keys if k not in served]
        if unknown:
            raise ValueError(f"rewardhub serve at {self.url} does not serve {unknown} (it serves {sorted(served)})")
        return [RemoteComponent(k, float(served[k].get("weight", 1.0)), served[k]) for k in keys]

    def _call(self, method: str, path: str, deadline: float, body: str | None = None) -> Any:
        """One request with retries, within ``deadline`` (a :func:`time.monotonic` time)."""
        if self._finalizer.alive is False:
            raise RemoteError("this RemoteScorer is closed", final=True)
        future = asyncio.run_coroutine_threadsafe(self._acall(method, path, deadline, body), self._loop)
        try:  # (the coroutine keeps the deadline itself; this wait is only a backstop)
            return future.result(timeout=max(0.0, deadline - time.monotonic()) + 5.0)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise RemoteError(f"no answer within {self.timeout:g}s") from None

    async def _acall(self, method: str, path: str, deadline: float, body: str | None) -> Any:
        import httpx

        last = "no attempt made"
        for attempt in range(self.retries + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            retry_after: float | None = None
            try:
                response = await asyncio.wait_for(self._attempt(method, path, deadline, body), remaining)
            except asyncio.TimeoutError:  # the whole answer did not arrive in time (however slowly it came)
                last = f"no complete answer within the {self.timeout:g}s deadline"
                break
            except httpx.TransportError as exc:  # refused, reset, timed out: worth another try
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if response.status_code < 400:
                    try:
                        return response.json()
                    except ValueError:
                        raise RemoteError("the server's answer is not JSON", final=True) from None
                last = f"HTTP {response.status_code}: {_reason(response)}"
                if response.status_code < 500:
                    raise RemoteError(last, final=True)  # the request is wrong: asking again cannot help
                retry_after = _seconds(response.headers.get("retry-after"))
            if attempt == self.retries:
                break
            bound = min(self.max_backoff, self.backoff * 2**attempt)
            delay = bound / 2 + random.uniform(0, bound / 2)  # "equal jitter": grows, never in lockstep
            if retry_after is not None:
                delay = max(delay, retry_after * random.uniform(1.0, 1.2))
            await asyncio.sleep(max(0.0, min(delay, deadline - time.monotonic())))
        tries = attempt + 1
        raise RemoteError(f"gave up after {tries} {'try' if tries == 1 else 'tries'} in {self.timeout:g}s: {last}")

    async def _attempt(self, method: str, path: str, deadline: float, body: str | None) -> Any:
        """One request, the whole answer read, once a connection slot is free."""
        async with self._slots:
            remaining = max(0.001, deadline - time.monotonic())
            server_budget = remaining - min(0.25, remaining / 10)  # the server's 504 arrives first
            return await self._client.request(
                method,
                self.url + path,
                content=body,
                headers={DEADLINE_HEADER: f"{max(0.001, server_budget):.3f}"},
                timeout=remaining,
            )


def token_bytes(token: str) -> bytes:
    """The token as sent: its UTF-8 bytes; ``ValueError`` for one no server could match."""
    try:
        data = token.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("token: not valid UTF-8 (it cannot be sent)") from None
    if token != token.strip() or any(ord(c) < 32 or ord(c) == 127 for c in token):
        raise ValueError("token: no blanks at its ends and no control characters (it cannot be sent as it is)")
    return data


def _stop_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread, client: Any) -> None:
    """Close the client's connections, stop its event loop and thread."""
    if loop.is_closed():
        return
    with contextlib.suppress(Exception):  # (closing what is already broken)
        asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    if not thread.is_alive():
        loop.close()


def _reason(response: Any) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    return str(data.get("error", data)) if isinstance(data, dict) else str(data)[:200]


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _requests(samples: list[Sample]) -> list[list[int]]:
    """Positions of ``samples`` cut into requests of at most :data:`REQUEST_SAMPLES`, whole
    groups each (a request's groups are its own on the server)."""
    if len(samples) <= REQUEST_SAMPLES:
        return [list(range(len(samples)))] if samples else []
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(samples):
        groups.setdefault(repr(s.group_key), []).append(i)
    chunks: list[list[int]] = [[]]
    for group in groups.values():
        if chunks[-1] and len(chunks[-1]) + len(group) > REQUEST_SAMPLES:
            chunks.append([])
        chunks[-1].extend(group)
    return chunks


def _failed(samples: list[Sample], keys: list[str], weights: dict[str, float], message: str) -> ScoreBatch:
    """Every sample ``None`` with ``message`` as its error for every reward."""
    error_keys = keys or [REMOTE_KEY]
    return ScoreBatch(
        samples,
        {k: [None] * len(samples) for k in keys},
        {k: [{} for _ in samples] for k in keys},
        [dict.fromkeys(error_keys, message) for _ in samples],
        [None] * len(samples),
        dict(weights),
    )


def _concat(
    samples: list[Sample], keys: list[str], weights: dict[str, float], parts: list[tuple[list[int], ScoreBatch]]
) -> ScoreBatch:
    """The parts' rows put back at their positions in ``samples``."""
    if len(parts) == 1 and len(parts[0][0]) == len(samples):
        return parts[0][1]
    n = len(samples)
    components: dict[str, list[float | None]] = {k: [None] * n for k in keys}
    infos: dict[str, list[dict[str, Any]]] = {k: [{} for _ in range(n)] for k in keys}
    errors: list[dict[str, str]] = [{} for _ in range(n)]
    totals: list[float | None] = [None] * n
    for positions, part in parts:
        for j, i in enumerate(positions):
            for k in keys:
                components[k][i] = part.components[k][j]
                infos[k][i] = part.infos[k][j]
            errors[i] = part.errors[j]
            totals[i] = part.totals[j]
    return ScoreBatch(samples, components, infos, errors, totals, dict(weights))

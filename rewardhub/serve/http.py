"""HTTP plumbing shared by every wire protocol: the token check, the bounded body read, JSON
in and out, and the refusals as one exception type.

Promises (tested in ``tests/test_serve.py`` against the real server, and by the fuzz test
in ``tests/test_serve_fuzz.py``):

- the token is compared in constant time (:func:`hmac.compare_digest`), as UTF-8 bytes: a
  token with non-ASCII characters matches when the client sends it in UTF-8;
- a body over the limit is refused (413) from its ``Content-Length`` before a byte is read,
  and a chunked body as soon as it passes the limit: never read whole;
- a body that has not arrived within the body timeout is refused (408), and one still arriving
  when the server stops is refused at once (503): a client that stops mid-body holds up
  neither a worker nor the shutdown; a client that disconnects mid-body raises
  :class:`starlette.requests.ClientDisconnect` (the app counts it, no traceback);
- bad JSON is a 400 that says where; JSON's ``NaN``/``Infinity`` are refused (not JSON), as are
  numbers or nesting deep enough to hurt;
- responses are plain ASCII JSON (lone surrogates escaped, NaN written as ``null``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from rewardhub.serve.wire import DEADLINE_HEADER, dumps


class ClientError(Exception):
    """A request the server refuses: the status, and a reason naming the field at fault."""

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}


def field_error(field: str, reason: str) -> ClientError:
    """A 422 for a well-formed JSON body of the wrong shape."""
    return ClientError(422, f"{field}: {reason}")


def token_ok(request: Request, token: str | None) -> bool:
    """Whether the request carries ``token`` (``Authorization: Bearer T``); constant time.

    The header's bytes are compared with the token's UTF-8 bytes (Starlette decodes headers
    as Latin-1, which gives the bytes back unchanged)."""
    if token is None:
        return True
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        given = ""
    sent = given.strip(" \t").encode("latin-1", "replace")  # (only ASCII blanks: 0xA0 may end a UTF-8 character)
    return hmac.compare_digest(sent, token.encode("utf-8", "surrogateescape"))


async def read_body(
    request: Request, limit: int, timeout: float | None = None, stopping: asyncio.Event | None = None
) -> bytes:
    """The body, refused with 413 once it is known to pass ``limit`` bytes, with 408 if it has
    not all arrived within ``timeout`` seconds, and with 503 as soon as ``stopping`` is set."""
    reading = asyncio.ensure_future(_read_body(request, limit))
    waiters: set[asyncio.Future[Any]] = {reading}
    stop = asyncio.ensure_future(stopping.wait()) if stopping is not None else None
    if stop is not None:
        waiters.add(stop)
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        stopped = stop is not None and stop.done()
    finally:
        for waiter in waiters:
            if not waiter.done():
                waiter.cancel()
    if reading.done() and not reading.cancelled():
        return reading.result()
    await asyncio.gather(reading, return_exceptions=True)
    close = {"Connection": "close"}
    if stopped:
        raise ClientError(503, "the server is shutting down; send the request again", {**close, "Retry-After": "1"})
    raise ClientError(408, f"body: not received within {timeout:g}s", close)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ClientError(400, "Content-Length: not a number") from None
        if size > limit:
            raise ClientError(413, f"body of {size} bytes is over this server's limit of {limit} bytes")
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise ClientError(413, f"body is over this server's limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> Any:
    """The body as JSON, or a 400 saying what is wrong with it."""
    if not body.strip():
        raise ClientError(400, "body: empty; expected a JSON object")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ClientError(400, f"body: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ClientError(400, f"body: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise ClientError(400, "body: JSON nested too deeply") from None
    except ValueError as exc:  # NaN/Infinity, or an integer with thousands of digits
        raise ClientError(400, f"body: {exc}") from None


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(data), status_code=status, headers=headers, media_type="application/json")


def error_response(error: ClientError) -> Response:
    return json_response({"error": error.reason}, error.status, error.headers)


def deadline_seconds(request: Request) -> float | None:
    """The client's time budget from :data:`DEADLINE_HEADER`, if it sent one."""
    value = request.headers.get(DEADLINE_HEADER)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ClientError(400, f"{DEADLINE_HEADER}: expected a positive number of seconds, got {value!r}")
    return seconds

"""The live dashboard of a run directory: ``dashboard_app(run_dir, token=None)``, a Starlette app.

Routes (relative, so the app can be mounted under a prefix such as ``serve``'s ``/dashboard``):

- ``/``: the page (:mod:`rewardhub.telemetry.page`, plotly.js inlined: no CDN);
- ``/events``: server-sent events, one ``step`` event per new record of ``steps.jsonl`` (its
  ``id`` is the record's position, so a reconnecting browser's ``Last-Event-ID`` resumes exactly
  where it stopped; ``?after=N`` starts after the first N). The file is polled every
  ``poll_interval`` seconds (0.25 by default): a new step reaches the page well within 2 s;
- ``/api/steps``: every record so far as JSON (``?after=N``: those after the first N);
- ``/api/samples?step=S``: the samples of step S; with ``component=C&bin=B`` only those in bin B
  of C's histogram at that step (the dashboard's bar click); with ``group=G`` one group. At most
  :data:`~rewardhub.telemetry.samples.MAX_ROWS` rows, said in the answer.

With a ``token`` every route needs it: ``Authorization: Bearer T`` (compared in constant time,
as ``serve`` does), or the cookie the page sets when opened once as ``/?token=T`` (a browser's
``EventSource`` cannot send headers). Bad query values are a 400 with the reason; a step or
samples file that does not exist, a 404. Tested in ``tests/test_dashboard.py`` (a real uvicorn
subprocess and headless Chromium).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from rewardhub.serve.http import token_ok
from rewardhub.telemetry import page
from rewardhub.telemetry.samples import MAX_ROWS
from rewardhub.telemetry.stats import bin_members
from rewardhub.telemetry.steps import StepsTail, step_samples

COOKIE = "rewardhub_dashboard"
HEARTBEAT_SECONDS = 10.0


class _Index:
    """Every record read so far, refreshed from the file on each use (incremental)."""

    def __init__(self, run_dir: Path):
        self.tail = StepsTail(run_dir)
        self.records: list[dict[str, Any]] = []

    def refresh(self) -> list[dict[str, Any]]:
        self.records.extend(self.tail.read())
        return self.records

    def find(self, step: int) -> dict[str, Any] | None:
        for record in reversed(self.refresh()):
            if record.get("step") == step:
                return record
        return None


def dashboard_app(run_dir: str | os.PathLike[str], token: str | None = None, poll_interval: float = 0.25) -> Starlette:
    """The dashboard of ``run_dir`` (see the module doc)."""
    root = Path(run_dir)
    index = _Index(root)
    name = root.resolve().name or str(root)

    def allowed(request: Request) -> bool:
        if token is None or token_ok(request, token):
            return True
        given = request.cookies.get(COOKIE) or request.query_params.get("token") or ""
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode("utf-8", "surrogateescape"))

    def refused() -> Response:
        return JSONResponse(
            {"error": "missing or wrong token: open the page once as /?token=T, or send 'Authorization: Bearer T'"},
            401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    async def home(request: Request) -> Response:
        if not allowed(request):
            return refused()
        response = HTMLResponse(page.render(name))
        if token is not None:
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    async def steps(request: Request) -> Response:
        if not allowed(request):
            return refused()
        after = _int(request.query_params.get("after"), "after", 0)
        if isinstance(after, Response):
            return after
        records = await asyncio.to_thread(index.refresh)
        return JSONResponse({"count": len(records), "steps": records[after:], "bad_lines": index.tail.bad_lines})

    async def samples(request: Request) -> Response:
        if not allowed(request):
            return refused()
        params = request.query_params
        step = _int(params.get("step"), "step", None)
        if isinstance(step, Response):
            return step
        if step is None:
            return _bad("step: required (the step whose samples to list)")
        record = await asyncio.to_thread(index.find, step)
        if record is None:
            return JSONResponse({"error": f"step {step}: not recorded"}, 404)
        rows = await asyncio.to_thread(step_samples, root, record)
        if not rows and record.get("n"):
            return JSONResponse({"error": f"step {step}: its samples file {record.get('samples')!r} is missing"}, 404)
        answer: dict[str, Any] = {"step": step}
        component = params.get("component")
        if component is not None:
            stats = (record.get("rewards") or {}).get(component)
            if stats is None:
                return _bad(f"component: no reward {component!r} at step {step}")
            if not stats.get("hist"):
                return _bad(f"component: {component!r} has no value at step {step}")
            edges = stats["hist"]["edges"]
            bin_ = _int(params.get("bin"), "bin", None)
            if isinstance(bin_, Response):
                return bin_
            if bin_ is None or not 0 <= bin_ < len(edges) - 1:
                return _bad(f"bin: an integer from 0 to {len(edges) - 2}")
            chosen = bin_members([(r.get("rewards") or {}).get(component) for r in rows], edges, bin_)
            rows = [rows[i] for i in chosen]
            answer.update(component=component, bin=bin_, range=[edges[bin_], edges[bin_ + 1]])
        group = params.get("group")
        if group is not None:
            rows = [r for r in rows if r.get("group") == group]
            answer["group"] = group
        answer["count"] = len(rows)
        if len(rows) > MAX_ROWS:
            answer["note"] = f"the first {MAX_ROWS} of {len(rows)} samples"
        answer["rows"] = rows[:MAX_ROWS]
        return JSONResponse(answer)

    async def events(request: Request) -> Response:
        if not allowed(request):
            return refused()
        start = _int(request.headers.get("last-event-id") or request.query_params.get("after"), "after", 0)
        if isinstance(start, Response):
            return start

        async def stream():
            tail = StepsTail(root)
            position = 0
            beat = time.monotonic()
            yield "retry: 1000\n\n"
            while True:
                for record in await asyncio.to_thread(tail.read):
                    position += 1
                    if position > start:
                        data = json.dumps(record, ensure_ascii=False, allow_nan=False)
                        yield f"id: {position}\nevent: step\ndata: {data}\n\n"
                        beat = time.monotonic()
                if time.monotonic() - beat > HEARTBEAT_SECONDS:
                    yield ": still here\n\n"
                    beat = time.monotonic()
                await asyncio.sleep(poll_interval)

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "run_dir": str(root)})

    routes = [
        Route("/", home),
        Route("/events", events),
        Route("/api/steps", steps),
        Route("/api/samples", samples),
        Route("/health", health),
    ]
    return Starlette(routes=routes)


def _bad(reason: str) -> Response:
    return JSONResponse({"error": reason}, 400)


def _int(value: str | None, field: str, default: int | None) -> int | Response | None:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        return _bad(f"{field}: not an integer: {value[:40]!r}")
    if number < 0:
        return _bad(f"{field}: must be 0 or more")
    return number

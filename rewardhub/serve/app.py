"""The ASGI app: every protocol's routes over one :class:`~rewardhub.serve.service.Service`.

Each endpoint goes through :func:`_endpoint`, which applies the refusals in order (token, then
the body limit and body timeout, then JSON, then the protocol's own checks) and maps the
batcher's refusals to statuses: 503 + ``Retry-After`` (queue full), 413 (more samples than a
request may have), 504 (deadline). Client input never produces a 500; a 500 is a bug, logged
with its traceback. A client that disconnects mid-body is counted with status 499 (nginx's
"client closed request"), without a traceback.
Lifespan: the models load (a warm-up call) before ``/health`` says ready; on shutdown (the
server sets :attr:`app.state.stopping`), bodies still arriving are refused at once, the
batcher scores what is queued (for at most ``shutdown_timeout`` seconds), then the rewards
close and their worker processes stop. Tested in ``tests/test_serve.py`` and
``tests/test_serve_attacks.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from rewardhub.engine import Scorer
from rewardhub.serve.batcher import Batcher, DeadlineExceeded, QueueFull, TooLarge
from rewardhub.serve.http import (
    ClientError,
    deadline_seconds,
    error_response,
    json_response,
    parse_json,
    read_body,
    token_ok,
)
from rewardhub.serve.metrics import ServeMetrics
from rewardhub.serve.protocols import MODULES
from rewardhub.serve.service import Service
from rewardhub.types import Sample

logger = logging.getLogger("rewardhub.serve")

Handler = Callable[[Any, Service, "float | None"], Awaitable[Any]]

#: Paths answered without the token (a load balancer's probe carries none).
OPEN_PATHS = frozenset({"/health"})


@dataclass
class ServeOptions:
    """How the server batches and what it refuses (the ``rewardhub serve`` options)."""

    token: str | None = None
    max_batch: int = 64
    max_wait_ms: float = 5.0
    max_queue: int = 4096
    max_body_mb: float = 16.0
    workers: int = 1
    warmup: bool = True
    #: Samples one request may have (``None``: as many as the queue holds); beyond: 413.
    max_request_samples: int | None = None
    #: Seconds a request's body may take to arrive; beyond: 408.
    body_timeout: float = 60.0
    #: Seconds the requests being scored get to finish after SIGTERM.
    shutdown_timeout: float = 60.0

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)


def create_app(scorer: Scorer, options: ServeOptions | None = None) -> Starlette:
    """The app serving ``scorer``; models load at startup, the scorer closes at shutdown."""
    options = options or ServeOptions()
    metrics = ServeMetrics()
    batcher = Batcher(
        scorer,
        max_batch=options.max_batch,
        max_wait_ms=options.max_wait_ms,
        max_queue=options.max_queue,
        max_request=options.max_request_samples,
        workers=options.workers,
        observe=metrics.observe_batch,
    )
    service = Service(scorer, batcher, metrics)
    stopping = asyncio.Event()  # set by the server as it begins to shut down

    async def metrics_endpoint(body: Any, service: Service, deadline: float | None) -> Response:
        metrics.queue_depth.set(batcher.queued)
        return Response(metrics.render(), media_type=metrics.content_type)

    routes = [
        Route(path, _endpoint(path, handler, service, options, stopping), methods=[method])
        for module in MODULES
        for path, method, handler in module.ROUTES
    ]
    metrics_route = _endpoint("/metrics", metrics_endpoint, service, options, stopping)
    routes.append(Route("/metrics", metrics_route, methods=["GET"]))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service.ready = asyncio.Event()
        batcher.start(gate=service.ready)
        warming = asyncio.create_task(_warm_up(service, options.warmup))
        try:
            yield
        finally:
            stopping.set()
            await asyncio.wait([warming], timeout=options.shutdown_timeout)
            if not await batcher.drain(options.shutdown_timeout):
                logger.warning(
                    "rewardhub serve: batches still running after %gs; stopping the rewards", options.shutdown_timeout
                )
            await asyncio.to_thread(scorer.close)  # (stops the rewards' worker processes, and a call in them)

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.service = service
    app.state.stopping = stopping
    return app


async def _warm_up(service: Service, enabled: bool) -> None:
    """Load every reward's model with one throwaway sample, then open the batcher."""
    if enabled:
        probe = Sample(response="rewardhub warm-up", prompt="rewardhub warm-up")
        try:
            batch = await asyncio.to_thread(service.scorer.score, [probe])
            service.warmup_errors = dict(batch.errors[0])
        except Exception as exc:  # reported by /health; requests still get per-sample errors
            service.warmup_errors = {"scorer": f"{type(exc).__name__}: {exc}"}
    assert service.ready is not None
    service.ready.set()


def _endpoint(name: str, handler: Handler, service: Service, options: ServeOptions, stopping: asyncio.Event):
    metrics = service.metrics

    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        try:
            if request.url.path not in OPEN_PATHS and not token_ok(request, options.token):
                raise ClientError(401, "missing or wrong token (send 'Authorization: Bearer <token>')")
            deadline = deadline_seconds(request)
            body = None
            if request.method == "POST":
                raw = await read_body(request, options.max_body_bytes, options.body_timeout, stopping)
                body = parse_json(raw) if raw.strip() else None
            result = await handler(body, service, deadline)
            response = result if isinstance(result, Response) else json_response(result)
        except ClientError as exc:
            if exc.status == 401:
                exc.headers.setdefault("WWW-Authenticate", "Bearer")
            response = error_response(exc)
        except QueueFull as exc:
            response = json_response({"error": str(exc)}, 503, {"Retry-After": str(exc.retry_after)})
        except TooLarge as exc:
            response = json_response({"error": f"samples: {exc}"}, 413)
        except DeadlineExceeded as exc:
            response = json_response({"error": str(exc)}, 504)
        except ClientDisconnect:  # the client went away mid-body: nobody to answer, nothing to log
            response = Response(status_code=499)
        except Exception as exc:  # a bug, not the client's fault: say so, keep serving
            logger.exception("rewardhub serve: %s failed", name)
            response = json_response({"error": f"internal error: {type(exc).__name__}: {exc}"}, 500)
        metrics.requests.labels(name, str(response.status_code)).inc()
        metrics.latency.labels(name).observe(time.perf_counter() - started)
        return response

    endpoint.__name__ = f"endpoint_{name.strip('/').replace('/', '_') or 'root'}"
    return endpoint

"""``rewardhub serve``: the scoring service, started by one command, stopped by SIGTERM.

Only click is imported here; Starlette and uvicorn are imported when the command runs, so
``rewardhub --help`` stays fast. Tested as a real subprocess in ``tests/test_serve.py``.
"""

from __future__ import annotations

import os
from typing import Any

import click

from rewardhub.commands import EXIT_CONFIG, fail

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _is_local(host: str) -> bool:
    return host in LOCAL_HOSTS or host.startswith("127.")


@click.command(name="serve")
@click.option("--rewards", metavar="NAME[:WEIGHT],...", help="Rewards to serve (as for eval).")
@click.option(
    "--config", type=click.Path(exists=True, dir_okay=False), help="YAML config: rewards, weights (as for eval)."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--token",
    envvar="REWARDHUB_TOKEN",
    metavar="T",
    help="Require 'Authorization: Bearer T' (default: $REWARDHUB_TOKEN). Needed to listen beyond localhost.",
)
@click.option("--insecure", is_flag=True, help="Allow listening beyond localhost without a token.")
@click.option(
    "--max-batch", type=click.IntRange(min=1), default=64, show_default=True, help="Samples per batch, at most."
)
@click.option(
    "--max-wait-ms",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Longest wait for a batch to fill after its first request.",
)
@click.option(
    "--max-queue",
    type=click.IntRange(min=1),
    default=4096,
    show_default=True,
    help="Samples allowed to wait; beyond: 503 with Retry-After.",
)
@click.option(
    "--max-body-mb", type=click.FloatRange(min=0, min_open=True), default=16.0, show_default=True, help="Body limit."
)
@click.option(
    "--max-request-samples",
    type=click.IntRange(min=1),
    metavar="N",
    help="Samples one request may have; beyond: 413 (default: as many as --max-queue).",
)
@click.option("--timeout", type=float, metavar="SECONDS", help="Give up on a reward call after this long (as eval).")
@click.option(
    "--body-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Time a request's body may take to arrive; beyond: 408.",
)
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="On SIGTERM, time the requests being scored get to finish.",
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Batches scored at the same time."
)
@click.option(
    "--missing", type=click.Choice(["skip", "renormalize", "propagate"]), help="Total when a reward has no value."
)
@click.pass_obj
def serve_command(obj: dict[str, Any] | None, **opts: Any) -> None:
    """Serve rewards over HTTP: native /v1/score, OpenRLHF /get_reward, slime /slime,
    NeMo-Gym /verify, plus /health, /v1/rewards and /metrics.

    \b
    rewardhub serve --rewards entropy,repetition_penalty:0.5
    REWARDHUB_TOKEN=secret rewardhub serve --config rewards.yaml --host 0.0.0.0 --port 8000
    """
    block = tuple((obj or {}).get("block", ()))
    from rewardhub.calls import check_timeout

    try:
        check_timeout(opts["timeout"], "--timeout")  # the same check as eval's and the Scorer's
    except ValueError as exc:
        fail(str(exc), EXIT_CONFIG)
    _check_token(opts["token"])
    host = opts["host"]
    if not _is_local(host) and not opts["token"] and not opts["insecure"]:
        refusal = f"refusing to listen on {host} without a token: set --token or REWARDHUB_TOKEN, or pass --insecure"
        fail(refusal, EXIT_CONFIG)
    try:
        import uvicorn

        from rewardhub.serve.app import ServeOptions, create_app
    except ImportError as exc:
        fail(f"rewardhub serve needs its extra: pip install 'rewardhub[serve]' ({exc})", EXIT_CONFIG)
    scorer = _build_scorer(opts, block)
    options = ServeOptions(
        token=opts["token"] or None,
        max_batch=opts["max_batch"],
        max_wait_ms=opts["max_wait_ms"],
        max_queue=opts["max_queue"],
        max_body_mb=opts["max_body_mb"],
        workers=opts["workers"],
        max_request_samples=opts["max_request_samples"],
        body_timeout=opts["body_timeout"],
        shutdown_timeout=opts["shutdown_timeout"],
    )
    app = create_app(scorer, options)
    keys = ", ".join(c.key for c in scorer.components)
    click.echo(
        f"rewardhub serve: starting on http://{host}:{opts['port']}, serving {keys or 'no rewards'} "
        f"(max batch {options.max_batch}, max wait {options.max_wait_ms:g} ms, pid {os.getpid()})",
        err=True,
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=opts["port"],
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=options.shutdown_timeout,  # SIGTERM: finish the requests in flight, then stop
    )
    server = _server_class(uvicorn, app.state.stopping)(config)
    server.run()
    if not server.started:
        fail(f"could not start on {host}:{opts['port']}", 1)  # (the port: taken, or not ours to bind)


def _check_token(token: str | None) -> None:
    """A token must be sendable: UTF-8 (a client sends its bytes), no control characters."""
    if token is None:
        return
    try:
        token.encode("utf-8")
    except UnicodeEncodeError:
        fail("--token / REWARDHUB_TOKEN: not valid UTF-8", EXIT_CONFIG)
    if token != token.strip() or any(ord(c) < 32 or ord(c) == 127 for c in token):
        fail("--token / REWARDHUB_TOKEN: no spaces at its ends and no control characters", EXIT_CONFIG)


def _server_class(uvicorn: Any, stopping: Any) -> Any:
    """uvicorn's server, setting the app's ``stopping`` event as it begins to shut down (bodies
    still arriving are then refused at once: a client that stops mid-body cannot hold it up)."""

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            stopping.set()
            await super().shutdown(sockets)

    return Server


def _build_scorer(opts: dict[str, Any], block: tuple[str, ...]) -> Any:
    from rewardhub import plugins
    from rewardhub.config import ConfigError
    from rewardhub.engine import Scorer
    from rewardhub.evaluation import EvalOptions, resolve_config

    try:
        run = resolve_config(  # --rewards as typed: eval's parsing (presets, the empty-list error)
            EvalOptions(
                rewards=opts["rewards"], metrics=None, config=opts["config"], missing=opts["missing"], block=block
            )
        ).run
        return Scorer(  # isolate: a pure-Python reward runs in worker processes, so it never holds up the event loop
            run.rewards, missing=run.missing, timeout=opts["timeout"], tokenize=run.tokenize, block=block, isolate=True
        )
    except (ConfigError, plugins.PluginError, ValueError) as exc:
        fail(str(exc), EXIT_CONFIG)

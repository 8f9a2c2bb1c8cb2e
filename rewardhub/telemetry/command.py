"""``rewardhub dashboard RUN_DIR``: the live dashboard of a run directory, on uvicorn.

Only click is imported at module level; Starlette, uvicorn and plotly load when the command runs.
The token rule is ``serve``'s (the same check): listening beyond localhost needs ``--token`` (or
``$REWARDHUB_TOKEN``) or ``--insecure``. Tested as a real subprocess in ``tests/test_dashboard.py``.
"""

from __future__ import annotations

from pathlib import Path

import click

from rewardhub.commands import EXIT_CONFIG, fail
from rewardhub.serve.command import _check_token, _is_local  # serve's token rule, shared


@click.command(name="dashboard")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True, help="Port to listen on.")
@click.option(
    "--token",
    envvar="REWARDHUB_TOKEN",
    metavar="T",
    help="Require the token (open the page once as /?token=T). Needed to listen beyond localhost.",
)
@click.option("--insecure", is_flag=True, help="Allow listening beyond localhost without a token.")
def dashboard_command(run_dir: str, host: str, port: int, token: str | None, insecure: bool) -> None:
    """Watch a training run live: every reward's distribution per step, diversity, reward
    against length, missing and flat groups, a GRPO group side by side.

    \b
    rewardhub dashboard runs/grpo-1            # then open http://127.0.0.1:8001
    REWARDHUB_TOKEN=secret rewardhub dashboard runs/grpo-1 --host 0.0.0.0
    """
    _check_token(token)
    if not _is_local(host) and not token and not insecure:
        fail(
            f"refusing to listen on {host} without a token: set --token or REWARDHUB_TOKEN, or pass --insecure",
            EXIT_CONFIG,
        )
    path = Path(run_dir)
    if path.exists() and not path.is_dir():
        fail(f"{run_dir}: not a directory", EXIT_CONFIG)
    try:
        import uvicorn

        from rewardhub.telemetry.dashboard import dashboard_app
        from rewardhub.telemetry.page import plotly_js

        plotly_js()
    except (ImportError, ValueError) as exc:  # (ConfigError is a ValueError)
        fail(f"rewardhub dashboard needs its extra: pip install 'rewardhub[telemetry]' ({exc})", EXIT_CONFIG)
    if not (path / "steps.jsonl").exists():
        click.echo(f"rewardhub dashboard: {run_dir} has no steps.jsonl yet; waiting for the first step", err=True)
    app = dashboard_app(path, token=token or None)
    click.echo(f"rewardhub dashboard: {run_dir} on http://{host}:{port}", err=True)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        fail(f"could not start on {host}:{port}", 1)

"""``rewardhub eval``: the command-line face of :func:`rewardhub.evaluation.evaluate_files`.

Exit status: 0 done, 1 bad input or an output that cannot be written (a bad ``-o``, another
run writing it, a full disk), 2 bad configuration or usage (a journal ``--resume`` refuses
included), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM). An interrupted or terminated
run says that its rows are kept for ``--resume`` only when some were journaled. Progress is a
bar on stderr when it is a terminal (:mod:`rewardhub.commands.progress_bar`). Tested in
``tests/test_cli_eval.py``, ``tests/test_eval_progress.py``, ``tests/test_eval_firstrun.py``
and ``tests/test_ray_failures.py``.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from rewardhub.commands import EXIT_CONFIG, EXIT_INPUT, fail, print_json, warn_failures

EXIT_TERMINATED = 128 + signal.SIGTERM


@click.command(name="eval")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--rewards",
    "rewards",
    metavar="NAME[:WEIGHT],...",
    help="Rewards to run, with weights: their weighted total is reported. Presets: none, builtin, all. "
    "Default (no --rewards/--config): every installed reward, side by side, no total.",
)
@click.option(
    "--metrics",
    "metrics",
    metavar="NAME,...",
    help="Corpus metrics to compute. Presets: none, builtin, all. Default: every installed one.",
)
@click.option("--config", "config", type=click.Path(exists=True, dir_okay=False), help="YAML config: rewards, metrics.")
@click.option("-o", "--output", type=click.Path(), help="Write scored rows here (JSONL), with OUT.meta.json beside it.")
@click.option("--by-group", is_flag=True, help="Also compute metrics per group (same prompt) and average.")
@click.option(
    "--tokenize", metavar="NAME", help="Tokenizer for n-gram metrics and rewards (auto, 13a, zh, hf:PATH...)."
)
@click.option("--prompt-field", metavar="FIELD", help="Field holding the prompt (default: detected).")
@click.option("--response-field", metavar="FIELD", help="Field holding the response (default: detected).")
@click.option("--skip-invalid", is_flag=True, help="Skip and count malformed rows instead of stopping.")
@click.option("--resume", is_flag=True, help="Continue a killed run of the same command from OUTPUT.partial.")
@click.option(
    "--missing", type=click.Choice(["skip", "renormalize", "propagate"]), help="Total when a reward has no value."
)
@click.option("--timeout", type=float, metavar="SECONDS", help="Give up on a reward call after this long.")
@click.option(
    "--chunk-size", type=click.IntRange(min=1), default=512, show_default=True, help="Rows per journaled chunk."
)
@click.option("--sample", type=click.IntRange(min=1), metavar="K", help="Metrics that can sample (self-BLEU) use K.")
@click.option("--seed", type=int, metavar="S", help="Seed for --sample (default 0).")
@click.option(
    "--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True, help="Where to score."
)
@click.option("--ray-address", metavar="ADDR", help="Ray cluster to join (default: RAY_ADDRESS, else a local Ray).")
@click.option("--ray-actors", type=click.IntRange(min=1), default=2, show_default=True, help="Scorer actors (ray).")
@click.option(
    "--ray-gpus-per-actor", type=click.FloatRange(min=0), default=0.0, show_default=True, help="GPUs per actor (ray)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, no warnings.")
@click.pass_obj
def eval_command(
    obj: dict[str, Any],
    files: tuple[str, ...],
    rewards: str | None,
    metrics: str | None,
    config: str | None,
    output: str | None,
    by_group: bool,
    tokenize: str | None,
    prompt_field: str | None,
    response_field: str | None,
    skip_invalid: bool,
    resume: bool,
    missing: str | None,
    timeout: float | None,
    chunk_size: int,
    sample: int | None,
    seed: int | None,
    backend: str,
    ray_address: str | None,
    ray_actors: int,
    ray_gpus_per_actor: float,
    as_json: bool,
    quiet: bool,
) -> None:
    """Score FILES (JSONL, a JSON array, or plain text; '-' for stdin) with rewards and metrics.

    \b
    rewardhub eval outputs.jsonl
    rewardhub eval outputs.jsonl --rewards entropy:0.5,repetition_penalty --metrics distinct -o scored.jsonl
    rewardhub eval a.jsonl b.jsonl --by-group --json
    rewardhub eval a.jsonl b.jsonl --backend ray --ray-actors 8 -o scored.jsonl
    """
    if resume and not output:
        fail("--resume needs -o/--output (the run to continue)", EXIT_CONFIG)
    from rewardhub.calls import check_timeout

    try:
        check_timeout(timeout, "--timeout")  # the same check as serve's and the Scorer's
    except ValueError as exc:
        fail(str(exc), EXIT_CONFIG)
    from rewardhub import plugins
    from rewardhub.backends import BackendError
    from rewardhub.cli import interrupted
    from rewardhub.config import ConfigError
    from rewardhub.evaluation import EvalOptions
    from rewardhub.io import InputError, OutputError, ResumeError
    from rewardhub.io.writer import companion, has_committed_rows

    block = obj["block"]
    options = EvalOptions(
        rewards=rewards,
        metrics=metrics,
        config=config,
        output=output,
        by_group=by_group,
        resume=resume,
        skip_invalid=skip_invalid,
        prompt_field=prompt_field,
        response_field=response_field,
        tokenize=tokenize,
        missing=missing,
        timeout=timeout,
        chunk_size=chunk_size,
        sample=sample,
        seed=seed,
        block=block,
        backend=backend,
        ray_address=ray_address,
        ray_actors=ray_actors,
        ray_gpus_per_actor=ray_gpus_per_actor,
    )
    terminated = threading.Event()
    try:
        with _sigterm_as_interrupt(terminated):
            if not quiet:
                warn_failures(plugins.registry(block))
            result = _run(files, options, quiet)
    except (InputError, OutputError) as exc:
        fail(str(exc), EXIT_INPUT)
    except (ConfigError, plugins.PluginError, ResumeError, BackendError, ValueError) as exc:
        fail(str(exc), EXIT_CONFIG)
    except KeyboardInterrupt:
        journal = companion(output, ".partial") if output else None
        detail = ""
        if journal is not None and has_committed_rows(journal):
            how = "--resume --backend local" if backend == "ray" else "--resume"
            detail = f"; rows scored so far are kept in {journal}: re-run with {how}"
        if terminated.is_set():
            click.echo(f"rewardhub: terminated{detail}", err=True)
            sys.exit(EXIT_TERMINATED)
        interrupted(detail)

    if not quiet:
        for message in result.warnings:
            click.echo(f"rewardhub: warning: {message}", err=True)
        if result.left_out:
            from rewardhub.defaults import describe_left_out

            click.echo(f"rewardhub: {describe_left_out(result.left_out)}", err=True)
    if result.skipped and not quiet:
        where = ", ".join(f"{e.path}:{e.line}" for e in result.skipped[:5])
        more = f" and {len(result.skipped) - 5} more" if len(result.skipped) > 5 else ""
        click.echo(f"rewardhub: skipped {len(result.skipped)} invalid rows ({where}{more})", err=True)
        for e in result.skipped[:5]:
            click.echo(f"  {e}", err=True)
    for name, message in result.metric_errors.items():
        click.echo(f"rewardhub: warning: metric {name!r} failed: {message}", err=True)
    if as_json:
        print_json(result.summary)
    else:
        from rich.console import Console

        from rewardhub.summary import render

        render(result.summary, Console(), metric_notes=result.metric_notes)
        if result.output:
            click.echo(f"wrote {result.output}")


@contextmanager
def _sigterm_as_interrupt(terminated: threading.Event) -> Iterator[None]:
    """SIGTERM stops the run as Ctrl-C does (the same path: the journal kept, one line), with
    ``terminated`` set so the exit status says which. Only the main thread can set it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigterm(signum: int, frame: Any) -> None:
        terminated.set()
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):  # the interrupt watcher counts it as the user's, as a Ctrl-C
            handler(signal.SIGINT, frame)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(files: tuple[str, ...], options: Any, quiet: bool) -> Any:
    """The run, with a progress bar on stderr when it is a terminal, named after each phase."""
    from rewardhub.evaluation import evaluate_files

    if quiet:  # (before importing rich: a tenth of a second at start-up nobody sees)
        return evaluate_files(files, options)
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        return evaluate_files(files, options)
    from rich.progress import Progress

    from rewardhub.commands.progress_bar import PhaseBar, columns

    with Progress(*columns(), console=console, transient=True) as bar:
        return evaluate_files(files, options, progress=PhaseBar(bar))

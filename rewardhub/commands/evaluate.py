"""``rewardhub eval``: the command-line face of :func:`rewardhub.evaluation.evaluate_files`.

Exit status: 0 done, 1 bad input or an output that cannot be written (a bad ``-o``, another
run writing it, a full disk), 2 bad configuration or usage, 130 interrupted (the journal kept).
"""

from __future__ import annotations

from typing import Any

import click

from rewardhub.commands import EXIT_CONFIG, EXIT_INPUT, fail, print_json, warn_failures

PHASES = {"reading": "reading input", "loading models": "loading models", "scoring": "scoring", "metrics": "metrics"}


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
    from rewardhub.io.writer import companion

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
    try:
        if not quiet:
            warn_failures(plugins.registry(block))
        result = _run(files, options, quiet)
    except (InputError, OutputError) as exc:
        fail(str(exc), EXIT_INPUT)
    except (ConfigError, plugins.PluginError, ResumeError, BackendError, ValueError) as exc:
        fail(str(exc), EXIT_CONFIG)
    except KeyboardInterrupt:
        journal = companion(output, ".partial") if output else None
        kept = journal is not None and journal.exists()
        interrupted(f"; rows scored so far are kept in {journal}: re-run with --resume" if kept else "")

    if not quiet:
        for message in result.warnings:
            click.echo(f"rewardhub: warning: {message}", err=True)
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

        render(result.summary, Console())
        if result.output:
            click.echo(f"wrote {result.output}")


def _run(files: tuple[str, ...], options: Any, quiet: bool) -> Any:
    """The run, with a progress bar on stderr when it is a terminal, named after each phase."""
    from rewardhub.evaluation import evaluate_files

    if quiet:  # (before importing rich: a tenth of a second at start-up nobody sees)
        return evaluate_files(files, options)
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        return evaluate_files(files, options)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(PHASES["reading"], total=None)

        def progress(phase: str, done: int, total: int | None) -> None:
            bar.update(task, description=PHASES.get(phase, phase), completed=done, total=total)

        return evaluate_files(files, options, progress=progress)

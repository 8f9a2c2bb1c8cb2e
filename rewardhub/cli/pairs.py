"""``rewardhub pairs``: scored responses into DPO preference pairs.

A built-in command, listed in :data:`rewardhub.cli.BUILTIN_COMMANDS` and imported only when it
runs (a plugin adds its commands through ``register_commands`` instead)."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from rewardhub.cli import options
from rewardhub.cli.errors import one_line_errors


@click.command(name="pairs")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="Write preference pairs here (JSONL)."
)
@click.option(
    "--min-margin",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Keep a pair only if the chosen score beats the rejected one by at least this much.",
)
@click.option("--all-pairs", is_flag=True, help="Every pair of responses above the margin, not only best vs worst.")
@options.fields()
@options.skip_invalid()
@options.as_json("Print what was done as JSON on stdout.")
@options.quiet("No summary on stderr.")
def pairs_command(
    files: tuple[str, ...],
    output: str,
    min_margin: float,
    all_pairs: bool,
    prompt_field: str | None,
    response_field: str | None,
    skip_invalid: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Turn scored FILES (from `rewardhub eval -o`) into DPO preference pairs.

    Responses are grouped by prompt; each group gives its best response against its worst
    (or every pair, with --all-pairs), in TRL's {prompt, chosen, rejected} format with
    score_chosen and score_rejected. It says how the margin correlates with the length
    difference (Spearman), and warns past 0.3: rewards that follow length teach length.

    \b
    rewardhub eval samples.jsonl --rewards entropy,repetition_penalty -o scored.jsonl
    rewardhub pairs scored.jsonl -o prefs.jsonl --min-margin 0.1
    """
    from rewardhub.pairs import pairs_from_files

    with one_line_errors():  # bad input, an output that cannot be written: one line, status 1
        _, stats = pairs_from_files(
            files,
            output,
            min_margin=min_margin,
            all_pairs=all_pairs,
            prompt_field=prompt_field,
            response_field=response_field,
            skip_invalid=skip_invalid,
        )
    warning = stats.length_warning()
    if as_json:
        click.echo(json.dumps({**asdict(stats), "length_warning": warning, "output": output}, indent=2))
    elif not quiet:
        for message in stats.skipped[:5]:
            click.echo(f"rewardhub: skipped {message}", err=True)
        click.echo(f"rewardhub: {stats.describe()}; wrote {output}", err=True)
        click.echo(f"rewardhub: {stats.describe_length()}", err=True)
    if warning and not quiet:
        click.echo(f"rewardhub: warning: {warning}", err=True)

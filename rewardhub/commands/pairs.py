"""``rewardhub pairs``: scored responses into DPO preference pairs.

A built-in command, listed in :data:`rewardhub.cli.BUILTIN_COMMANDS` and imported only when it
runs (a plugin adds its commands through ``register_commands`` instead)."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from rewardhub.commands import EXIT_INPUT, fail


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
@click.option("--prompt-field", metavar="FIELD", help="Field holding the prompt (default: detected).")
@click.option("--response-field", metavar="FIELD", help="Field holding the response (default: detected).")
@click.option("--skip-invalid", is_flag=True, help="Skip and count malformed rows instead of stopping.")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
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
    from rewardhub.adapters.pairs import pairs_from_files
    from rewardhub.io import InputError

    try:
        _, stats = pairs_from_files(
            files,
            output,
            min_margin=min_margin,
            all_pairs=all_pairs,
            prompt_field=prompt_field,
            response_field=response_field,
            skip_invalid=skip_invalid,
        )
    except InputError as exc:
        fail(str(exc), EXIT_INPUT)
    except OSError as exc:
        fail(f"{output}: {exc.strerror}", EXIT_INPUT)
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

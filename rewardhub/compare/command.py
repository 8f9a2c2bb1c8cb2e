"""``rewardhub compare`` and ``rewardhub report``: click commands, registered in
:mod:`rewardhub.cli`. Only click is imported at module level, so ``rewardhub --help`` stays
fast; the statistics, pandas and plotly load when a command runs. Tested in
``tests/test_compare_cli.py`` and ``tests/test_report.py``."""

from __future__ import annotations

from typing import Any

import click

from rewardhub.commands import EXIT_CONFIG, EXIT_INPUT, fail, print_json


def _run(fn: Any) -> Any:
    """Call ``fn()``, turning bad input and configuration into one-line errors."""
    from rewardhub import plugins
    from rewardhub.config import ConfigError
    from rewardhub.io import InputError, OutputError, ResumeError

    try:
        return fn()
    except InputError as exc:
        fail(str(exc), EXIT_INPUT)
    except (ConfigError, plugins.PluginError, ResumeError, OutputError, ValueError, OSError) as exc:
        fail(str(exc), EXIT_CONFIG)
    except KeyboardInterrupt:
        fail("interrupted; scoring done so far is journaled in the work directory: run again to resume", 130)


REWARDS_HELP = "Rewards to compare (default: all the scored files hold; raw files: as eval)."
PAIRED_HELP = "Pair samples by prompt (auto: when at least half the prompts match)."
PERMUTATIONS_HELP = "Random permutations for the p-values (--bootstrap: its former name)."
WORK_DIR_HELP = "Where raw files get scored, journaled and kept (default .rewardhub/scored)."


def comparison_options(fn: Any) -> Any:
    """The options ``compare`` and ``report --compare`` share (names and meaning as ``eval``)."""
    choice, level = click.Choice(["auto", "yes", "no"]), click.FloatRange(0, 1, min_open=True, max_open=True)
    options = [
        click.option("--rewards", metavar="NAME[:WEIGHT],...", help=REWARDS_HELP),
        click.option(
            "--metrics", metavar="NAME,...", help="Corpus metrics to compare (default as eval: all installed)."
        ),
        click.option("--config", type=click.Path(exists=True, dir_okay=False), help="YAML config: rewards, metrics."),
        click.option("--by", "by", metavar="FIELD", help="Split the files into the two sides by this field's value."),
        click.option("--a", "a_value", metavar="VALUE", help="With --by: the value that makes side A."),
        click.option("--b", "b_value", metavar="VALUE", help="With --by: the value that makes side B."),
        click.option("--tokenize", metavar="NAME", help="Tokenizer for n-gram metrics and rewards (auto, 13a, zh...)."),
        click.option("--paired", type=choice, default="auto", show_default=True, help=PAIRED_HELP),
        click.option(
            "--permutations",
            "--bootstrap",
            "permutations",
            type=click.IntRange(min=0),
            default=2000,
            show_default=True,
            help=PERMUTATIONS_HELP,
        ),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of permutations and groups."),
        click.option("--confidence", type=level, default=0.95, show_default=True, help="Level of the intervals."),
        click.option("--by-group", is_flag=True, help="Also compare metrics computed per group, averaged."),
        click.option("--work-dir", type=click.Path(file_okay=False), help=WORK_DIR_HELP),
        click.option("--prompt-field", metavar="FIELD", help="Field holding the prompt (default: detected)."),
        click.option("--response-field", metavar="FIELD", help="Field holding the response (default: detected)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _comparison(obj: dict[str, Any], a: Any, b: Any, quiet: bool, **kw: Any) -> Any:
    from rewardhub.compare.api import compare

    log = None if quiet else (lambda message: click.echo(f"rewardhub: {message}", err=True))
    # --rewards/--metrics go as typed: eval's parsing gives presets and the empty-list error
    return _run(lambda: compare(a, b, **kw, block=(obj or {}).get("block", ()), log=log))


@click.command(name="compare")
@click.argument("files", nargs=-1, required=True, metavar="A [B]")
@comparison_options
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No messages on stderr.")
@click.pass_obj
def compare_command(obj: dict[str, Any], files: tuple[str, ...], as_json: bool, quiet: bool, **kw: Any) -> None:
    """Did B change anything? Each reward's and metric's delta B - A with a confidence interval.

    A and B are JSONL files (several: a.jsonl,b.jsonl), raw or scored by `rewardhub eval`.
    With --by FIELD, FILES are split into the two sides by that field instead.

    \b
    rewardhub compare before.jsonl after.jsonl --rewards entropy,repetition_penalty --metrics distinct
    rewardhub compare alpaca_eval/*.jsonl --by generator --a Meta-Llama-3-8B-Instruct --b Llama-3-Instruct-8B-SimPO
    """
    if kw["by"]:
        a, b = ",".join(files), None
    elif len(files) != 2:
        fail(f"compare takes two file sets, A and B (got {len(files)}); join several files with commas", EXIT_CONFIG)
    else:
        a, b = files
    result = _comparison(obj, a, b, quiet, **kw)
    if as_json:
        print_json(result.to_dict())
        return
    from rich.console import Console

    from rewardhub.compare.table import render

    render(result, Console())


@click.command(name="report")
@click.argument("files", nargs=-1, metavar="[FILE...]")
@click.option("--compare", "compare_files", nargs=2, metavar="A B", help="Compare two file sets in the report.")
@comparison_options
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The HTML file to write.")
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Highest and lowest samples shown per reward.",
)
@click.option("-q", "--quiet", is_flag=True, help="No messages on stderr.")
@click.pass_obj
def report_command(
    obj: dict[str, Any],
    files: tuple[str, ...],
    compare_files: tuple[str, str] | None,
    output: str,
    top: int,
    quiet: bool,
    **kw: Any,
) -> None:
    """One self-contained HTML page about scored FILES, a comparison (--compare A B, or --by),
    or a training run's RUN_DIR (recorded by rewardhub.telemetry).

    \b
    rewardhub report scored.jsonl -o report.html
    rewardhub report runs/grpo-1 -o run.html
    rewardhub report --compare before.jsonl after.jsonl --metrics distinct,self_bleu -o report.html
    """
    if len(files) == 1 and not compare_files:  # a training run's directory: rewardhub.telemetry draws it
        from rewardhub.telemetry.report import is_run_dir, write_run_report

        if is_run_dir(files[0]):
            path = _run(lambda: write_run_report(files[0], output))
            if not quiet:
                click.echo(f"wrote {path}")
            return
    if not files and not compare_files:
        fail("report needs FILES, --compare A B, or FILES with --by FIELD", EXIT_CONFIG)
    if files and compare_files:
        fail("report takes FILES or --compare A B, not both", EXIT_CONFIG)
    comparison = None
    if compare_files or kw["by"]:
        a, b = compare_files if compare_files else (",".join(files), None)
        comparison = _comparison(obj, a, b, quiet, **kw)
    from rewardhub.compare.report import write_report

    path = _run(
        lambda: write_report(
            output,
            files=list(files) if not kw["by"] else [],
            comparison=comparison,
            top=top,
            block=(obj or {}).get("block", ()),
            work_dir=kw["work_dir"],
            rewards=kw["rewards"],
            metrics=kw["metrics"],
            config=kw["config"],
            tokenize=kw["tokenize"],
            prompt_field=kw["prompt_field"],
            response_field=kw["response_field"],
            log=None if quiet else (lambda message: click.echo(f"rewardhub: {message}", err=True)),
            by_group=kw["by_group"],
        )
    )
    if not quiet:
        click.echo(f"wrote {path}")

"""Scoring input files end to end: what ``rewardhub eval`` does, callable from Python.

The run, in order (each step's promise is tested in ``tests/test_eval_trust.py``,
``tests/test_eval_output.py``, ``tests/test_cli_subprocess.py``, ``tests/test_eval_streaming.py``
and ``tests/test_backend_ray.py``):

1. **Configuration** (:func:`resolve_config`): the config file, overridden by ``--rewards`` /
   ``--metrics`` (or the presets ``none``, ``builtin``, ``all``). With neither (and no config)
   every installed metric, and every installed reward that applies to the data
   (:mod:`rewardhub.defaults`: decided on the first rows, before scoring); naming only
   ``--metrics`` runs no rewards, naming only ``--rewards`` computes the host's own metrics
   (cheap: no model). A weighted total exists only when the user chose the rewards and their
   weights: the default shows components side by side, since unrelated scales do not add up.
2. **Checks before any work**: inputs exist and are files or streams (a stream cannot be
   resumed: it cannot be fingerprinted), ``-o`` is a regular file that is not an input in a
   writable directory, its lock is free, and every tokenizer named can be loaded (fast, also
   offline: see :mod:`rewardhub.text.tokenizers`).
3. **Rows**, as a stream (:mod:`rewardhub.backends.local`, or :mod:`rewardhub.backends.ray`):
   read, scored in chunks through one :class:`~rewardhub.Scorer` (whole groups per chunk when
   a reward is group-aware), journaled chunk by chunk, and folded into the summary and the
   metric states; nothing per row is kept after its chunk but its journal position and one
   float per reward.
4. **Metrics** (:class:`~rewardhub.metrics_runner.MetricsAccumulator`), finished while the
   rewards are still open (a metric may share a reward's model).
5. **Output**: the sidecar with the provenance (the configuration each reward *resolved* to
   after scoring, metric versions and distributions, the tokenizers ``auto`` chose), then
   ``OUT`` by an atomic rename.

Every phase is reported to ``progress`` with counts (:mod:`rewardhub.progress`; tested in
``tests/test_eval_progress.py``); the defaults in ``tests/test_eval_defaults.py``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardhub import defaults, plugins
from rewardhub.backends.local import RowSource, score_locally
from rewardhub.config import ComponentConfig, ConfigError, RunConfig, load_config, parse_components
from rewardhub.engine import Scorer
from rewardhub.io import (
    InputError,
    JsonlReader,
    ResumableWriter,
    check_input,
    check_output,
    file_sha256,
    is_stream,
    output_lock,
    sidecar_path,
)
from rewardhub.io.provenance import provenance
from rewardhub.io.reader import count_records
from rewardhub.metrics_runner import MetricsAccumulator
from rewardhub.progress import Progress, silent
from rewardhub.summary import SummaryBuilder

CHUNK_SIZE = 512
#: Whole-value presets of ``--rewards`` / ``--metrics``.
PRESETS = ("none", "builtin", "all")


@dataclass
class EvalOptions:
    """Everything ``rewardhub eval`` takes besides the files.

    ``rewards`` / ``metrics``: a list of names or config entries, or a comma-separated string
    (which may be a preset: ``none``, ``builtin``, ``all``); ``None`` means the default.
    """

    rewards: Sequence[Any] | str | None = None
    metrics: Sequence[Any] | str | None = None
    config: str | Path | dict[str, Any] | None = None
    output: str | Path | None = None
    by_group: bool = False
    resume: bool = False
    skip_invalid: bool = False
    prompt_field: str | None = None
    response_field: str | None = None
    tokenize: str | None = None
    missing: str | None = None
    timeout: float | None = None
    chunk_size: int = CHUNK_SIZE
    sample: int | None = None
    seed: int | None = None
    block: Sequence[str] = ()
    backend: str = "local"
    ray_address: str | None = None
    ray_actors: int = 2
    ray_gpus_per_actor: float = 0.0


@dataclass
class EvalResult:
    """The summary (the ``--json`` document), skipped rows, failed metrics, the output written,
    warnings for people (rewards that cannot be built without args), and the rewards a default
    run left out because they do not apply to the data (``{name: why}``)."""

    summary: dict[str, Any]
    skipped: list[InputError] = field(default_factory=list)
    metric_errors: dict[str, str] = field(default_factory=dict)
    output: Path | None = None
    warnings: list[str] = field(default_factory=list)
    #: Per metric, a line for readers of its values (``Metric.note``), printed under the table.
    metric_notes: dict[str, str] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)


@dataclass
class ResolvedConfig:
    """The run's configuration, whether the user chose the rewards (then it has a total), and
    whether the rewards are the default's (narrowed to the data before the run)."""

    run: RunConfig
    with_total: bool
    warnings: list[str] = field(default_factory=list)
    default_rewards: bool = False


# -- 1. configuration ---------------------------------------------------------------------------


def resolve_config(options: EvalOptions) -> ResolvedConfig:
    """The run's config: the file, overridden by explicit lists. Without a config file, what
    is not named follows what is: nothing named, every installed reward (narrowed to the data
    by :func:`evaluate_files`) and metric; only metrics named, no rewards; only rewards named,
    the host's own metrics (``builtin``: cheap, no model). ``none`` names nothing."""
    run = load_config(options.config) if options.config else RunConfig()
    warnings: list[str] = []
    rewards = _choose(options.rewards, "reward", "--rewards", options.block, warnings)
    metrics = _choose(options.metrics, "metric", "--metrics", options.block, warnings)
    if rewards is not None:
        run.rewards = rewards
    if metrics is not None:
        run.metrics = metrics
    chose_rewards = options.config is not None or rewards is not None
    default_rewards = False
    if options.config is None:
        if rewards is None:
            default_rewards = _names_nothing(options.metrics)
            run.rewards = _preset("all", "reward", options.block, warnings) if default_rewards else []
        if metrics is None:
            preset = "all" if _names_nothing(options.rewards) else "builtin"
            run.metrics = _preset(preset, "metric", options.block, warnings)
    run.missing = options.missing or run.missing
    run.tokenize = options.tokenize or run.tokenize
    return ResolvedConfig(run, chose_rewards and bool(run.rewards), warnings, default_rewards)


def _names_nothing(value: Sequence[Any] | str | None) -> bool:
    """Whether a ``--rewards``/``--metrics`` value names nothing: absent, ``none`` or empty."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == "none"
    return len(value) == 0


def _choose(value: Sequence[Any] | str | None, kind: str, flag: str, block: Sequence[str], warnings: list[str]):
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text.replace(",", "").strip():
            shape = "NAME[:WEIGHT],..." if kind == "reward" else "NAME,..."
            raise ConfigError(f"{flag} is empty: name the {kind}s ({shape}), or '{flag} none' for no {kind}s")
        if text in PRESETS:
            return _preset(text, kind, block, warnings)
        return parse_components(text, flag)
    return parse_components(list(value), flag)


def _preset(name: str, kind: str, block: Sequence[str], warnings: list[str]) -> list[ComponentConfig]:
    """``none``, ``builtin`` (the host's own) or ``all`` (every installed) rewards or metrics,
    each that can run without args (the others are left out with a warning)."""
    registry = plugins.registry(block)
    table = registry.rewards if kind == "reward" else registry.metrics
    if name == "none":
        return []
    names = sorted(n for n, e in table.items() if name == "all" or e.distribution == "rewardhub")
    return _usable(parse_components(names, f"{name} {kind}s"), kind, block, warnings)


def _usable(configs: list[ComponentConfig], kind: str, block: Sequence[str], warnings: list[str]):
    """The rewards (metrics) that can be built without args; the others are left out with a
    warning, rather than stopping the run (one needs a ``pattern``, say)."""
    from rewardhub.build import build_metrics, build_rewards

    build = build_rewards if kind == "reward" else build_metrics
    usable = []
    for config in configs:
        try:
            for component in build([config], block=block):
                getattr(component.reward, "close", lambda: None)()
        except Exception as exc:
            warnings.append(f"{kind} {config.name!r} left out ({exc}); name it with its args in --config")
            continue
        usable.append(config)
    return usable


# -- 2. checks before any work ------------------------------------------------------------------


def check_inputs(paths: Sequence[str], resume: bool) -> None:
    """Every input readable (a file, or a stream read once); a stream cannot be resumed."""
    for path in paths:
        check_input(path)
        if resume and is_stream(path):
            where = "standard input" if path == "-" else f"{path} (a pipe)"
            raise ConfigError(
                f"--resume: {where} cannot be resumed: a stream cannot be checked for changes; write it to a file first"
            )
    if paths.count("-") > 1:
        raise ConfigError("'-' (standard input) can be given once")


def check_tokenizers(run: RunConfig) -> None:
    """Load every tokenizer the run names now: one that cannot be loaded is a config error,
    not a run in which every reward that tokenizes is missing."""
    from rewardhub.text import get_tokenizer

    names = {run.tokenize} | {c.args.get("tokenize") for c in (*run.rewards, *run.metrics)}
    for name in sorted(n for n in names if n is not None):
        try:
            get_tokenizer(name)
        except Exception as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"tokenizer {name!r} cannot be loaded: {message}") from None


def evaluate_files(
    paths: Sequence[str | Path], options: EvalOptions | None = None, progress: Progress | None = None
) -> EvalResult:
    """Score ``paths`` as ``rewardhub eval`` does, reporting each phase to ``progress``
    (:mod:`rewardhub.progress`)."""
    options = options or EvalOptions()
    paths = [str(p) for p in paths]
    resolved = resolve_config(options)
    check_inputs(paths, options.resume)
    output = None
    if options.output is not None:
        output = check_output(options.output, paths, also=[sidecar_path(options.output)])
    left_out: dict[str, str] = {}
    if resolved.default_rewards:  # on the data, before any scoring
        peeked = defaults.peek(paths, options.prompt_field, options.response_field)
        resolved.run.rewards, left_out = defaults.applicable(resolved.run.rewards, peeked, options.block)
    check_tokenizers(resolved.run)
    with output_lock(output) if output else nullcontext():
        result = _evaluate(paths, options, resolved, output, progress or silent)
    result.left_out = left_out
    return result


def count_rows(paths: Sequence[str]) -> int | None:
    """How many rows the inputs hold at most (:func:`~rewardhub.io.reader.count_records`),
    ``None`` when a stream (or a file that cannot be read) makes it unknown."""
    counts = [count_records(p) for p in paths]
    return None if any(c is None for c in counts) else sum(c for c in counts if c is not None)


def _evaluate(
    paths: list[str], options: EvalOptions, resolved: ResolvedConfig, output: Path | None, progress: Progress
) -> EvalResult:
    run = resolved.run
    if options.backend == "ray" and options.resume:  # before any work
        raise ConfigError("--resume is not supported with --backend ray yet: run again without it, or use local")
    if options.backend == "ray" and any(is_stream(p) for p in paths):
        raise ConfigError("--backend ray reads files: write the stream to a file first")
    progress("reading", 0, len(paths))
    # the rows to expect: for the progress bar, and the bound a resumed journal is checked against
    total = count_rows(paths) if progress is not silent or options.resume else None
    progress("reading", len(paths), len(paths))
    source = RowSource(paths, options)
    scorer = Scorer(
        run.rewards,
        missing=run.missing,
        timeout=options.timeout,
        cache_size=1 << 16,
        tokenize=run.tokenize,
        block=options.block,
    )
    writer = fingerprint = None
    if output is not None:  # (the fingerprint hashes every input: only a journal needs it)
        fingerprint = _fingerprint(paths, source.layouts(), options, resolved, scorer)
        writer = ResumableWriter(output, fingerprint, resume=options.resume, max_rows=total)
    directions = {c.key: getattr(c.reward, "higher_is_better", True) for c in scorer.components}
    summary = SummaryBuilder([c.key for c in scorer.components], with_total=resolved.with_total, directions=directions)
    metrics = MetricsAccumulator(
        run.metrics,
        by_group=options.by_group,
        tokenize=run.tokenize,
        sample=options.sample,
        seed=options.seed,
        block=options.block,  # a --disable'd plugin stays out of the metrics too
    )
    tokenizers: Counter = Counter()
    try:
        if options.backend == "ray":
            from rewardhub.backends.evaluate_ray import evaluate_on_ray

            evaluate_on_ray(
                paths, options, resolved, scorer, source, writer, summary, metrics, tokenizers, progress, total
            )
        else:
            score_locally(
                source,
                options,
                resolved.with_total,
                run.tokenize,
                scorer,
                writer,
                summary,
                metrics,
                tokenizers,
                progress,
                total,
            )
        metrics.finish_whole(progress)
        metric_results = metrics.result()
        rewards_used = scorer.describe()  # after scoring: what each reward resolved to
    except BaseException:
        if writer is not None:
            writer.close()  # keep the journal: --resume picks it up
        raise
    finally:
        scorer.close()

    result = summary.result(metric_results.values, metric_results.directions, len(metric_results.errors))
    reader = source.reader
    if writer is not None and fingerprint is not None and output is not None:
        config = {**fingerprint["config"], "rewards": rewards_used, "metrics": metric_results.described}
        loaded = plugins.registry(options.block).plugins
        document = provenance(
            {**fingerprint, "inputs": _inputs_read(fingerprint["inputs"], reader), "config": config},
            [{"name": p.name, "distribution": p.distribution, "version": p.version} for p in loaded],
            {
                "tokenizer": _tokenizer_used(run, tokenizers),
                "rows": source.count,
                "skipped": [str(e) for e in reader.skipped],
                "summary": result,
                "metric_errors": metric_results.errors,
            },
        )
        writer.finish(source.count, sidecar_path(output), document)
    return EvalResult(
        result, reader.skipped, metric_results.errors, output, resolved.warnings, metric_notes=metric_results.notes
    )


def _fingerprint(
    paths: list[str], layouts: dict[str, str], options: EvalOptions, resolved: ResolvedConfig, scorer: Scorer
) -> dict[str, Any]:
    """What the journal's rows depend on; ``--resume`` refuses a run where any of it changed."""
    run = resolved.run
    inputs = [
        {"path": p, "sha256": None, "stream": True} if is_stream(p) else {"path": p, "sha256": file_sha256(p)}
        for p in paths
    ]
    return {
        "inputs": inputs,
        "fields": layouts,
        "skip_invalid": options.skip_invalid,
        "config": {
            "rewards": scorer.describe(),
            "metrics": [m.to_dict() for m in run.metrics],
            "missing": run.missing,
            "tokenize": run.tokenize or "auto",
            "timeout": options.timeout,
            "total": resolved.with_total,
        },
    }


def _inputs_read(inputs: list[dict[str, Any]], reader: JsonlReader) -> list[dict[str, Any]]:
    """The inputs for the sidecar: a stream's hash is that of the bytes read from it."""
    return [{**i, "sha256": reader.digests.get(i["path"])} if i.get("stream") else i for i in inputs]


def _tokenizer_used(run: RunConfig, chosen: Counter) -> dict[str, Any]:
    """The run's tokenizer, and for ``auto`` which concrete one each response got, counted."""
    name = run.tokenize or "auto"
    if name != "auto":
        return {"name": name}
    return {"name": "auto", "resolved": dict(sorted(chosen.items()))}

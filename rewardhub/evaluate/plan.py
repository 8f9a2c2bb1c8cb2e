"""The run plan: everything a run decides before any row is scored, decided once.

:func:`plan_run` turns the files and :class:`~rewardhub.evaluate.options.EvalOptions` into a
:class:`RunPlan`, in order, refusing what cannot run before any work (tested in
``tests/test_eval_trust.py``, ``tests/test_eval_output.py``, ``tests/test_ray_failures.py``):

1. **Configuration**, resolved against the plugins loaded once for the run
   (:mod:`rewardhub.config.resolve`; the one :class:`~rewardhub.host.registry.Registry` is
   passed to everything that builds a reward or metric);
2. **inputs** exist and are files or streams (a stream cannot be resumed: it cannot be
   fingerprinted), ``-o`` is a regular file that is not an input in a writable directory;
3. **the backend** says whether it can run this (Ray: installed, no ``--resume``, no stream);
4. **the default rewards** narrowed to the data (:mod:`rewardhub.config.defaults`);
5. **every tokenizer** the run names can be loaded (fast, also offline);
6. **the scorer**, built once (models load lazily, on the first chunk); with it, whether rows
   must be scored in whole groups, and how a worker process builds the same scorer and metrics.

Backends read the plan; nothing below it reaches back into the options.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardhub.config import ConfigError, RunConfig, defaults
from rewardhub.config.resolve import resolve_config
from rewardhub.engine import Scorer
from rewardhub.evaluate.backends import Backend, backend_for
from rewardhub.evaluate.options import EvalOptions
from rewardhub.host import registry as plugins
from rewardhub.host.registry import Registry
from rewardhub.io import check_input, check_output, file_sha256, is_stream, sidecar_path
from rewardhub.metrics.runner import MetricsAccumulator

#: Results the scorer keeps per reward across the chunks of a run (identical samples in
#: different chunks are scored once).
SCORER_CACHE = 1 << 16


@dataclass
class RunPlan:
    """A run, decided (see the module doc): data that backends read, never call back into.
    ``scorer`` is this process's; a worker builds its own from :attr:`scorer_factory` (and
    metrics from :attr:`metrics_factory`): picklable, by plugin names, since a registry does
    not travel between processes."""

    paths: list[str]
    run: RunConfig
    #: Whether rows get a weighted total (the user chose the rewards and their weights).
    with_total: bool
    registry: Registry
    backend: Backend
    scorer: Scorer
    scorer_factory: Callable[[], Scorer]
    metrics_factory: Callable[..., MetricsAccumulator]
    #: Rows are scored in whole groups: a reward is group-aware, or metrics are wanted per group.
    grouped: bool
    #: The provenance counts which tokenizer ``auto`` chose for each response.
    counts_tokenizers: bool
    output: Path | None = None
    sidecar: Path | None = None
    #: Warnings for people (rewards a preset left out) and the rewards the default left out.
    warnings: list[str] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)
    block: tuple[str, ...] = ()
    chunk_size: int = 512
    by_group: bool = False
    resume: bool = False
    skip_invalid: bool = False
    prompt_field: str | None = None
    response_field: str | None = None
    timeout: float | None = None

    def metrics(self) -> MetricsAccumulator:
        """This process's metrics, built from the run's registry."""
        return self.metrics_factory(registry=self.registry)

    def fingerprint(self, layouts: dict[str, str]) -> dict[str, Any]:
        """What the journal's rows depend on; ``--resume`` refuses a run where any of it changed
        (hashes every input: only a run with an output needs it)."""
        inputs = [
            {"path": p, "sha256": None, "stream": True} if is_stream(p) else {"path": p, "sha256": file_sha256(p)}
            for p in self.paths
        ]
        return {
            "inputs": inputs,
            "fields": layouts,
            "skip_invalid": self.skip_invalid,
            "config": {
                "rewards": self.scorer.describe(),
                "metrics": [m.to_dict() for m in self.run.metrics],
                "missing": self.run.missing,
                "tokenize": self.run.tokenize or "auto",
                "timeout": self.timeout,
                "total": self.with_total,
            },
        }

    def close(self) -> None:
        self.scorer.close()


def plan_run(paths: Sequence[str | Path], options: EvalOptions, registry: Registry | None = None) -> RunPlan:
    """The plan of scoring ``paths`` with ``options`` (see the module doc); ``registry``: the
    plugins already loaded for this run (default: loaded now, without ``options.block``)."""
    paths = [str(p) for p in paths]
    block = tuple(options.block)
    registry = registry or plugins.registry(block)
    resolved = resolve_config(
        rewards=options.rewards,
        metrics=options.metrics,
        config=options.config,
        missing=options.missing,
        tokenize=options.tokenize,
        block=block,
        registry=registry,
    )
    check_inputs(paths, options.resume)
    output = None
    if options.output is not None:
        output = check_output(options.output, paths, also=[sidecar_path(options.output)])
    backend = backend_for(options)
    backend.check(paths, options.resume)
    left_out: dict[str, str] = {}
    if resolved.default_rewards:  # on the data, before any scoring
        peeked = defaults.peek(paths, options.prompt_field, options.response_field)
        resolved.run.rewards, left_out = defaults.applicable(resolved.run.rewards, peeked, block, registry)
        left_out.update(resolved.left_out)  # and those that need args: one line says both
    check_tokenizers(resolved.run)
    run = resolved.run
    scorer = Scorer(
        run.rewards,
        missing=run.missing,
        timeout=options.timeout,
        cache_size=SCORER_CACHE,
        tokenize=run.tokenize,
        block=block,
        registry=registry,
    )
    return RunPlan(
        paths,
        run,
        resolved.with_total,
        registry,
        backend,
        scorer,
        scorer_factory=functools.partial(
            Scorer,
            run.rewards,
            missing=run.missing,
            timeout=options.timeout,
            cache_size=SCORER_CACHE,
            tokenize=run.tokenize,
            block=block,
        ),
        metrics_factory=functools.partial(
            MetricsAccumulator,
            run.metrics,
            by_group=options.by_group,
            tokenize=run.tokenize,
            sample=options.sample,
            seed=options.seed,
            block=block,  # a --disable'd plugin stays out of the metrics too
        ),
        grouped=options.by_group or any(c.reward.group_aware for c in scorer.components),
        counts_tokenizers=(run.tokenize or "auto") == "auto",
        output=output,
        sidecar=sidecar_path(output) if output is not None else None,
        warnings=resolved.warnings,
        left_out=left_out,
        block=block,
        chunk_size=options.chunk_size,
        by_group=options.by_group,
        resume=options.resume,
        skip_invalid=options.skip_invalid,
        prompt_field=options.prompt_field,
        response_field=options.response_field,
        timeout=options.timeout,
    )


def check_inputs(paths: Sequence[str], resume: bool) -> None:
    """Every input readable (a file, or a stream read once); a stream cannot be resumed."""
    for path in paths:
        check_input(path)
        if resume and is_stream(path):
            where = "standard input" if path == "-" else f"{path} (a pipe)"
            raise ConfigError(
                f"--resume: {where} cannot be resumed: a stream cannot be checked for changes; write it to a file first"
            )
    if list(paths).count("-") > 1:
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

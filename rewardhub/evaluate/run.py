"""Scoring input files end to end: what ``rewardhub eval`` does, callable from Python.

A row goes one way: the command line's options become a plan (:mod:`rewardhub.evaluate.plan`:
configuration, checks, the scorer, built once), the plan's backend
(:mod:`rewardhub.evaluate.backends`) reads the row and scores it through the one row path
(:mod:`rewardhub.evaluate.row_path`, over :class:`~rewardhub.Scorer`), and the run's sink
(:mod:`rewardhub.evaluate.sink`) journals its output line and folds it into the summary. Then,
in order (each step's promise is tested in ``tests/test_eval_trust.py``,
``tests/test_eval_output.py``, ``tests/test_cli_subprocess.py``, ``tests/test_eval_streaming.py``
and ``tests/test_backend_ray.py``):

1. **Metrics** (:class:`~rewardhub.metrics.runner.MetricsAccumulator`), finished while the
   rewards are still open (a metric may share a reward's model);
2. **Output**: the sidecar with the provenance (the configuration each reward *resolved* to
   after scoring, metric versions and distributions, the tokenizers ``auto`` chose), then
   ``OUT`` by an atomic rename.

Nothing per row is kept after its chunk but its journal position and one float per reward.
Every phase is reported to ``progress`` with counts (:mod:`rewardhub.host.progress`; tested in
``tests/test_eval_progress.py``); the defaults in ``tests/test_eval_defaults.py``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from rewardhub.evaluate.options import EvalOptions, EvalResult
from rewardhub.evaluate.plan import RunPlan, plan_run
from rewardhub.evaluate.sink import RunSink
from rewardhub.evaluate.source import RowSource
from rewardhub.evaluate.summary import SummaryBuilder, run_stats
from rewardhub.host.progress import Progress, silent
from rewardhub.host.registry import Registry
from rewardhub.io import ResumableWriter, output_lock
from rewardhub.io.provenance import provenance
from rewardhub.io.reader import count_records


def evaluate_files(
    paths: Sequence[str | Path],
    options: EvalOptions | None = None,
    progress: Progress | None = None,
    registry: Registry | None = None,
) -> EvalResult:
    """Score ``paths`` as ``rewardhub eval`` does, reporting each phase to ``progress``
    (:mod:`rewardhub.host.progress`). ``registry``: the plugins already loaded for this run
    (default: loaded now, without ``options.block``)."""
    plan = plan_run(paths, options or EvalOptions(), registry)
    try:
        with output_lock(plan.output) if plan.output else nullcontext():
            return _run(plan, progress or silent)
    finally:
        plan.close()


def count_rows(paths: Sequence[str]) -> int | None:
    """How many rows the inputs hold at most (:func:`~rewardhub.io.reader.count_records`),
    ``None`` when a stream (or a file that cannot be read) makes it unknown."""
    counts = [count_records(p) for p in paths]
    return None if any(c is None for c in counts) else sum(c for c in counts if c is not None)


def _run(plan: RunPlan, progress: Progress) -> EvalResult:
    progress("reading", 0, len(plan.paths))
    # the rows to expect: for the progress bar, and the bound a resumed journal is checked against
    total = count_rows(plan.paths) if progress is not silent or plan.resume else None
    progress("reading", len(plan.paths), len(plan.paths))
    source = RowSource(plan)
    writer = fingerprint = None
    if plan.output is not None:  # (the fingerprint hashes every input: only a journal needs it)
        fingerprint = plan.fingerprint(source.layouts())
        writer = ResumableWriter(plan.output, fingerprint, resume=plan.resume, max_rows=total)
    components = plan.scorer.components
    directions = {c.key: getattr(c.reward, "higher_is_better", True) for c in components}
    summary = SummaryBuilder([c.key for c in components], with_total=plan.with_total, directions=directions)
    sink = RunSink(summary, writer, _auto_choice() if plan.counts_tokenizers else None)
    metrics = plan.metrics()
    try:
        plan.backend.run(plan, source, sink, metrics, progress, total)
        metrics.finish_whole(progress)
        metric_results = metrics.result()
        rewards_used = plan.scorer.describe()  # after scoring: what each reward resolved to
        # the rewards' own counts (requests, tokens...): on ray they stay in the actors
        reward_stats = run_stats(components) if plan.backend.name != "ray" else {}
    except BaseException:
        if writer is not None:
            writer.close()  # keep the journal: --resume picks it up
        raise

    result = summary.result(
        metric_results.values,
        metric_results.directions,
        len(metric_results.errors),
        reward_stats,
        metric_results.undefined,
    )
    skipped = source.reader.skipped
    if writer is not None and fingerprint is not None and plan.sidecar is not None:
        config = {**fingerprint["config"], "rewards": rewards_used, "metrics": metric_results.described}
        loaded = plan.registry.plugins
        document = provenance(
            {**fingerprint, "inputs": source.inputs_read(fingerprint["inputs"]), "config": config},
            [{"name": p.name, "distribution": p.distribution, "version": p.version} for p in loaded],
            {
                "tokenizer": _tokenizer_used(plan.run.tokenize, sink.tokenizers),
                "rows": source.count,
                "skipped": [str(e) for e in skipped],
                "summary": result,
                "metric_errors": metric_results.errors,
            },
        )
        writer.finish(source.count, plan.sidecar, document)
    return EvalResult(
        result,
        skipped,
        metric_results.errors,
        plan.output,
        plan.warnings,
        metric_notes=metric_results.notes,
        left_out=plan.left_out,
    )


def _auto_choice() -> Any:
    from rewardhub.text.tokenizers import auto_choice

    return auto_choice


def _tokenizer_used(tokenize: str | None, chosen: Counter) -> dict[str, Any]:
    """The run's tokenizer, and for ``auto`` which concrete one each response got, counted."""
    name = tokenize or "auto"
    if name != "auto":
        return {"name": name}
    return {"name": "auto", "resolved": dict(sorted(chosen.items()))}


__all__ = ["count_rows", "evaluate_files"]

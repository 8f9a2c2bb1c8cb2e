"""``evaluate_files(..., backend="ray")``: the driver's side of the Ray backend.

The driver starts (or joins) Ray, lets :func:`rewardhub.backends.ray.score` score every line
on the actor pool, and receives the output lines in input order: it journals them (so the
output file, its bytes and its sidecar are the local backend's), folds them into the summary,
and merges the per-group metric states; then it runs the whole-set metric passes on the pool
and merges their states. Tested in ``tests/test_backend_ray.py``.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from typing import Any

from rewardhub.backends import ray as ray_backend
from rewardhub.backends.lines import BackendError, RunSpec
from rewardhub.engine import Scorer
from rewardhub.io import dumps, scored_row
from rewardhub.metrics_runner import MetricsAccumulator
from rewardhub.progress import Progress, silent


def _output_rows(rows: list[Any], batch: Any, with_total: bool) -> list[dict[str, Any]]:
    return [scored_row(r.data, s.rewards, s.errors, s.info, s.total, with_total) for r, s in zip(rows, batch)]


def evaluate_on_ray(
    paths: list[str],
    options: Any,
    resolved: Any,
    scorer: Scorer,
    source: Any,
    writer: Any,
    summary: Any,
    metrics: MetricsAccumulator,
    tokenizers: Counter,
    progress: Progress = silent,
    total: int | None = None,
) -> None:
    """Score ``paths`` on Ray into ``writer``, ``summary`` and ``metrics`` (see the module doc),
    reporting each phase to ``progress``."""
    settings = ray_backend.RaySettings(
        address=options.ray_address,
        actors=options.ray_actors,
        gpus_per_actor=options.ray_gpus_per_actor,
        batch_size=options.chunk_size,
    )
    ray_backend.prepare(settings)  # before Ray is imported
    ray_backend.require_ray()
    from rewardhub.text.tokenizers import auto_choice

    run = resolved.run
    # the driver reads the input once, for the layouts, the skipped rows and the checks the local
    # reader makes (errors stop the run before any work reaches the cluster)
    count_tokenizers = (run.tokenize or "auto") == "auto"
    for row in source.rows():
        if count_tokenizers:
            tokenizers[auto_choice(row.sample.response)] += 1
        if row.index % 4096 == 0:
            progress("reading", row.index, total)
    rows = source.count  # exact: what the cluster must send back
    progress("reading", rows, rows)
    layouts = dict(source.reader.layouts)
    spec = RunSpec(
        list(paths),
        layouts,
        functools.partial(
            Scorer,
            run.rewards,
            missing=run.missing,
            timeout=options.timeout,
            cache_size=1 << 16,
            tokenize=run.tokenize,
            block=tuple(options.block),
        ),
        functools.partial(_output_rows, with_total=resolved.with_total),
        dumps,
    )
    make_metrics = functools.partial(
        MetricsAccumulator,
        run.metrics,
        by_group=options.by_group,
        tokenize=run.tokenize,
        sample=options.sample,
        seed=options.seed,
        block=tuple(options.block),
    )
    ray = ray_backend.connect(settings)
    try:
        _score_and_merge(ray, spec, settings, options, scorer, writer, summary, metrics, make_metrics, progress, rows)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: stop now, not after Ray's graceful wait
        ray_backend.stop(ray)
        raise


def _score_and_merge(
    ray: Any,
    spec: RunSpec,
    settings: Any,
    options: Any,
    scorer: Scorer,
    writer: Any,
    summary: Any,
    metrics: MetricsAccumulator,
    make_metrics: Any,
    progress: Progress,
    rows: int,
) -> None:
    """The driver's loop: journal and fold in the scored lines, merge the metric states."""
    grouped = options.by_group or any(c.reward.group_aware for c in scorer.components)
    index = 0
    progress("loading models", 0, rows)
    for results, states in ray_backend.score(
        ray, spec, settings, grouped=grouped, group_metrics=make_metrics if options.by_group else None
    ):
        scored = []
        for result in results:
            if result.error:  # the driver's reading already stopped on it, or counted it skipped
                continue
            row = json.loads(result.text)
            summary.add(index, row)
            scored.append((index, row))
            index += 1
        if writer is not None and scored:
            writer.write(scored)
        for state in states:
            metrics.merge(state)
        progress("scoring", index, rows)
    if index != rows:  # every format the driver read, the actors read: this is a bug, said in one line
        kept = "; the rows scored are journaled: --resume with --backend local finishes the run" if writer else ""
        raise BackendError(f"the Ray backend scored {index} of the {rows} rows the driver read{kept}")
    for pass_ in range(metrics.passes):
        if pass_:
            metrics.start_pass(pass_)
        frozen = metrics if pass_ else make_metrics
        phase = f"metrics pass {pass_ + 1}"  # counted in batches, as their states come back
        progress(phase, 0, None)
        for done, state in enumerate(ray_backend.metric_pass(ray, spec, settings, pass_, frozen), 1):
            metrics.merge(state)
            progress(phase, done, None)

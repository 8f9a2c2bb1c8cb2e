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
from rewardhub.backends.lines import RunSpec
from rewardhub.engine import Scorer
from rewardhub.io import dumps, scored_row
from rewardhub.metrics_runner import MetricsAccumulator


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
) -> None:
    """Score ``paths`` on Ray into ``writer``, ``summary`` and ``metrics`` (see the module doc)."""
    ray = ray_backend.require_ray()
    from rewardhub.text.tokenizers import auto_choice

    run = resolved.run
    # the driver reads the input once, for the layouts, the skipped rows and the checks the local
    # reader makes (errors stop the run before any work reaches the cluster)
    count_tokenizers = (run.tokenize or "auto") == "auto"
    for row in source.rows():
        if count_tokenizers:
            tokenizers[auto_choice(row.sample.response)] += 1
    layouts = dict(source.reader.layouts)
    settings = ray_backend.RaySettings(
        address=options.ray_address,
        actors=options.ray_actors,
        gpus_per_actor=options.ray_gpus_per_actor,
        batch_size=options.chunk_size,
    )
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
    ray = ray_backend.connect(settings)
    make_metrics = functools.partial(
        MetricsAccumulator,
        run.metrics,
        by_group=options.by_group,
        tokenize=run.tokenize,
        sample=options.sample,
        seed=options.seed,
    )
    grouped = options.by_group or any(c.reward.group_aware for c in scorer.components)
    index = 0
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
    for pass_ in range(metrics.passes):
        if pass_:
            metrics.start_pass(pass_)
        frozen = metrics if pass_ else make_metrics
        for state in ray_backend.metric_pass(ray, spec, settings, pass_, frozen):
            metrics.merge(state)

"""The ``ray`` backend, the driver's side: Ray Data scores the rows, the driver journals them.

:meth:`RayBackend.check` refuses, before any work and before the output is locked, what it
cannot run: Ray not installed, ``--resume``, a stream. :meth:`RayBackend.run` reads the input
once (the layouts, the skipped rows and every check the local reader makes: errors stop the
run before any work reaches the cluster), starts or joins Ray, lets
:func:`rewardhub.evaluate.backends.ray_data.score` score every line on the actor pool, and
receives the output lines in input order: it journals them as they came (so the output file,
its bytes and its sidecar are the local backend's), folds their facts into the summary and
merges the per-group metric states; then it runs the whole-set metric passes on the pool and
merges their states. Tested in ``tests/test_backend_ray.py`` and ``tests/test_ray_failures.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rewardhub.config import ConfigError
from rewardhub.evaluate.backends.base import BackendError
from rewardhub.evaluate.backends.ray_connect import RaySettings, connect, prepare, require_ray, stop
from rewardhub.evaluate.row_path import ScoredLine
from rewardhub.host.progress import Progress
from rewardhub.io import is_stream

if TYPE_CHECKING:
    from rewardhub.evaluate.plan import RunPlan
    from rewardhub.evaluate.sink import RunSink
    from rewardhub.evaluate.source import RowSource
    from rewardhub.metrics.runner import MetricsAccumulator


class RayBackend:
    """The ``ray`` backend (see the module doc)."""

    name = "ray"

    def __init__(self, settings: RaySettings):
        self.settings = settings

    def check(self, paths: Sequence[str], resume: bool) -> None:
        if resume:
            raise ConfigError("--resume is not supported with --backend ray yet: run again without it, or use local")
        if any(is_stream(p) for p in paths):
            raise ConfigError("--backend ray reads files: write the stream to a file first")
        prepare(self.settings)  # before Ray is imported
        require_ray()

    def run(
        self,
        plan: RunPlan,
        source: RowSource,
        sink: RunSink,
        metrics: MetricsAccumulator,
        progress: Progress,
        total: int | None,
    ) -> None:
        from rewardhub.evaluate.backends import ray_data

        for row in source.rows():
            sink.saw((row,))
            if row.index % 4096 == 0:
                progress("reading", row.index, total)
        rows = source.count  # exact: what the cluster must send back
        progress("reading", rows, rows)
        spec = ray_data.RunSpec(plan.paths, dict(source.reader.layouts), plan.scorer_factory, plan.with_total)
        ray = connect(self.settings)
        try:
            self._score_and_merge(ray, spec, plan, sink, metrics, progress, rows)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: stop now, not after Ray's graceful wait
            stop(ray)
            raise

    def _score_and_merge(
        self,
        ray: Any,
        spec: Any,
        plan: RunPlan,
        sink: RunSink,
        metrics: MetricsAccumulator,
        progress: Progress,
        rows: int,
    ) -> None:
        """The driver's loop: journal and fold in the scored lines, merge the metric states."""
        from rewardhub.evaluate.backends import ray_data

        index = 0
        progress("loading models", 0, rows)
        group_metrics = plan.metrics_factory if plan.by_group else None
        batches = ray_data.score(ray, spec, self.settings, grouped=plan.grouped, group_metrics=group_metrics)
        for results, states in batches:
            scored = []
            for text, error, facts in results:
                if error or facts is None:  # the driver's reading already stopped on it, or counted it skipped
                    continue
                scored.append(ScoredLine(index, text, facts))
                index += 1
            sink.write(scored)
            for state in states:
                metrics.merge(state)
            progress("scoring", index, rows)
        if index != rows:  # every format the driver read, the actors read: this is a bug, said in one line
            kept = (
                "; the rows scored are journaled: --resume with --backend local finishes the run" if sink.writer else ""
            )
            raise BackendError(f"the Ray backend scored {index} of the {rows} rows the driver read{kept}")
        for pass_ in range(metrics.passes):
            if pass_:
                metrics.start_pass(pass_)
            frozen = metrics if pass_ else plan.metrics_factory
            phase = f"metrics pass {pass_ + 1}"  # counted in batches, as their states come back
            progress(phase, 0, None)
            for done, state in enumerate(ray_data.metric_pass(ray, spec, self.settings, pass_, frozen), 1):
                metrics.merge(state)
                progress(phase, done, None)

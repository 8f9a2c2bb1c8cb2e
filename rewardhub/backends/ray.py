"""The ``ray`` backend: Ray Data reads the inputs, an actor pool scores them, the driver merges.

- **Read**: ``ray.data.read_binary_files`` reads each input file; a ``flat_map`` splits it into
  ``(file, line, raw)`` rows (line numbers as the local reader counts them, so ids and error
  messages are the same).
- **Score**: ``map_batches`` over an actor pool (``ActorPoolStrategy(size=actors)``); each actor
  builds one :class:`~rewardhub.backends.lines.LineScorer` (one Scorer, so a model loads once
  per actor; ``num_gpus=gpus_per_actor``). When a reward is group-aware, or metrics are wanted
  per group, rows are grouped first (``groupby(group).map_groups``: every call gets whole
  groups) and sorted back into input order (``sort(file, line)``).
- **Metrics**: the whole-set states run as their own ordered ``map_batches`` pass over the
  same lines (two passes for self-BLEU: the pass-0 states of every batch are merged on the
  driver, started on pass 1 and shipped back to the actors). Per-group values are folded in
  the scoring actors and their means merged on the driver. Merges are exact, so the numbers
  are the local backend's.
- **Write**: the driver receives the output lines in input order (``preserve_order``) and
  writes them as the local backend does: same bytes, same sidecar.

The driver's serial work is the write (one output line per row) and the merges: per batch one
small pass-0 state and, for self-BLEU, 8 bytes per row and order. ``address`` (or
``RAY_ADDRESS``) connects to a running cluster; otherwise a local Ray starts with this
machine's CPUs. Ray is an extra: ``pip install "rewardhub[ray]"``. Tested in
``tests/test_backend_ray.py`` against a real local cluster.
"""

from __future__ import annotations

import io
import json
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rewardhub.backends.lines import BackendError, LineScorer, RunSpec, ScoredLine, decode_results, encode_results
from rewardhub.backends.ray_connect import INSTALL, RaySettings, connect, prepare, require_ray, stop

if TYPE_CHECKING:
    from rewardhub.io.schema import RowError


def _split_lines(row: dict[str, Any], files: dict[str, int]) -> Iterator[dict[str, Any]]:
    """The ``(file, line, raw)`` rows of one input file's bytes, in every format the local
    reader reads (:func:`rewardhub.io.reader.records`). JSONL lines go as they are (the actors
    parse them); a text line or a JSON array element goes as the JSON of the row the reader
    makes of it, and a bad one as its error, so the actors see what the local reader sees."""
    from rewardhub.io.reader import MAX_LINE_BYTES, _lines, file_format, records
    from rewardhub.io.schema import RowError

    file, path = files[row["path"]], row["path"]
    handle = io.BufferedReader(io.BytesIO(row["bytes"]))
    if file_format(path, handle) == "jsonl":
        for line_no, raw in _lines(handle, MAX_LINE_BYTES):
            # an over-long line arrives as its length, and is refused by the parser as locally
            over = isinstance(raw, int)
            yield {"file": file, "line": line_no, "raw": b"" if over else raw, "size": raw if over else 0, "error": ""}
        return
    for line_no, record in records(path, handle, MAX_LINE_BYTES):
        if isinstance(record, RowError):
            error = json.dumps([str(record), record.field])
            yield {"file": file, "line": line_no, "raw": b"", "size": 0, "error": error}
        else:
            raw = json.dumps(record, ensure_ascii=False).encode("utf-8")
            yield {"file": file, "line": line_no, "raw": raw, "size": 0, "error": ""}


def read_lines(ray: Any, paths: list[str]) -> Any:
    """The dataset of ``(file, line, raw)`` rows of ``paths``, in order."""
    absolute = [str(Path(p).absolute()) for p in paths]
    files = {p: i for i, p in enumerate(absolute)}
    source = ray.data.read_binary_files(absolute, include_paths=True)
    return source.flat_map(_split_lines, fn_kwargs={"files": files})


def _rows(batch: dict[str, Any]) -> list[tuple[int, int, bytes | int | RowError]]:
    from rewardhub.io.schema import RowError

    rows: list[tuple[int, int, bytes | int | RowError]] = []
    for f, n, raw, size, error in zip(batch["file"], batch["line"], batch["raw"], batch["size"], batch["error"]):
        if error:
            message, field = json.loads(str(error))
            rows.append((int(f), int(n), RowError(message, field)))
        else:
            rows.append((int(f), int(n), int(size) if size else bytes(raw)))
    return rows


def _group_keys(batch: dict[str, Any], spec: RunSpec) -> dict[str, Any]:
    """Adds the ``group`` column (a task: parsing only, no scorer is built)."""
    lines = LineScorer(spec)
    batch["group"] = [lines.group_key(*row) for row in _rows(batch)]
    return batch


class _Accumulators:
    """Fresh metric accumulators for an actor's batches, all over the metric objects the first
    one built: a metric's model loads once per actor, not once per batch."""

    def __init__(self, factory: Callable[[], Any]):
        self.factory, self.components = factory, None

    def __call__(self) -> Any:
        if self.components is None:
            first = self.factory()
            self.components = first.components
            return first
        from rewardhub.metrics_runner import MetricsAccumulator

        return MetricsAccumulator(components=self.components)


class _ScoreActor:
    """One per actor: a LineScorer built once. Per call, a batch of lines; with ``grouped``, a
    whole block of the hash-partitioned dataset (whole groups), scored in chunks of whole
    groups, members in input order, each group also folded into the per-group metrics."""

    def __init__(self, spec: RunSpec, grouped: bool, chunk: int, group_metrics: Callable[[], Any] | None = None):
        self.lines = LineScorer(spec)
        self.grouped, self.chunk = grouped, chunk
        self.group_metrics = _Accumulators(group_metrics) if group_metrics is not None else None

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        rows = _rows(batch)
        if not self.grouped:
            out = encode_results(self.lines.score(rows))
            out["state"] = [b""] * len(out["file"])
            return out
        rows.sort(key=lambda row: (row[0], row[1]))
        groups: dict[str, list[tuple[int, int, bytes | int | RowError]]] = {}
        for row in rows:
            groups.setdefault(self.lines.group_key(*row), []).append(row)
        accumulator = self.group_metrics() if self.group_metrics is not None else None
        results, chunk = [], []
        for members in groups.values():
            chunk.extend(members)
            if accumulator is not None:
                samples = self.lines.samples(members)
                if samples:
                    accumulator.add_groups([samples])
            if len(chunk) >= self.chunk:
                results += self.lines.score(chunk)
                chunk = []
        results += self.lines.score(chunk)
        out = encode_results(results)
        out["state"] = [b""] * len(out["file"])
        if accumulator is not None and out["state"]:
            out["state"][0] = pickle.dumps(accumulator)
        return out


class _MetricsActor:
    """Folds batches into pass ``pass_`` of the whole-set metric states; returns one state per
    batch (pass 0: a fresh accumulator per batch; later passes: what that batch added to the
    frozen state shipped from the driver)."""

    def __init__(self, spec: RunSpec, pass_: int, accumulator: Any):
        self.lines = LineScorer(spec)
        self.pass_ = pass_
        # pass 0: fresh accumulators (one per batch); later passes: the frozen state
        self.accumulator = _Accumulators(accumulator) if pass_ == 0 else accumulator

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        samples = self.lines.samples(_rows(batch))
        if self.pass_ == 0:
            accumulator = self.accumulator()
            accumulator.add(samples, 0)
        else:
            self.accumulator.add(samples, self.pass_)
            accumulator = self.accumulator.split_pass()
        return {"state": [pickle.dumps(accumulator)]}


def score(
    ray: Any,
    spec: RunSpec,
    settings: RaySettings,
    *,
    grouped: bool,
    group_metrics: Callable[[], Any] | None = None,
) -> Iterator[tuple[list[ScoredLine], list[Any]]]:
    """Score every line of ``spec.paths`` on the actor pool: ``(results, group states)`` per
    batch, in input order."""
    lines = read_lines(ray, spec.paths)
    actors = ray.data.ActorPoolStrategy(size=max(1, settings.actors))
    resources = {"num_cpus": settings.cpus_per_actor, "num_gpus": settings.gpus_per_actor or None}
    kwargs = {"spec": spec, "grouped": grouped, "chunk": settings.batch_size, "group_metrics": group_metrics}
    if grouped:
        size = sum(Path(p).stat().st_size for p in spec.paths)
        blocks = max(4 * settings.actors, size // (16 << 20))  # ~16 MB of input per block
        keyed = lines.map_batches(_group_keys, fn_kwargs={"spec": spec}, batch_format="numpy")
        scored = keyed.repartition(blocks, keys=["group"]).map_batches(
            _ScoreActor,
            fn_constructor_kwargs=kwargs,
            batch_size=None,
            compute=actors,
            batch_format="numpy",
            **resources,
        )
        scored = scored.sort(["file", "line"])
    else:
        scored = lines.map_batches(
            _ScoreActor,
            fn_constructor_kwargs=kwargs,
            batch_size=settings.batch_size,
            compute=actors,
            batch_format="numpy",
            **resources,
        )
    for batch in scored.iter_batches(batch_size=settings.batch_size, batch_format="numpy"):
        states = [pickle.loads(bytes(s)) for s in batch["state"] if len(s)]
        yield decode_results(batch), states


def metric_pass(ray: Any, spec: RunSpec, settings: RaySettings, pass_: int, accumulator: Any) -> Iterator[Any]:
    """Run pass ``pass_`` of the whole-set metric states over every line: one state per batch,
    in input order, for the driver to merge."""
    lines = read_lines(ray, spec.paths)
    states = lines.map_batches(
        _MetricsActor,
        fn_constructor_kwargs={"spec": spec, "pass_": pass_, "accumulator": accumulator},
        batch_size=settings.batch_size,
        compute=ray.data.ActorPoolStrategy(size=max(1, settings.actors)),
        batch_format="numpy",
        num_cpus=settings.cpus_per_actor,
    )
    for batch in states.iter_batches(batch_size=None, batch_format="numpy"):
        for state in batch["state"]:
            yield pickle.loads(bytes(state))


__all__ = [
    "INSTALL",
    "BackendError",
    "RaySettings",
    "connect",
    "metric_pass",
    "prepare",
    "read_lines",
    "require_ray",
    "score",
    "stop",
]

"""Scoring JSONL files end to end: what ``rewardhub eval`` does, callable from Python.

Read every row (precise errors, or counted skips), score them in chunks through one
:class:`~rewardhub.Scorer` (whole groups per chunk when a reward is group-aware), journal each
chunk so a killed run can ``resume``, compute the corpus metrics, then write the output file
atomically with its provenance sidecar.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardhub import plugins
from rewardhub.config import RunConfig, load_config, parse_components
from rewardhub.engine import Scorer
from rewardhub.io import InputError, JsonlReader, ResumableWriter, Row, file_sha256, sidecar_path
from rewardhub.io.provenance import provenance
from rewardhub.io.writer import write_json_atomic
from rewardhub.metrics_runner import compute_metrics
from rewardhub.results import ScoreBatch
from rewardhub.summary import stats

CHUNK_SIZE = 512


@dataclass
class EvalOptions:
    """Everything ``rewardhub eval`` takes besides the files."""

    rewards: Sequence[Any] | None = None
    metrics: Sequence[Any] | None = None
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


@dataclass
class EvalResult:
    summary: dict[str, Any]
    skipped: list[InputError] = field(default_factory=list)
    metric_errors: dict[str, str] = field(default_factory=dict)
    output: Path | None = None


def resolve_config(options: EvalOptions) -> RunConfig:
    """The run's config: the file, overridden by explicit lists; everything installed by default."""
    run = load_config(options.config) if options.config else RunConfig()
    if options.rewards is not None:
        run.rewards = parse_components(list(options.rewards), "--rewards")
    if options.metrics is not None:
        run.metrics = parse_components(list(options.metrics), "--metrics")
    if options.config is None and options.rewards is None and options.metrics is None:
        registry = plugins.registry(options.block)
        run.rewards = parse_components(sorted(registry.rewards), "installed rewards")
        run.metrics = parse_components(sorted(registry.metrics), "installed metrics")
    run.missing = options.missing or run.missing
    run.tokenize = options.tokenize or run.tokenize
    return run


def evaluate_files(
    paths: Sequence[str | Path],
    options: EvalOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EvalResult:
    """Score ``paths`` as ``rewardhub eval`` does; ``progress(done, total)`` after each chunk."""
    options = options or EvalOptions()
    run = resolve_config(options)
    reader = JsonlReader(list(paths), options.prompt_field, options.response_field, options.skip_invalid)
    rows = list(reader)
    scorer = Scorer(
        run.rewards,
        missing=run.missing,
        timeout=options.timeout,
        cache_size=1 << 16,
        tokenize=run.tokenize,
        block=options.block,
    )
    fingerprint = {
        "inputs": [{"path": str(p), "sha256": file_sha256(p)} for p in paths],
        "fields": {str(p): layout.describe() for p, layout in reader.layouts.items()},
        "skip_invalid": options.skip_invalid,
        "config": {
            "rewards": scorer.describe(),
            "metrics": [m.to_dict() for m in run.metrics],
            "missing": run.missing,
            "tokenize": run.tokenize or "auto",
        },
    }
    writer = ResumableWriter(options.output, fingerprint, resume=options.resume) if options.output else None
    columns: dict[str, list[float | None]] = {c.key: [None] * len(rows) for c in scorer.components}
    totals: list[float | None] = [None] * len(rows)
    errors = 0
    try:
        todo = _chunks(rows, scorer, writer, options.chunk_size)
        if writer is not None:
            errors += _restore(writer, columns, totals)
        done = len(rows) - sum(len(chunk) for chunk in todo)
        for chunk in todo:
            batch = scorer.score([rows[i].sample for i in chunk])
            errors += sum(len(e) for e in batch.errors)
            scored = list(zip(chunk, _output_rows([rows[i] for i in chunk], batch)))
            for i, row in scored:
                totals[i] = row["reward"]
                for key in columns:
                    columns[key][i] = row["rewards"][key]
            if writer is not None:
                writer.write(scored)
            done += len(chunk)
            if progress:
                progress(done, len(rows))
        # Metrics run while the rewards are still open: a metric sharing a reward's model (and
        # its remembered work, such as embeddings) finds it loaded.
        metrics = compute_metrics(
            run.metrics,
            [r.sample for r in rows],
            by_group=options.by_group,
            tokenize=run.tokenize,
            sample=options.sample,
            seed=options.seed,
        )
    except BaseException:
        if writer is not None:
            writer.close()  # keep the journal: --resume picks it up
        raise
    finally:
        scorer.close()

    summary = {
        "n": len(rows),
        "rewards": {key: stats(values) for key, values in columns.items()},
        "metrics": metrics.values,
        "errors": errors + len(metrics.errors),
    }
    if writer is not None:
        writer.finish(len(rows))
        loaded = plugins.registry(options.block).plugins
        document = provenance(
            fingerprint,
            [{"name": p.name, "distribution": p.distribution, "version": p.version} for p in loaded],
            {
                "rows": len(rows),
                "skipped": [str(e) for e in reader.skipped],
                "summary": summary,
                "total": stats(totals),
                "metric_errors": metrics.errors,
            },
        )
        write_json_atomic(sidecar_path(options.output), document)
    summary_for_people = {**summary, "total": stats(totals)} if len(columns) > 1 else summary
    return EvalResult(
        summary_for_people, reader.skipped, metrics.errors, Path(options.output) if options.output else None
    )


def _chunks(rows: list[Row], scorer: Scorer, writer: ResumableWriter | None, size: int) -> list[list[int]]:
    """Row indices still to score, in chunks; whole groups per chunk if a reward needs groups."""
    done = writer.done if writer is not None else {}
    if not any(c.reward.group_aware for c in scorer.components):
        todo = [i for i in range(len(rows)) if i not in done]
        return [todo[k : k + size] for k in range(0, len(todo), size)]
    groups: dict[Any, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(row.sample.group_key, []).append(i)
    chunks: list[list[int]] = []
    current: list[int] = []
    for members in groups.values():
        if all(i in done for i in members):
            continue
        if writer is not None:
            writer.forget(members)  # a group half-journaled is scored again, whole
        current.extend(members)
        if len(current) >= size:
            chunks.append(current)
            current = []
    if current:
        chunks.append(current)
    return chunks


def _restore(writer: ResumableWriter, columns: dict[str, list[float | None]], totals: list[float | None]) -> int:
    """Put journaled rows' values back into the summary columns; returns their error count."""
    errors = 0
    for i, line in writer.done.items():
        row = json.loads(line)
        totals[i] = row.get("reward")
        errors += len(row.get("errors") or {})
        for key, values in columns.items():
            values[i] = (row.get("rewards") or {}).get(key)
    return errors


def _output_rows(rows: list[Row], batch: ScoreBatch) -> list[dict[str, Any]]:
    """Each input row, its fields kept as read, plus ``rewards``, ``reward`` and ``errors``."""
    out = []
    for row, scored in zip(rows, batch):
        data = {k: v for k, v in row.data.items() if k not in ("rewards", "reward", "errors", "reward_info")}
        data["rewards"] = scored.rewards
        data["reward"] = scored.total
        data["errors"] = scored.errors
        if scored.info:
            data["reward_info"] = scored.info
        out.append(data)
    return out

"""One input line in, one output line out: the row path every backend shares.

A :class:`LineScorer` is built once per process (per Ray actor) from a picklable description
of the run. It parses raw JSONL lines exactly as :class:`~rewardhub.io.JsonlReader` does (same
layouts, same ids, same ``file:line: field: reason`` errors), scores them through one
:class:`~rewardhub.Scorer`, and turns each into its output line (``dumps`` of the output row)
plus the few numbers the summary needs. Backends only decide where lines are read and where
this runs; so ``local`` and ``ray`` write the same bytes by construction.
Tested through both backends in ``tests/test_backend_ray.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardhub.io.reader import MAX_LINE_BYTES, InputError, Row
from rewardhub.io.schema import Layout, RowError, row_to_sample
from rewardhub.types import Sample


class BackendError(RuntimeError):
    """A backend that cannot run (Ray not installed, a cluster that cannot be reached)."""


@dataclass
class ScoredLine:
    """The result of one input line: its output line, or why it was skipped, and the values
    the summary folds in (component values, total, number of errors)."""

    file: int
    line: int
    text: str = ""  # the output line (no newline); empty for a skipped line
    error: str = ""  # the InputError message of a bad line
    rewards: dict[str, float | None] = field(default_factory=dict)
    total: float | None = None
    errors: int = 0


@dataclass
class RunSpec:
    """Everything a worker needs to rebuild the run's row path (picklable)."""

    paths: list[str]
    layouts: dict[str, Layout]
    scorer: Callable[[], Any]  # builds the Scorer
    output_rows: Callable[[list[Row], Any], list[dict[str, Any]]]
    dumps: Callable[[dict[str, Any]], str]


def parse_line(
    raw: bytes, path: str, line_no: int, layout: Layout, several: bool
) -> tuple[dict[str, Any], Sample] | None:
    """``(data, sample)`` of one raw line (``None`` for a blank line), or a :class:`RowError`,
    exactly as the reader parses it."""
    from rewardhub.io.reader import _parse

    data = _parse(raw)
    if data is None:
        return None
    sample_id = f"{Path(path).name}:{line_no}" if several else line_no
    return data, row_to_sample(data, layout, sample_id, Path(path).parent)


def input_error(path: str, line_no: int, exc: RowError) -> InputError:
    """The reader's error for a bad row (``path:line: field 'x': reason``)."""
    reason = f"field '{exc.field}': {exc}" if exc.field and f"'{exc.field}'" not in str(exc) else str(exc)
    return InputError(path, line_no, reason, exc.field)


class LineScorer:
    """Parses, scores and serialises chunks of raw lines (see the module doc)."""

    def __init__(self, spec: RunSpec):
        self.spec = spec
        self.several = len(spec.paths) > 1
        self._scorer: Any = None

    @property
    def scorer(self) -> Any:
        if self._scorer is None:
            self._scorer = self.spec.scorer()
        return self._scorer

    def parse(self, file: int, line_no: int, raw: bytes | int | RowError) -> Row | InputError | None:
        """The row of one raw line, the error that line is, or ``None`` for a blank line.
        ``raw`` is the length of a line over the reader's limit, which is refused as locally,
        or the reader's error for a record of a text file or a JSON array."""
        path = self.spec.paths[file]
        try:
            if isinstance(raw, RowError):
                raise raw
            if isinstance(raw, int):
                raise RowError(f"line is {raw / 2**20:.1f} MiB, over the {MAX_LINE_BYTES / 2**20:.0f} MiB limit")
            parsed = parse_line(raw, path, line_no, self.spec.layouts[path], self.several)
        except RowError as exc:
            return input_error(path, line_no, exc)
        if parsed is None:
            return None
        return Row(-1, path, line_no, parsed[0], parsed[1])

    def group_key(self, file: int, line_no: int, raw: bytes | int | RowError) -> str:
        """A string naming the group of a line (bad and blank lines group alone)."""
        row = self.parse(file, line_no, raw)
        return repr(row.sample.group_key) if isinstance(row, Row) else f"\0{file}:{line_no}"

    def score(self, lines: Sequence[tuple[int, int, bytes | int | RowError]]) -> list[ScoredLine]:
        """Score a chunk of ``(file, line, raw)``; blank lines are left out of the result."""
        results: list[ScoredLine] = []
        rows: list[Row] = []
        slots: list[ScoredLine] = []
        for file, line_no, raw in lines:
            row = self.parse(file, line_no, raw)
            if row is None:
                continue
            result = ScoredLine(file, line_no)
            results.append(result)
            if isinstance(row, InputError):
                result.error = str(row)
                continue
            rows.append(row)
            slots.append(result)
        if rows:
            batch = self.scorer.score([r.sample for r in rows])
            for result, scored, out in zip(slots, batch, self.spec.output_rows(rows, batch)):
                result.text = self.spec.dumps(out)
                result.rewards = dict(scored.rewards)
                result.total = scored.total
                result.errors = len(scored.errors)
        return results

    def samples(self, lines: Sequence[tuple[int, int, bytes | int | RowError]]) -> list[Sample]:
        """The samples of the valid lines of a chunk (what the metrics fold in)."""
        return [row.sample for row in (self.parse(*line) for line in lines) if isinstance(row, Row)]

    def close(self) -> None:
        if self._scorer is not None:
            self._scorer.close()


def encode_results(results: list[ScoredLine]) -> dict[str, list[Any]]:
    """Results as columns (what a Ray batch carries)."""
    return {
        "file": [r.file for r in results],
        "line": [r.line for r in results],
        "text": [r.text for r in results],
        "error": [r.error for r in results],
        "values": [json.dumps([r.rewards, r.total, r.errors]) for r in results],
    }


def decode_results(batch: dict[str, Sequence[Any]]) -> list[ScoredLine]:
    out = []
    for file, line, text, error, values in zip(
        batch["file"], batch["line"], batch["text"], batch["error"], batch["values"]
    ):
        rewards, total, errors = json.loads(values)
        out.append(ScoredLine(int(file), int(line), str(text), str(error), rewards, total, errors))
    return out

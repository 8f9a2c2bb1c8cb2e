"""One input row in, one output line out: the row path of every backend.

A :class:`RowScorer` scores a chunk of parsed rows (:class:`~rewardhub.io.Row`) through one
:class:`~rewardhub.Scorer` and turns each into a :class:`ScoredLine`: its output line (the
input row plus ``rewards``, ``reward``, ``errors``, ``reward_info``: :func:`rewardhub.io.scored_row`,
serialised once by :func:`rewardhub.io.dumps`) and the :class:`~rewardhub.evaluate.summary.RowFacts`
the summary folds in. The ``local`` backend feeds it the rows its reader parses; a Ray actor
first turns raw lines into the same rows with a :class:`LineParser` (same layouts, same ids,
same ``file:line: field: reason`` errors as the reader). Backends only decide where rows are
read and where this runs; so ``local`` and ``ray`` write the same bytes by construction.
Tested through both backends in ``tests/test_backend_ray.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardhub.evaluate.summary import RowFacts
from rewardhub.io import dumps, scored_row
from rewardhub.io.reader import MAX_LINE_BYTES, InputError, Row, parse_line, row_error
from rewardhub.io.schema import Layout, RowError, row_to_sample

#: A raw input line as a backend carries it: ``(file number, line number, the line's bytes)``;
#: the bytes are the line's length for a line over the reader's limit (refused as the reader
#: refuses it), or the reader's error for a record of a text file or a JSON array.
RawLine = tuple[int, int, "bytes | int | RowError"]


@dataclass
class ScoredLine:
    """One scored row: where it goes in the output (``index``: its position among the run's
    valid rows, ``-1`` until the backend knows it), its output line, and its summary facts."""

    index: int
    text: str
    facts: RowFacts


class RowScorer:
    """Scores chunks of rows into :class:`ScoredLine` objects (see the module doc)."""

    def __init__(self, scorer: Any, with_total: bool):
        self.scorer, self.with_total = scorer, with_total

    def score(self, rows: Sequence[Row]) -> list[ScoredLine]:
        if not rows:
            return []
        batch = self.scorer.score([r.sample for r in rows])
        lines = []
        for row, result in zip(rows, batch):
            out = scored_row(row.data, result.rewards, result.errors, result.info, result.total, self.with_total)
            facts = RowFacts.of(result.rewards, result.info, result.errors, result.total)
            lines.append(ScoredLine(row.index, dumps(out), facts))
        return lines


class LineParser:
    """Raw lines of ``paths`` into rows, exactly as :class:`~rewardhub.io.JsonlReader` reads
    them (the ``layouts`` its first pass found, ids ``file:line`` when there are several files)."""

    def __init__(self, paths: Sequence[str], layouts: dict[str, Layout]):
        self.paths, self.layouts = list(paths), layouts
        self.several = len(self.paths) > 1

    def parse(self, file: int, line_no: int, raw: bytes | int | RowError) -> Row | InputError | None:
        """The row of one raw line, the error that line is, or ``None`` for a blank line."""
        path = self.paths[file]
        try:
            if isinstance(raw, RowError):
                raise raw
            if isinstance(raw, int):
                raise RowError(f"line is {raw / 2**20:.1f} MiB, over the {MAX_LINE_BYTES / 2**20:.0f} MiB limit")
            data = parse_line(raw)
            if data is None:
                return None
            sample_id = f"{Path(path).name}:{line_no}" if self.several else line_no
            sample = row_to_sample(data, self.layouts[path], sample_id, Path(path).parent)
        except RowError as exc:
            return row_error(path, line_no, exc)
        return Row(-1, path, line_no, data, sample)

    def group_key(self, file: int, line_no: int, raw: bytes | int | RowError) -> str:
        """A string naming the group of a line (bad and blank lines group alone)."""
        row = self.parse(file, line_no, raw)
        return repr(row.sample.group_key) if isinstance(row, Row) else f"\0{file}:{line_no}"

    def rows(self, lines: Sequence[RawLine]) -> list[Row | InputError]:
        """The rows (or errors) of a chunk of raw lines, blank lines left out."""
        return [row for row in (self.parse(*line) for line in lines) if row is not None]

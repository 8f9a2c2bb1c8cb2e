"""Where a run's scored rows go: the journal (when there is an output), the summary, and the
count of the tokenizers ``auto`` chose (the provenance records them).

Backends hand the sink :class:`~rewardhub.evaluate.row_path.ScoredLine` objects, each row
once, in any order: the line is journaled as it was serialised by the row path (never parsed
and written again) and its facts folded into the summary. Tested in
``tests/test_eval_streaming.py`` and ``tests/test_backend_ray.py``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from rewardhub.evaluate.row_path import ScoredLine
from rewardhub.evaluate.summary import SummaryBuilder
from rewardhub.io import ResumableWriter, Row


class RunSink:
    """The journal, the summary and the tokenizer counts of a run (see the module doc)."""

    def __init__(
        self,
        summary: SummaryBuilder,
        writer: ResumableWriter | None = None,
        choose_tokenizer: Callable[[str], str] | None = None,
    ):
        self.summary, self.writer, self.choose_tokenizer = summary, writer, choose_tokenizer
        self.tokenizers: Counter = Counter()

    def fold_journaled(self) -> None:
        """Rows a killed run journaled count as written (``--resume``)."""
        if self.writer is not None:
            for _, line in self.writer.journaled():
                self.summary.add_row(json.loads(line))

    def todo(self, rows: Sequence[Row]) -> list[Row]:
        """The rows not journaled yet."""
        return [r for r in rows if self.writer is None or not self.writer.is_done(r.index)]

    def saw(self, rows: Iterable[Row]) -> None:
        """Count the tokenizer ``auto`` chooses for each row's response (each row once)."""
        if self.choose_tokenizer is not None:
            self.tokenizers.update(self.choose_tokenizer(r.sample.response) for r in rows)

    def write(self, lines: Sequence[ScoredLine]) -> None:
        """Journal one chunk of scored rows (committed together) and fold them into the summary."""
        for line in lines:
            self.summary.add(line.facts)
        if self.writer is not None and lines:
            self.writer.write_lines([(line.index, line.text) for line in lines])

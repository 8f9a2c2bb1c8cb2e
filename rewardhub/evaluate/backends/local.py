"""The ``local`` backend: the row flow of ``eval`` in one process, as a stream.

Rows flow read -> score -> journal -> summary and metrics, one chunk at a time; no list of all
rows is kept, and nothing per row survives its chunk but a 12-byte journal position and one
float per reward (the summary). Two shapes:

- **row by row** (no group-aware reward, no ``--by-group``): chunks of ``chunk_size`` rows in
  input order; the metric states fold each chunk in as it is scored.
- **whole groups**: a first pass over the input records, per row, only its group's number and
  each group's last row (compact arrays); the second pass reads the rows again and holds the
  rows of groups still open until their last row arrives, then scores complete groups in
  chunks. Memory is the rows of open groups: O(chunk) when a group's rows are near each other
  in the input (sorted by prompt, or GRPO output written group by group: the cheapest order);
  input that spreads every group across the whole file (several models' files concatenated)
  holds up to all of it: use ``--backend ray`` there, which partitions by group.

Rows are scored by the row path every backend shares
(:class:`~rewardhub.evaluate.row_path.RowScorer`) and go to the run's sink (journal and summary:
:class:`~rewardhub.evaluate.sink.RunSink`). ``--resume`` asks the journal which rows are done
and scores only the others. Whole-set metrics always see every row, in input order: inline in
the row-by-row shape, otherwise in their own pass over the input (and self-BLEU's second pass
reads the input once more). Tested in ``tests/test_eval_streaming.py``.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from rewardhub.evaluate.row_path import RowScorer
from rewardhub.host.progress import Progress
from rewardhub.io import Row
from rewardhub.text.tokenizers import TOKEN_CACHE_SIZE

if TYPE_CHECKING:
    from rewardhub.evaluate.plan import RunPlan
    from rewardhub.evaluate.sink import RunSink
    from rewardhub.evaluate.source import RowSource
    from rewardhub.metrics.runner import MetricsAccumulator

#: Rows per chunk of a metrics-only pass (self-BLEU's second pass): as many as the token
#: memo holds, so the metrics of a chunk tokenize each text once between them.
METRICS_CHUNK = TOKEN_CACHE_SIZE


def chunked(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _group_digest(row: Row) -> bytes:
    """A 128-bit digest of the row's group key (``repr`` keeps ``1``, ``True`` and ``"1"`` apart)."""
    return hashlib.blake2b(repr(row.sample.group_key).encode("utf-8", "backslashreplace"), digest_size=16).digest()


class GroupPlan:
    """The first pass of the whole-groups shape: each row's group number and where each group
    ends (its last row's index). 4 bytes per row plus one entry per group."""

    def __init__(self, rows: Iterable[Row]):
        numbers: dict[bytes, int] = {}
        self.group_of = array("i")
        self.last: array = array("q")
        for row in rows:
            number = numbers.setdefault(_group_digest(row), len(numbers))
            if number == len(self.last):
                self.last.append(row.index)
            else:
                self.last[number] = row.index
            self.group_of.append(number)
        self.rows = len(self.group_of)


def whole_groups(rows: Iterable[Row], plan: GroupPlan, size: int) -> Iterator[list[list[Row]]]:
    """Chunks of complete groups (each group's rows in input order), as groups complete."""
    open_groups: dict[int, list[Row]] = {}
    ready: list[list[Row]] = []
    count = 0
    for row in rows:
        number = plan.group_of[row.index]
        members = open_groups.setdefault(number, [])
        members.append(row)
        if plan.last[number] == row.index:
            ready.append(open_groups.pop(number))
            count += len(members)
            if count >= size:
                yield ready
                ready, count = [], 0
    if ready:
        yield ready


class RowFlow:
    """Scores a stream of rows through the row path into the sink, and the metrics."""

    def __init__(
        self,
        rows: RowScorer,
        sink: RunSink,
        metrics: MetricsAccumulator,
        progress: Progress,
        total: int | None = None,
    ):
        self.row_scorer, self.sink, self.metrics, self.progress = rows, sink, metrics, progress
        self.total = total  # rows expected (at most), for the progress bar; None: unknown
        self.done = 0
        self.chunks = 0

    def score(self, rows: Sequence[Row]) -> None:
        """Score the rows of one chunk that are not journaled yet; journal and summarise them."""
        if self.chunks == 0:  # lazy models load on the first call
            self.progress("loading models", self.done, self.total)
        self.chunks += 1
        self.sink.write(self.row_scorer.score(self.sink.todo(rows)))
        self.done += len(rows)
        self.progress("scoring", self.done, self.total)

    def row_by_row(self, rows: Iterable[Row], size: int) -> None:
        for chunk in chunked(rows, size):
            self.sink.saw(chunk)
            self.score(chunk)
            self.metrics.add([r.sample for r in chunk], 0, self.progress)

    def by_groups(self, rows: Iterable[Row], plan: GroupPlan, size: int, by_group: bool) -> None:
        for groups in whole_groups(rows, plan, size):
            chunk = [row for members in groups for row in members]
            self.score(chunk)  # (the first pass counted the tokenizers)
            if by_group:
                self.metrics.add_groups([[r.sample for r in members] for members in groups])


class LocalBackend:
    """The ``local`` backend (see the module doc)."""

    name = "local"

    def check(self, paths: Sequence[str], resume: bool) -> None:
        """Everything the plan allows runs locally."""

    def run(
        self,
        plan: RunPlan,
        source: RowSource,
        sink: RunSink,
        metrics: MetricsAccumulator,
        progress: Progress,
        total: int | None,
    ) -> None:
        flow = RowFlow(RowScorer(plan.scorer, plan.with_total), sink, metrics, progress, total)
        sink.fold_journaled()
        size = plan.chunk_size
        if not plan.grouped:
            flow.row_by_row(source.rows(), size)
        else:
            # first pass: the group plan, and the whole-set metrics' first pass, in input order
            groups = GroupPlan(_fold(source.rows(), metrics, size, sink, progress, total))
            flow.total = groups.rows  # exact from here on
            flow.by_groups(source.rows(), groups, size, plan.by_group)
        for pass_ in range(1, metrics.passes):
            metrics.start_pass(pass_)
            done, phase = 0, f"metrics pass {pass_ + 1}"
            progress(phase, done, flow.done)
            for chunk in chunked(source.rows(), METRICS_CHUNK):
                metrics.add([r.sample for r in chunk], pass_, progress)
                done += len(chunk)
                progress(phase, done, flow.done)


def _fold(
    rows: Iterator[Row], metrics: MetricsAccumulator, size: int, sink: RunSink, progress: Progress, total: int | None
) -> Iterator[Row]:
    """Pass ``rows`` through, folding them into the whole-set metrics (and the tokenizer
    counts) chunk by chunk on the way."""
    done = 0
    progress("reading", done, total)  # now in rows
    for chunk in chunked(rows, size):
        sink.saw(chunk)
        metrics.add([r.sample for r in chunk], 0, progress)
        done += len(chunk)
        progress("reading", done, total)
        yield from chunk

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

``--resume`` asks the journal (:class:`~rewardhub.io.ResumableWriter`) which rows are done
and scores only the others. Whole-set metrics always see every row, in input order: inline in
the row-by-row shape, otherwise in their own pass over the input (and self-BLEU's second pass
reads the input once more). Tested in ``tests/test_eval_streaming.py``.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from typing import Any

from rewardhub.io import InputError, JsonlReader, Row, is_stream, scored_row
from rewardhub.progress import Progress
from rewardhub.text.tokenizers import TOKEN_CACHE_SIZE

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
    """Scores a stream of rows into the journal, the summary and the metrics."""

    def __init__(
        self,
        scorer: Any,
        writer: Any,
        summary: Any,
        metrics: Any,
        *,
        with_total: bool,
        progress: Progress,
        tokenizers: Counter,
        choose_tokenizer: Callable[[str], str] | None,
        total: int | None = None,
    ):
        self.scorer, self.writer, self.summary, self.metrics = scorer, writer, summary, metrics
        self.with_total, self.progress = with_total, progress
        self.tokenizers, self.choose_tokenizer = tokenizers, choose_tokenizer
        self.total = total  # rows expected (at most), for the progress bar; None: unknown
        self.done = 0
        self.chunks = 0

    def _seen(self, rows: list[Row]) -> None:
        if self.choose_tokenizer is not None:
            self.tokenizers.update(self.choose_tokenizer(r.sample.response) for r in rows)

    def score(self, rows: list[Row]) -> None:
        """Score the rows of one chunk that are not journaled yet; journal and summarise them."""
        todo = [r for r in rows if self.writer is None or not self.writer.is_done(r.index)]
        if self.chunks == 0:  # lazy models load on the first call
            self.progress("loading models", self.done, self.total)
        self.chunks += 1
        if todo:
            batch = self.scorer.score([r.sample for r in todo])
            scored = []
            for row, result in zip(todo, batch):
                out = scored_row(row.data, result.rewards, result.errors, result.info, result.total, self.with_total)
                self.summary.add(row.index, out)
                scored.append((row.index, out))
            if self.writer is not None:
                self.writer.write(scored)
        self.done += len(rows)
        self.progress("scoring", self.done, self.total)

    def row_by_row(self, rows: Iterable[Row], size: int) -> None:
        for chunk in chunked(rows, size):
            self._seen(chunk)
            self.score(chunk)
            self.metrics.add([r.sample for r in chunk], 0, self.progress)

    def by_groups(self, rows: Iterable[Row], plan: GroupPlan, size: int, by_group: bool) -> None:
        for groups in whole_groups(rows, plan, size):
            chunk = [row for members in groups for row in members]
            self.score(chunk)  # (the first pass counted the tokenizers)
            if by_group:
                self.metrics.add_groups([[r.sample for r in members] for members in groups])


class RowSource:
    """The input rows, as many times as the run needs them: each pass reads the files again
    (streams, which can be read once, are held in memory when a second pass is needed). The
    first full pass's reader keeps the skipped rows, layouts and stream digests."""

    def __init__(self, paths: list[str], options: Any):
        self.paths, self.options = paths, options
        self.reader = self._reader()
        self.count = 0
        self._held: list[Row] | None = None
        self._passes = 0

    def _reader(self) -> JsonlReader:
        o = self.options
        return JsonlReader(self.paths, o.prompt_field, o.response_field, o.skip_invalid)

    def layouts(self) -> dict[str, str]:
        """Each regular file's layout, from its first valid row (streams: known once read)."""
        layouts = {}
        for path in self.paths:
            if is_stream(path):
                layouts[path] = "stream"
                continue
            probe = JsonlReader([path], self.options.prompt_field, self.options.response_field, skip_invalid=True)
            with suppress(InputError):  # the run's own reading reports it
                next(iter(probe), None)
            if path in probe.layouts:
                layouts[path] = probe.layouts[path].describe()
        return layouts

    def rows(self) -> Iterator[Row]:
        """Every valid row, in input order (the first call reads through :attr:`reader`)."""
        self._passes += 1
        if self._held is not None:
            yield from self._held
            return
        if self._passes == 1:
            hold = any(is_stream(p) for p in self.paths)
            held: list[Row] = []
            for row in self.reader:
                self.count += 1
                if hold:
                    held.append(row)
                yield row
            if hold:
                self._held = held
            return
        yield from self._reader()


def score_locally(
    source: RowSource,
    options: Any,
    with_total: bool,
    tokenize: str | None,
    scorer: Any,
    writer: Any,
    summary: Any,
    metrics: Any,
    tokenizers: Counter,
    progress: Progress,
    total: int | None = None,
) -> None:
    """The local backend: stream the rows through (see the module doc), reporting each phase
    to ``progress`` against ``total`` rows (``None``: unknown)."""
    from rewardhub.text.tokenizers import auto_choice

    flow = RowFlow(
        scorer,
        writer,
        summary,
        metrics,
        with_total=with_total,
        progress=progress,
        tokenizers=tokenizers,
        choose_tokenizer=auto_choice if (tokenize or "auto") == "auto" else None,
        total=total,
    )
    if writer is not None:  # rows a killed run journaled count as they were written
        for index, line in writer.journaled():
            summary.add(index, json.loads(line))
    size = options.chunk_size
    grouped = options.by_group or any(c.reward.group_aware for c in scorer.components)
    if not grouped:
        flow.row_by_row(source.rows(), size)
    else:
        # first pass: the group plan, and the whole-set metrics' first pass, in input order
        plan = GroupPlan(_fold(source.rows(), metrics, size, flow, progress, total))
        flow.total = plan.rows  # exact from here on
        flow.by_groups(source.rows(), plan, size, options.by_group)
    for pass_ in range(1, metrics.passes):
        metrics.start_pass(pass_)
        done, phase = 0, f"metrics pass {pass_ + 1}"
        progress(phase, done, flow.done)
        for chunk in chunked(source.rows(), METRICS_CHUNK):
            metrics.add([r.sample for r in chunk], pass_, progress)
            done += len(chunk)
            progress(phase, done, flow.done)


def _fold(
    rows: Iterator[Row], metrics: Any, size: int, flow: RowFlow, progress: Progress, total: int | None
) -> Iterator[Row]:
    """Pass ``rows`` through, folding them into the whole-set metrics (and the tokenizer
    counts) chunk by chunk on the way."""
    done = 0
    progress("reading", done, total)  # now in rows
    for chunk in chunked(rows, size):
        flow._seen(chunk)
        metrics.add([r.sample for r in chunk], 0, progress)
        done += len(chunk)
        progress("reading", done, total)
        yield from chunk

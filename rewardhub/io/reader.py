"""Streaming input reader with errors that name the file, the line and the field.

:class:`JsonlReader` reads one or more input files (in the formats of
:mod:`rewardhub.io.formats`: JSONL, a JSON array, plain text) into :class:`Row` objects, in order.
``-`` reads standard input and a FIFO is read as it comes (both as JSONL unless the FIFO's name
ends in ``.txt``): each is read exactly once, and :attr:`JsonlReader.digests` holds the SHA-256 of
the bytes read from each such stream. Other non-regular files (devices, sockets) are refused.

A row is refused, never half-read, when its record is (:func:`~rewardhub.io.formats.parse_line`)
or when a field has the wrong type (see :mod:`rewardhub.io.schema`). With ``skip_invalid`` a bad
row is counted in :attr:`JsonlReader.skipped` and reading goes on; without it, the first bad row
raises :class:`InputError`. Tested in ``tests/test_io_reader.py``.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from rewardhub.io.formats import (
    MAX_LINE_BYTES,
    STDIN,
    InputError,
    count_records,
    file_format,
    is_stream,
    lines,
    parse_line,
    records,
)
from rewardhub.io.schema import Layout, RowError, detect_layout, row_to_sample
from rewardhub.types import Sample


def row_error(path: str | Path, line: int, exc: RowError) -> InputError:
    """The error of a bad row: ``path:line: field 'x': reason``."""
    reason = f"field '{exc.field}': {exc}" if exc.field and f"'{exc.field}'" not in str(exc) else str(exc)
    return InputError(path, line, reason, exc.field)


@dataclass
class Row:
    """A parsed input row: where it came from, its fields as read, and its sample."""

    index: int  # position among all valid rows of the run, from 0
    path: str
    line: int
    data: dict[str, Any]
    sample: Sample


def check_input(path: str | Path) -> None:
    """Refuse, before any work, an input that cannot be read as a file or a stream."""
    if str(path) == STDIN:
        return
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise InputError(path, None, f"cannot open: {exc.strerror}") from None
    if stat.S_ISDIR(mode):
        raise InputError(path, None, "is a directory, not a file")
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        raise InputError(path, None, "not a regular file or a pipe (devices and sockets are not read)")
    if not os.access(path, os.R_OK):
        raise InputError(path, None, "cannot open: Permission denied")


@dataclass
class JsonlReader:
    """Reads one or more input files into :class:`Row` objects, in order.

    The layout (which fields hold prompt and response) is detected on each file's first row,
    or given with ``prompt_field`` / ``response_field``, and then required of every row.
    Sample ids default to the line number (``file:line`` when reading several files).
    """

    paths: list[str | Path]
    prompt_field: str | None = None
    response_field: str | None = None
    skip_invalid: bool = False
    max_line_bytes: int = MAX_LINE_BYTES
    skipped: list[InputError] = field(default_factory=list)
    layouts: dict[str, Layout] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Row]:
        index = 0
        for path in self.paths:
            rows = 0
            for row in self._read_file(path, index):
                rows += 1
                index += 1
                yield row
            if rows == 0 and not self.skipped_in(path):
                raise InputError(path, None, "no samples: the file is empty")
        if index == 0:
            first = self.skipped[0] if self.skipped else None
            raise InputError(self.paths[0], None, f"no valid samples ({len(self.skipped)} skipped; first: {first})")

    def skipped_in(self, path: str | Path) -> int:
        return sum(1 for e in self.skipped if e.path == str(path))

    def _read_file(self, path: str | Path, start: int) -> Iterator[Row]:
        name = Path(path).name if str(path) != STDIN else "stdin"
        several = len(self.paths) > 1
        base = Path(path).parent if str(path) != STDIN else Path.cwd()
        for line_no, data in self._records(path):
            try:
                if isinstance(data, RowError):
                    raise data
                layout = self._layout(str(path), data)
                sample_id = f"{name}:{line_no}" if several else line_no
                sample = row_to_sample(data, layout, sample_id, base)
            except RowError as exc:
                error = row_error(path, line_no, exc)
                if not self.skip_invalid:
                    raise error from None
                self.skipped.append(error)
                continue
            yield Row(start, str(path), line_no, data, sample)
            start += 1

    def _records(self, path: str | Path) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
        """``(line, row or its error)`` per record of the file, in its format."""
        streaming = is_stream(path)
        if not streaming:
            check_input(path)
        try:
            handle: BinaryIO = sys.stdin.buffer if str(path) == STDIN else open(path, "rb")  # noqa: SIM115
        except OSError as exc:
            raise InputError(path, None, f"cannot open: {exc.strerror}") from None
        digest = hashlib.sha256() if streaming else None
        source: Any = _Hashing(handle, digest) if digest is not None else handle
        try:
            yield from records(path, source, self.max_line_bytes)
        finally:
            if handle is not sys.stdin.buffer:
                handle.close()
        if digest is not None:
            self.digests[str(path)] = digest.hexdigest()

    def _layout(self, key: str, data: dict[str, Any]) -> Layout:
        if key not in self.layouts:
            self.layouts[key] = detect_layout(data, self.prompt_field, self.response_field)
        return self.layouts[key]


class _Hashing:
    """A binary reader that hashes what is read through it (streams are read exactly once)."""

    def __init__(self, handle: BinaryIO, digest: Any):
        self.handle, self.digest = handle, digest

    def readline(self, limit: int = -1) -> bytes:
        data = self.handle.readline(limit)
        self.digest.update(data)
        return data

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data

    def peek(self, size: int = 1) -> bytes:
        return self.handle.peek(size)  # type: ignore[attr-defined]


def read_samples(paths: str | Path | Iterable[str | Path], **options: Any) -> list[Sample]:
    """All samples of one or more input files (see :class:`JsonlReader` for the options)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    return [row.sample for row in JsonlReader(list(paths), **options)]


__all__ = [
    "MAX_LINE_BYTES",
    "STDIN",
    "InputError",
    "JsonlReader",
    "Row",
    "check_input",
    "count_records",
    "file_format",
    "is_stream",
    "lines",
    "parse_line",
    "read_samples",
    "records",
    "row_error",
]

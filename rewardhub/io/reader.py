"""Streaming JSONL reader with errors that name the file, the line and the field.

Lines are read as bytes with a length cap, so a runaway 50 MB line is refused without being
held in memory, and decoded one by one, so invalid UTF-8 is reported where it is. Blank lines
are ignored. With ``skip_invalid`` a bad row is counted in :attr:`JsonlReader.skipped` and
reading goes on; without it, the first bad row raises :class:`InputError`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardhub.io.schema import Layout, RowError, detect_layout, row_to_sample
from rewardhub.types import Sample

MAX_LINE_BYTES = 32 * 1024 * 1024
_CHUNK = 1 << 20


class InputError(ValueError):
    """Bad input, reported as ``path:line: [field 'x': ]reason``."""

    def __init__(self, path: str | Path, line: int | None, reason: str, field: str | None = None):
        self.path, self.line, self.reason, self.field = str(path), line, reason, field
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {reason}")


@dataclass
class Row:
    """A parsed input row: where it came from, its fields as read, and its sample."""

    index: int  # position among all valid rows of the run, from 0
    path: str
    line: int
    data: dict[str, Any]
    sample: Sample


@dataclass
class JsonlReader:
    """Reads one or more JSONL files into :class:`Row` objects, in order.

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

    def __iter__(self) -> Iterator[Row]:
        index = 0
        for path in self.paths:
            rows = 0
            for row in self._read_file(Path(path), index):
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

    def _read_file(self, path: Path, start: int) -> Iterator[Row]:
        several = len(self.paths) > 1
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise InputError(path, None, f"cannot open: {exc.strerror}") from None
        with handle:
            for line_no, raw in _lines(handle, self.max_line_bytes):
                try:
                    if isinstance(raw, int):
                        raise RowError(
                            f"line is {raw / 2**20:.1f} MiB, over the {self.max_line_bytes / 2**20:.0f} MiB limit"
                        )
                    data = _parse(raw)
                    if data is None:
                        continue
                    layout = self._layout(path, data)
                    sample_id = f"{path.name}:{line_no}" if several else line_no
                    sample = row_to_sample(data, layout, sample_id, path.parent)
                except RowError as exc:
                    reason = (
                        f"field '{exc.field}': {exc}" if exc.field and f"'{exc.field}'" not in str(exc) else str(exc)
                    )
                    error = InputError(path, line_no, reason, exc.field)
                    if not self.skip_invalid:
                        raise error from None
                    self.skipped.append(error)
                    continue
                yield Row(start, str(path), line_no, data, sample)
                start += 1

    def _layout(self, path: Path, data: dict[str, Any]) -> Layout:
        key = str(path)
        if key not in self.layouts:
            self.layouts[key] = detect_layout(data, self.prompt_field, self.response_field)
        return self.layouts[key]


def _lines(handle: Any, limit: int) -> Iterator[tuple[int, bytes | int]]:
    """``(line number, bytes)`` per line; an over-long line yields its length instead."""
    line_no = 0
    while True:
        raw = handle.readline(limit + 1)
        if not raw:
            return
        line_no += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            size = len(raw)
            while True:  # skip the rest of the line without keeping it
                rest = handle.readline(_CHUNK)
                size += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
            yield line_no, size
            continue
        yield line_no, raw


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RowError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line)") from None
    text = text.strip().lstrip("\ufeff")  # tolerate a byte-order mark
    if not text:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RowError(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(data, dict):
        raise RowError(f"expected a JSON object, got {type(data).__name__}")
    return data


def read_samples(paths: str | Path | Iterable[str | Path], **options: Any) -> list[Sample]:
    """All samples of one or more JSONL files (see :class:`JsonlReader` for the options)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    return [row.sample for row in JsonlReader(list(paths), **options)]

"""Streaming input reader with errors that name the file, the line and the field.

Three formats, chosen per file by :func:`file_format`, read by :func:`records` (which the Ray
backend's read tasks use too; tested in ``tests/test_io_reader.py`` and
``tests/test_backend_ray_formats.py``):

- **JSONL** (the default): one JSON object per line. Lines are read as bytes with a length cap,
  so a runaway 50 MB line is refused without being held in memory, and decoded one by one, so
  invalid UTF-8 is reported where it is. Blank lines are ignored.
- **a JSON array of objects** (a ``.json`` file starting with ``[``, as alpaca_eval ships its
  outputs): each element is a row, and errors name the line where that element starts.
- **plain text** (a ``.txt`` file, as Texygen ships its samples): one response per line.

``-`` reads standard input and a FIFO is read as it comes (both as JSONL unless the FIFO's name
ends in ``.txt``): each is read exactly once, and :attr:`JsonlReader.digests` holds the SHA-256 of
the bytes read from each such stream. Other non-regular files (devices, sockets) are refused.

A row is refused, never half-read, when its JSON nests too deep, holds a lone surrogate
(``"\\ud800"``, which no UTF-8 file can hold) or an integer too long to convert, or when a
field has the wrong type (see :mod:`rewardhub.io.schema`). With ``skip_invalid`` a bad row is
counted in :attr:`JsonlReader.skipped` and reading goes on; without it, the first bad row
raises :class:`InputError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from rewardhub.io.schema import Layout, RowError, detect_layout, row_to_sample
from rewardhub.types import Sample

MAX_LINE_BYTES = 32 * 1024 * 1024
STDIN = "-"
_CHUNK = 1 << 20
#: A JSON ``\\uD800``..``\\uDFFF`` escape: only then can a parsed row hold a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
TEXT_FIELD = "response"
#: Deepest nesting a row's field may have (chat messages with multimodal parts need about 4).
MAX_DEPTH = 64


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


def is_stream(path: str | Path) -> bool:
    """Whether ``path`` is read as a stream (``-`` or a FIFO): once, and never fingerprinted."""
    if str(path) == STDIN:
        return True
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


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
                reason = f"field '{exc.field}': {exc}" if exc.field and f"'{exc.field}'" not in str(exc) else str(exc)
                error = InputError(path, line_no, reason, exc.field)
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


def file_format(path: str | Path, handle: Any) -> str:
    """How ``path`` is read: ``"text"`` (a ``.txt`` file), ``"array"`` (a ``.json`` file whose
    first non-space byte is ``[``; ``handle`` must be able to peek) or ``"jsonl"``."""
    suffix = Path(path).suffix.lower()
    if suffix == ".txt":
        return "text"
    if suffix == ".json" and _starts_with_bracket(handle):
        return "array"
    return "jsonl"


def records(
    path: str | Path, handle: Any, limit: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """``(line, row or its error)`` per record of ``handle`` (the bytes of ``path``), in the
    format :func:`file_format` gives: what every backend reads, so they read alike."""
    kind = file_format(path, handle)
    if kind == "text":
        return _text_records(handle, limit)
    if kind == "array":
        return _array_records(path, handle)
    return _jsonl_records(handle, limit)


def count_records(path: str | Path) -> int | None:
    """How many rows ``path`` holds at most, cheaply: its lines (JSONL, text), or its elements
    (a JSON array); ``None`` for a stream or a file that cannot be read or parsed (the run's
    own reading reports why). Progress totals and the journal check use it."""
    if is_stream(path):
        return None
    try:
        with open(path, "rb") as handle:
            if file_format(path, handle) == "array":
                try:
                    data = json.loads(handle.read().decode("utf-8").lstrip("\ufeff"))
                except (ValueError, RecursionError):
                    return None
                return len(data) if isinstance(data, list) else None
            lines, last = 0, b"\n"
            while block := handle.read(_CHUNK):
                lines += block.count(b"\n")
                last = block[-1:]
            return lines + (last != b"\n")
    except OSError:
        return None


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


def _starts_with_bracket(handle: Any) -> bool:
    """Whether the file's first non-space byte is ``[`` (a JSON array), without consuming it."""
    try:
        head = handle.peek(4096)
    except (AttributeError, OSError):
        return False
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")


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


def _too_long(size: int, limit: int) -> RowError:
    return RowError(f"line is {size / 2**20:.1f} MiB, over the {limit / 2**20:.0f} MiB limit")


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RowError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line)") from None


def _jsonl_records(handle: Any, limit: int) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    for line_no, raw in _lines(handle, limit):
        try:
            if isinstance(raw, int):
                raise _too_long(raw, limit)
            data = _parse(raw)
        except RowError as exc:
            yield line_no, exc
            continue
        if data is not None:
            yield line_no, data


def _text_records(handle: Any, limit: int) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """Plain text: each non-blank line is one response (its line break removed, nothing else)."""
    for line_no, raw in _lines(handle, limit):
        if isinstance(raw, int):
            yield line_no, _too_long(raw, limit)
            continue
        try:
            text = _decode(raw).rstrip("\r\n")
        except RowError as exc:
            yield line_no, exc
            continue
        if line_no == 1:
            text = text.lstrip("\ufeff")
        if text.strip():
            yield line_no, {TEXT_FIELD: text}


def _array_records(path: str | Path, handle: Any) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """A JSON array of objects; each element's line is where it starts. A broken array (no way to
    find the next element) stops the file with an :class:`InputError` even with skip_invalid."""
    try:
        text = _decode(handle.read()).lstrip("\ufeff")
    except RowError as exc:
        raise InputError(path, None, str(exc)) from None
    decoder = json.JSONDecoder()
    needs_checks = _SURROGATE_ESCAPE.search(text) is not None or text.count("[") + text.count("{") > MAX_DEPTH
    space = re.compile(r"\s*")
    pos = space.match(text, 0).end() + 1  # type: ignore[union-attr]  # past the "["
    line, counted = 1, 0

    def line_at(offset: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, offset)
        counted = offset
        return line

    pos = space.match(text, pos).end()  # type: ignore[union-attr]
    if text.startswith("]", pos):
        return
    while True:
        start, element = line_at(pos), pos
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise InputError(path, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})") from None
        except RecursionError:
            raise InputError(path, start, "invalid JSON: nested too deep") from None
        except ValueError as exc:  # an integer too long to convert
            raise InputError(path, start, f"invalid JSON: {exc}") from None
        try:
            yield start, _check_row(value, text[element:pos] if needs_checks else "")
        except RowError as exc:
            yield start, exc
        pos = space.match(text, pos).end()  # type: ignore[union-attr]
        if text.startswith("]", pos):
            rest = text[pos + 1 :].strip()
            if rest:
                raise InputError(path, line_at(pos), "invalid JSON: extra data after the array")
            return
        if not text.startswith(",", pos):
            raise InputError(path, line_at(pos), "invalid JSON: expected ',' or ']' between array elements")
        pos = space.match(text, pos + 1).end()  # type: ignore[union-attr]


def _parse(raw: bytes) -> dict[str, Any] | None:
    text = _decode(raw)
    text = text.strip().lstrip("\ufeff")  # tolerate a byte-order mark
    if not text:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RowError(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise RowError("invalid JSON: nested too deep") from None
    except ValueError as exc:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise RowError(f"invalid JSON: {exc}") from None
    return _check_row(data, text)


def _check_row(data: Any, text: str) -> dict[str, Any]:
    """``data`` if it is an object with no lone surrogate and no field nested too deep.
    ``text`` is its JSON: the walks run only when it has the escapes or brackets to need them."""
    if not isinstance(data, dict):
        raise RowError(f"expected a JSON object, got {type(data).__name__}")
    check_surrogates = _SURROGATE_ESCAPE.search(text) is not None
    check_depth = text.count("[") + text.count("{") > MAX_DEPTH
    for key, value in data.items():
        if check_depth and _depth(value, MAX_DEPTH) > MAX_DEPTH:
            raise RowError(f"nested more than {MAX_DEPTH} levels deep", str(key))
        if check_surrogates and (_has_lone_surrogate(key) or _has_lone_surrogate(value)):
            raise RowError("contains a lone surrogate (a \\ud800-\\udfff escape), which is not text", str(key))
    return data


def _depth(value: Any, limit: int) -> int:
    """How deep ``value`` nests, counting no further than ``limit + 1``."""
    if limit < 0 or not isinstance(value, (dict, list)) or not value:
        return 0 if not isinstance(value, (dict, list)) else 1
    children = value.values() if isinstance(value, dict) else value
    return 1 + max(_depth(v, limit - 1) for v in children)


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def read_samples(paths: str | Path | Iterable[str | Path], **options: Any) -> list[Sample]:
    """All samples of one or more input files (see :class:`JsonlReader` for the options)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    return [row.sample for row in JsonlReader(list(paths), **options)]

"""The formats an input file may be in, read record by record: what every backend reads, so
they read alike.

Three formats, chosen per file by :func:`file_format`, read by :func:`records` (the local
reader, :class:`~rewardhub.io.JsonlReader`, and the Ray backend's read tasks use it; tested in
``tests/test_io_reader.py`` and ``tests/test_backend_ray_formats.py``):

- **JSONL** (the default): one JSON object per line. Lines are read as bytes with a length cap
  (:func:`lines`), so a runaway 50 MB line is refused without being held in memory, and decoded
  one by one, so invalid UTF-8 is reported where it is. Blank lines are ignored.
- **a JSON array of objects** (a ``.json`` file starting with ``[``, as alpaca_eval ships its
  outputs): each element is a row, and errors name the line where that element starts.
- **plain text** (a ``.txt`` file, as Texygen ships its samples): one response per line.

A record is refused, never half-read (:func:`parse_line`), when its JSON nests too deep, holds
a lone surrogate (``"\\ud800"``, which no UTF-8 file can hold) or an integer too long to convert.
``-`` is standard input and a FIFO a stream (:func:`is_stream`): read once.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rewardhub.io.schema import RowError


class InputError(ValueError):
    """Bad input, reported as ``path:line: [field 'x': ]reason``."""

    def __init__(self, path: str | Path, line: int | None, reason: str, field: str | None = None):
        self.path, self.line, self.reason, self.field = str(path), line, reason, field
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {reason}")


MAX_LINE_BYTES = 32 * 1024 * 1024

STDIN = "-"

_CHUNK = 1 << 20

#: A JSON ``\\uD800``..``\\uDFFF`` escape: only then can a parsed row hold a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")

TEXT_FIELD = "response"

#: Deepest nesting a row's field may have (chat messages with multimodal parts need about 4).
MAX_DEPTH = 64


def is_stream(path: str | Path) -> bool:
    """Whether ``path`` is read as a stream (``-`` or a FIFO): once, and never fingerprinted."""
    if str(path) == STDIN:
        return True
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


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


def _starts_with_bracket(handle: Any) -> bool:
    """Whether the file's first non-space byte is ``[`` (a JSON array), without consuming it."""
    try:
        head = handle.peek(4096)
    except (AttributeError, OSError):
        return False
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")


def lines(handle: Any, limit: int) -> Iterator[tuple[int, bytes | int]]:
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
    for line_no, raw in lines(handle, limit):
        try:
            if isinstance(raw, int):
                raise _too_long(raw, limit)
            data = parse_line(raw)
        except RowError as exc:
            yield line_no, exc
            continue
        if data is not None:
            yield line_no, data


def _text_records(handle: Any, limit: int) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """Plain text: each non-blank line is one response (its line break removed, nothing else)."""
    for line_no, raw in lines(handle, limit):
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


def parse_line(raw: bytes) -> dict[str, Any] | None:
    """One raw JSONL line as a row (``None`` for a blank line), or a :class:`RowError` saying why not."""
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

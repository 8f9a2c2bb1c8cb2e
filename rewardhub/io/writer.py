"""Atomic, resumable, locked JSONL output.

Scored rows go first to a journal, ``OUT.partial``, one ``index<TAB>json`` line per row,
flushed, fsynced and committed (an empty line) chunk by chunk, in the order they were scored
(groups may be scored out of input order); only a 12-byte position per row stays in
memory. ``finish()`` writes the rows in input order to ``OUT.tmp``, then the provenance
sidecar (which records the output's SHA-256), then renames ``OUT.tmp`` over ``OUT``: ``OUT`` is
either the previous file or the complete new one, and after that final rename the sidecar
always describes it. Until then the journal stays, so a kill at any moment leaves a run that
``--resume`` finishes.

A killed run leaves the journal. ``--resume`` reads it back (a torn last line is cut off), checks
that input and configuration are unchanged (the fingerprint in ``OUT.partial.meta.json``) and
scores only the rows that are missing, so the final file is identical to an uninterrupted run.
Every complete line is checked as it is read: ``INDEX<TAB>JSON object``, an index below the
number of input rows (``max_rows``, so a damaged index allocates nothing beyond the rows), no
row twice; a bad line is a :class:`ResumeError` naming ``journal:line`` and what is wrong
(tested in ``tests/test_journal_validation.py``).

:func:`check_output` refuses, before any work, an ``-o`` that is not a regular file (a
directory, a device), that is one of the inputs, or whose directory is missing or read-only.
:func:`output_lock` holds an advisory lock (``OUT.lock``, through the ``filelock`` package) for
the whole run, so a second run on the same ``-o`` is refused; the operating system drops the
lock when its process dies, so a killed run never blocks ``--resume``. A write that fails (a full
disk) is an :class:`OutputError` that leaves no ``OUT.tmp`` and keeps the journal resumable.
Tested in ``tests/test_cli_subprocess.py`` and ``tests/test_eval_output.py``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
from array import array
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, NoReturn

from rewardhub.io.reader import is_stream


class ResumeError(ValueError):
    """A journal that cannot be resumed (input or configuration changed)."""


class OutputError(Exception):
    """The output cannot be written: a bad ``-o``, a run already writing it, a full disk."""


def dumps(row: dict[str, Any]) -> str:
    """One output line: UTF-8 kept readable, deterministic for equal input, never NaN."""
    try:
        return json.dumps(row, ensure_ascii=False, separators=(", ", ": "), allow_nan=False, default=_plain)
    except ValueError:  # a NaN in some plugin's info: write it as null rather than invalid JSON
        return json.dumps(_finite(row), ensure_ascii=False, separators=(", ", ": "), default=_plain)


def _plain(value: Any) -> Any:
    """numpy scalars and arrays, and anything else, as plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _encode(text: str) -> bytes:
    """UTF-8; a lone surrogate some plugin put in its info is written as its JSON escape."""
    return text.encode("utf-8", "backslashreplace")


def companion(path: str | Path, suffix: str) -> Path:
    """``OUT`` + ``suffix``: the journal (``.partial``), ``.tmp``, the ``.lock`` file."""
    path = Path(path)
    return path.with_name(path.name + suffix)


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_output(path: str | Path, inputs: Sequence[str | Path] = (), also: Sequence[Path] = ()) -> Path:
    """``path`` as an output, or an :class:`OutputError` saying why it cannot be one.

    ``also`` are the other files the run writes (the sidecar): none may be an input either.
    """
    if str(path) == "-":
        raise OutputError("-o -: the output must be a file (stdout carries the summary)")
    out = Path(path)
    for candidate in (out, companion(out, ".partial"), companion(out, ".tmp"), *also):
        _refuse_non_regular(candidate)
    parent = out.parent
    if not parent.is_dir():
        raise OutputError(f"{out}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{out}: the directory {parent} is not writable")
    written = [out, companion(out, ".partial"), companion(out, ".tmp"), *also]
    for source in inputs:
        if is_stream(source):
            continue
        for target in written:
            if target.exists() and os.path.samefile(source, target):
                raise OutputError(f"{target}: is also an input of this run; write the results to another file")
    return out


def _refuse_non_regular(path: Path) -> None:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"{path}: {_why(exc)}") from None
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise OutputError(f"{path}: is {kind}; -o must name a regular file (or one to create)")


@contextmanager
def output_lock(path: str | Path) -> Iterator[Path]:
    """Hold the advisory lock of output ``path`` (``OUT.lock``) for the block, or refuse."""
    lock_path = companion(path, ".lock")
    try:  # create it ourselves first: a read-only directory is its own error, not "locked"
        os.close(os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o644))
    except OSError as exc:
        raise OutputError(f"{path}: cannot create the lock file {lock_path}: {_why(exc)}") from None
    from filelock import FileLock, Timeout  # imported here: the CLI's start-up stays light

    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise OutputError(
            f"{path}: another rewardhub run is writing this output (it holds {lock_path.name}); "
            "wait for it to finish, or choose another -o"
        ) from None
    try:
        yield lock_path
    finally:
        lock.release()


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and a rename."""
    tmp = companion(path, ".tmp")
    try:
        tmp.write_bytes(_encode(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"))
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write: {_why(exc)}") from None


def has_committed_rows(journal: str | Path) -> bool:
    """Whether ``journal`` holds at least one committed row (a row line, then the empty line
    that commits its chunk): what an interrupted run may say it kept for ``--resume``."""
    try:
        with open(journal, "rb") as handle:
            last = b""
            while block := handle.read(1 << 20):
                if b"\n\n" in last + block:
                    return True
                last = block[-1:]
    except OSError:
        return False
    return False


class ResumableWriter:
    """Journals scored rows for ``path`` and writes them out atomically, in input order.

    Memory is O(1) per row's *text*: the journal lives on disk, and the writer keeps only where
    each row's line starts in it and how long it is (12 bytes per row, :class:`JournalIndex`).
    Each :meth:`write` is one chunk, committed by an empty line after its rows: a kill in the
    middle of a chunk leaves rows without their commit, which a resume cuts off with it, so a
    group is never half journaled. ``--resume`` streams the journal once to rebuild the index.
    """

    def __init__(
        self, path: str | Path, fingerprint: dict[str, Any], *, resume: bool = False, max_rows: int | None = None
    ):
        self.path = Path(path)
        self.journal = companion(self.path, ".partial")
        self.journal_meta = companion(self.path, ".partial.meta.json")
        self.fingerprint = fingerprint
        self.max_rows = max_rows  # the input's rows at most: a journaled index must be below it
        self.index = JournalIndex()
        try:
            if resume and self.journal.exists():
                self._load()
            else:
                self.journal.unlink(missing_ok=True)
                write_json_atomic(self.journal_meta, fingerprint)
            self._handle = self.journal.open("ab")
            self._end = self._handle.seek(0, os.SEEK_END)
        except OSError as exc:
            raise OutputError(f"{self.journal}: {_why(exc)}") from None

    def _load(self) -> None:
        try:
            previous = json.loads(self.journal_meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = None
        if previous != json.loads(json.dumps(self.fingerprint, default=str)):
            changed = _changed(previous, self.fingerprint)
            raise ResumeError(
                f"{self.journal}: cannot resume: {changed} changed since that run; "
                "run again without --resume to start over"
            )
        committed = position = 0
        pending: dict[int, tuple[int, int]] = {}
        with self.journal.open("rb") as handle:
            for line_no, raw in enumerate(handle, 1):
                if not raw.endswith(b"\n"):
                    break  # torn by the kill: cut off below
                if raw == b"\n":  # the chunk's commit
                    for index, (start, length) in pending.items():
                        self.index.add(index, start, length)
                    pending.clear()
                    committed = position + 1
                else:
                    index, offset, length = self._entry(raw, line_no)
                    if index in pending or self.index.has(index):
                        self._damaged(line_no, f"row {index} is journaled twice")
                    pending[index] = (position + offset, length)
                position += len(raw)
        with self.journal.open("r+b") as handle:
            handle.truncate(committed)  # rows of an uncommitted chunk are scored again

    def _entry(self, raw: bytes, line_no: int) -> tuple[int, int, int]:
        """``(index, offset of the row in the line, row length)`` of a journal line, checked."""
        tab = raw.find(b"\t")
        if tab < 0:
            self._damaged(line_no, "no tab: a journal line is the row's index, a tab, then the row's JSON")
        text = raw[:tab]
        if not text.isdigit() or len(text) > 18:
            shown = text[:20].decode("utf-8", "backslashreplace")
            self._damaged(line_no, f"the row index {shown!r} is not a row number")
        index = int(text)
        if self.max_rows is not None and index >= self.max_rows:
            self._damaged(line_no, f"row index {index} is past the input's {self.max_rows} rows")
        data = raw[tab + 1 : -1]
        if len(data) >= 2**31:
            self._damaged(line_no, f"the row is {len(data)} bytes long, over the 2 GiB a row may take")
        try:
            row = json.loads(data)
        except (ValueError, RecursionError) as exc:
            self._damaged(line_no, f"the row is not valid JSON ({str(exc).splitlines()[0][:80]})")
        if not isinstance(row, dict):
            self._damaged(line_no, f"the row is a JSON {type(row).__name__}, not an object")
        return index, tab + 1, len(data)

    def _damaged(self, line_no: int, what: str) -> NoReturn:
        raise ResumeError(
            f"{self.journal}:{line_no}: {what}; the journal is damaged: run again without --resume to start over"
        )

    def is_done(self, index: int) -> bool:
        """Whether row ``index`` is journaled (committed)."""
        return self.index.has(index)

    def journaled(self) -> Iterator[tuple[int, str]]:
        """``(index, line)`` of every committed row, streamed from the journal."""
        with self.journal.open("rb") as handle:
            for index, start, length in self.index.entries():
                handle.seek(start)
                yield index, handle.read(length).decode("utf-8")

    def write(self, rows: Iterable[tuple[int, dict[str, Any]]]) -> None:
        """Journal one chunk of scored rows (fsynced, then committed)."""
        parts, entries = [], []
        position = self._end
        for index, row in rows:
            prefix = f"{index}\t".encode()
            data = _encode(dumps(row))
            entries.append((index, position + len(prefix), len(data)))
            parts += [prefix, data, b"\n"]
            position += len(prefix) + len(data) + 1
        if not entries:
            return
        parts.append(b"\n")  # the commit
        try:
            self._handle.write(b"".join(parts))
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as exc:
            raise OutputError(
                f"{self.journal}: cannot write: {_why(exc)}; the rows journaled so far are kept: "
                "make room and re-run with --resume"
            ) from None
        self._end = position + 1
        for entry in entries:
            self.index.add(*entry)

    def finish(self, total: int, sidecar: Path, document: dict[str, Any]) -> None:
        """Write all ``total`` rows to ``path`` in input order, atomically, with the ``sidecar``.

        Order: ``OUT.tmp`` (fsynced), the sidecar ``document`` plus the output's hash, the
        rename over ``OUT``, and only then the journal is dropped. Rows are copied from the
        journal by their recorded positions (sequential reads when it is in input order).
        """
        self._close_handle()
        missing = self.index.missing(total)
        if missing is not None:
            raise RuntimeError(f"{self.index.count_missing(total)} rows were never scored (first: {missing})")
        tmp = companion(self.path, ".tmp")
        try:
            digest = hashlib.sha256()
            with tmp.open("wb") as out, self.journal.open("rb") as journal:
                starts, lengths = self.index.starts, self.index.lengths
                for i in range(total):
                    journal.seek(int(starts[i]))
                    data = journal.read(int(lengths[i]) + 1)  # the line and its newline
                    digest.update(data)
                    out.write(data)
                out.flush()
                os.fsync(out.fileno())
            output = {"path": self.path.name, "sha256": digest.hexdigest(), "rows": total}
            write_json_atomic(sidecar, {**document, "output": output})
            os.replace(tmp, self.path)
        except (OSError, OutputError) as exc:
            why = _why(exc) if isinstance(exc, OSError) else str(exc)
            raise OutputError(
                f"{self.path}: cannot write: {why}; the scored rows are kept in {self.journal.name}: "
                "make room and re-run with --resume"
            ) from None
        finally:
            tmp.unlink(missing_ok=True)  # gone after the rename; a leftover of a failure otherwise
        self.journal.unlink(missing_ok=True)
        self.journal_meta.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop without finishing: the journal stays for ``--resume``."""
        self._close_handle()

    def _close_handle(self) -> None:
        with suppress(OSError):  # the flush of a full disk: what was fsynced before stays
            self._handle.close()


class JournalIndex:
    """Where each row's line starts in the journal and how long it is, by row index: two
    typed arrays (stdlib ``array``: no numpy on the row path) grown by doubling (12 bytes per
    row; -1: not journaled)."""

    def __init__(self) -> None:
        self.starts = array("q", [-1]) * 1024
        self.lengths = array("i", [0]) * 1024

    def add(self, index: int, start: int, length: int) -> None:
        if index >= len(self.starts):
            grow = max(index + 1, 2 * len(self.starts)) - len(self.starts)
            self.starts.extend(array("q", [-1]) * grow)
            self.lengths.extend(array("i", [0]) * grow)
        self.starts[index], self.lengths[index] = start, length

    def has(self, index: int) -> bool:
        return index < len(self.starts) and self.starts[index] >= 0

    def entries(self) -> Iterator[tuple[int, int, int]]:
        lengths = self.lengths
        for index, start in enumerate(self.starts):
            if start >= 0:
                yield index, start, lengths[index]

    def missing(self, total: int) -> int | None:
        """The first of rows ``0..total-1`` not journaled, or ``None``."""
        with suppress(ValueError):
            return self.starts.index(-1, 0, total)
        return len(self.starts) if len(self.starts) < total else None

    def count_missing(self, total: int) -> int:
        return self.starts[:total].count(-1) + max(0, total - len(self.starts))


def _changed(previous: Any, current: dict[str, Any]) -> str:
    """Which part of the fingerprint differs, in words, for the refusal message."""
    if not isinstance(previous, dict):
        return "the journal's record of its run is missing or unreadable, so it"
    current = json.loads(json.dumps(current, default=str))
    names = {"inputs": "the input files", "fields": "the input layout", "config": "the configuration"}
    parts = [names.get(k, k) for k in current if previous.get(k) != current.get(k)]
    config_keys = [
        k for k in current.get("config", {}) if (previous.get("config") or {}).get(k) != current["config"].get(k)
    ]
    if config_keys:
        parts = [p for p in parts if p != "the configuration"] + [f"the configuration ({', '.join(config_keys)})"]
    return " and ".join(parts) or "the run"

"""Atomic, resumable JSONL output.

Scored rows go first to a journal, ``OUT.partial``, one ``index<TAB>json`` line per row,
flushed and fsynced chunk by chunk, in the order they were scored (groups may be scored out of
input order). ``finish()`` writes the rows in input order to ``OUT.tmp`` and renames it over
``OUT``, so ``OUT`` is either the previous file or the complete new one, never half written.

A killed run leaves the journal. ``--resume`` reads it back (a torn last line is cut off), checks
that input and configuration are unchanged (the fingerprint in ``OUT.partial.meta.json``) and
scores only the rows that are missing, so the final file is identical to an uninterrupted run.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class ResumeError(ValueError):
    """A journal that cannot be resumed (input or configuration changed)."""


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


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class ResumableWriter:
    """Collects scored rows for ``path`` in a journal and writes them out atomically."""

    def __init__(self, path: str | Path, fingerprint: dict[str, Any], *, resume: bool = False):
        self.path = Path(path)
        self.journal = self.path.with_name(self.path.name + ".partial")
        self.journal_meta = self.path.with_name(self.path.name + ".partial.meta.json")
        self.fingerprint = fingerprint
        self.done: dict[int, str] = {}
        if resume and self.journal.exists():
            self._load()
        else:
            self.journal.unlink(missing_ok=True)
            write_json_atomic(self.journal_meta, fingerprint)
        self._handle = self.journal.open("a", encoding="utf-8")

    def _load(self) -> None:
        try:
            previous = json.loads(self.journal_meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = None
        if previous != json.loads(json.dumps(self.fingerprint, default=str)):
            raise ResumeError(
                f"{self.journal}: cannot resume: the input files or the configuration changed since that run; "
                "run again without --resume to start over"
            )
        good = 0
        with self.journal.open("rb") as handle:
            for raw in handle:
                if not raw.endswith(b"\n"):
                    break  # torn by the kill: cut off below
                index, _, line = raw.decode("utf-8").rstrip("\n").partition("\t")
                self.done[int(index)] = line
                good += len(raw)
        with self.journal.open("r+b") as handle:
            handle.truncate(good)

    def forget(self, indices: Iterable[int]) -> None:
        """Drop journaled rows that must be scored again (part of an unfinished group)."""
        for i in indices:
            self.done.pop(i, None)

    def write(self, rows: Iterable[tuple[int, dict[str, Any]]]) -> None:
        lines = []
        for index, row in rows:
            line = dumps(row)
            self.done[index] = line
            lines.append(f"{index}\t{line}\n")
        self._handle.write("".join(lines))
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def finish(self, total: int) -> None:
        """Write all ``total`` rows to ``path`` in input order, atomically, and drop the journal."""
        self._handle.close()
        missing = [i for i in range(total) if i not in self.done]
        if missing:
            raise RuntimeError(f"{len(missing)} rows were never scored (first: {missing[0]})")
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as out:
            for i in range(total):
                out.write(self.done[i] + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        self.journal.unlink(missing_ok=True)
        self.journal_meta.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop without finishing: the journal stays for ``--resume``."""
        self._handle.close()

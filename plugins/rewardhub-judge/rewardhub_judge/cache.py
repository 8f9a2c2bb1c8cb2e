"""The judge's on-disk cache: a SQLite file of endpoint answers, so a re-run calls nothing twice.

The key is a SHA-256 over what decides the answer: the endpoint's model, the rubric's name and
version, the sampling parameters (temperature, max_tokens, the structured-output mode, extra
body fields, the repeat's index) and the exact messages (so the judged prompt, response and
reference). The endpoint's address and the API key are not part of it (the same model behind
another address answers the same; the key is never written anywhere). What is stored is the
endpoint's answer (the reply's text, finish reason and token usage), not the verdict read from
it, so a better reader applies to cached answers too. Only answers are stored: a failed call
(HTTP 500, a timeout, an unspent budget) is not, and is asked again next time.

Several processes may share one file (two ``eval`` runs, a ``compare`` beside them): the file
is in WAL mode (readers never block the writer) with a busy timeout, so a process waits for
another's short write instead of failing. Tested with two real processes in
``tests/test_judge_cache.py``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

#: How long a process waits for another's write before giving up (seconds).
BUSY_TIMEOUT = 60.0
SCHEMA = "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, answer TEXT NOT NULL, created REAL NOT NULL)"


def default_path() -> Path:
    """``judge-cache.sqlite3`` in the user's cache directory (platformdirs)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("rewardhub")) / "judge-cache.sqlite3"


def cache_key(**parts: Any) -> str:
    """The key of one request: SHA-256 of its parts as canonical JSON."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class AnswerCache:
    """Endpoint answers by key, in the SQLite file at ``path`` (created with its folder)."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
        self._retrying(lambda: self._db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}"))
        self._retrying(lambda: self._db.execute("PRAGMA journal_mode = WAL"))
        self._retrying(lambda: self._db.execute("PRAGMA synchronous = NORMAL"))
        self._retrying(lambda: self._db.execute(SCHEMA))

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._retrying(
                lambda: self._db.execute("SELECT answer FROM answers WHERE key = ?", (key,)).fetchone()
            )
        if row is None:
            return None
        try:
            answer = json.loads(row[0])
        except ValueError:
            return None  # a damaged entry is a miss: asked again and overwritten
        return answer if isinstance(answer, dict) else None

    def put(self, key: str, answer: dict[str, Any]) -> None:
        text = json.dumps(answer, ensure_ascii=False)
        with self._lock:
            self._retrying(
                lambda: self._db.execute(
                    "INSERT OR REPLACE INTO answers (key, answer, created) VALUES (?, ?, ?)", (key, text, time.time())
                )
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _retrying(self, action: Any) -> Any:
        """``action()``, again while another process holds the file past the busy timeout's
        first wait (switching to WAL needs a moment alone with it)."""
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

"""What every trainer adapter shares: building a scorer from what a user passes (local rewards,
or a ``rewardhub serve`` URL), scoring one trainer batch once for all its reward columns, and
the float-only view some trainers need."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rewardhub.adapters.fill import TOTAL_KEY, Policy, fill_rows
from rewardhub.engine import Scorer
from rewardhub.results import ScoreBatch

#: The environment variable adapters read when a trainer gives them no config of their own.
CONFIG_ENV = "REWARDHUB_CONFIG"

#: The environment variable naming a ``rewardhub serve`` to score with (file-based adapters).
URL_ENV = "REWARDHUB_URL"

_CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


def is_config_path(value: Any) -> bool:
    """Whether ``value`` names a config file (rather than reward names)."""
    return isinstance(value, Path) or (
        isinstance(value, str) and (value.endswith(_CONFIG_SUFFIXES) or os.path.isfile(value))
    )


def build_scorer(
    config_or_names: Any = None, *, missing: str | None = None, url: str | None = None, token: str | None = None
) -> Any:
    """A :class:`Scorer` from a config file path, a config dict, or reward names/entries; or,
    with ``url``, a :class:`~rewardhub.remote.RemoteScorer` of that ``rewardhub serve``.

    Accepted: a path to a YAML/JSON config; a dict with a ``rewards`` list (the config file's
    shape); a list of names (``"entropy"``, ``"entropy:0.5"``), config entries or reward
    objects; a comma-separated string of names. ``missing`` overrides the config's policy.
    With ``url`` the server's config decides, and names (if any) pick some of its rewards.
    A scorer already built (a :class:`Scorer` or a :class:`~rewardhub.remote.RemoteScorer`) is
    used as it is.
    """
    if isinstance(config_or_names, Scorer) or _is_remote_scorer(config_or_names):
        return config_or_names
    if url is not None:
        return _remote(config_or_names, url, token)
    if config_or_names is None:
        raise ValueError("rewardhub: no rewards given (names, a config, or url=...)")
    kwargs = {} if missing is None else {"missing": missing}
    if is_config_path(config_or_names):
        return Scorer.from_config(str(config_or_names), **kwargs)
    if isinstance(config_or_names, dict):
        return Scorer.from_config(config_or_names, **kwargs)
    if isinstance(config_or_names, str):
        config_or_names = _split_names(config_or_names)
    return Scorer(list(config_or_names), **kwargs)


def _split_names(names: str) -> list[str]:
    return [part.strip() for part in names.split(",") if part.strip()]


def _is_remote_scorer(value: Any) -> bool:
    remote = sys.modules.get("rewardhub.remote")  # (not imported unless someone built one)
    return remote is not None and isinstance(value, remote.RemoteScorer)


def _remote(names: Any, url: str, token: str | None) -> Any:
    from rewardhub.remote import RemoteScorer

    if is_config_path(names) or isinstance(names, dict):
        raise ValueError("rewardhub: give a config or a url, not both: the server's config decides its rewards")
    if isinstance(names, str):
        names = _split_names(names)
    if names is not None and not all(isinstance(n, str) for n in names):
        raise ValueError("rewardhub: with a url, rewards are picked by name (the server builds them)")
    return RemoteScorer(url, token=token, rewards=None if names is None else list(names))


def scoring_lock(scorer: Any, lock: threading.Lock) -> Any:
    """``lock`` for a local scorer (rewards need not be reentrant); none for a remote one,
    whose calls may overlap (the server batches them)."""
    return lock if isinstance(scorer, Scorer) else contextlib.nullcontext()


def config_key(config_or_names: Any) -> str:
    """A cache key for a config: equal configs share a scorer (and its loaded models)."""
    if isinstance(config_or_names, Path):
        config_or_names = str(config_or_names)
    return json.dumps(config_or_names, sort_keys=True, default=repr)


class ScorerCache:
    """Scorers built once per config and kept for the life of the process (models stay loaded)."""

    def __init__(self) -> None:
        self._scorers: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, config_or_names: Any, missing: str | None = None, url: str | None = None) -> Any:
        key = config_key([config_or_names, missing, url])
        with self._lock:
            if key not in self._scorers:
                self._scorers[key] = build_scorer(config_or_names, missing=missing, url=url)
            return self._scorers[key]

    def clear(self) -> None:
        with self._lock:
            for scorer in self._scorers.values():
                scorer.close()
            self._scorers.clear()


class BatchMemo:
    """Scores a trainer batch once although the trainer asks once per reward column.

    TRL and ms-swift call each reward function in turn with the *same* list objects, so the
    batch is recognised by the identity of those objects. The memo keeps a reference to them,
    so their ids cannot be reused by a later batch while the result is remembered, and it
    forgets the result once every column has been read.
    """

    def __init__(self, columns: int):
        self.columns = columns
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] = ()
        self._value: Any = None
        self._reads = 0

    def _hit(self, key: tuple[Any, ...]) -> bool:
        return len(key) == len(self._key) and all(a is b for a, b in zip(key, self._key, strict=False))

    def get(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """The value for the batch identified by ``key`` (a tuple of objects), computed once."""
        with self._lock:
            if not self._hit(key):
                self._key, self._value, self._reads = key, compute(), 0
            return self._read()

    def lookup(self, key: tuple[Any, ...]) -> Any:
        """The remembered value (an awaitable, for async callers) or ``None``, counting a read."""
        with self._lock:
            return self._read() if self._hit(key) else None

    def store(self, key: tuple[Any, ...], value: Any) -> Any:
        with self._lock:
            self._key, self._value, self._reads = key, value, 0
            return self._read()

    def _read(self) -> Any:
        value = self._value
        self._reads += 1
        if self._reads >= self.columns:  # every column has its copy: let the batch go
            self._key, self._value = (), None
        return value


def float_rows(batch: ScoreBatch, fill: Policy = 0.0) -> list[dict[str, float]]:
    """Per sample ``{"score": total, <component>: value, ..., "rewardhub_missing": n}``, floats only.

    For trainers that need a number everywhere (verl, OpenRLHF, slime, NeMo-Gym): a component
    or total without a value becomes what the ``fill`` policy says (:mod:`rewardhub.adapters.fill`:
    0.0 by default, a number, ``"group_mean"`` or ``"raise"``), and ``rewardhub_missing``
    counts the components filled. Every row has the same keys, as batch loggers require.
    """
    rows = [
        {TOTAL_KEY: batch.totals[i], **{name: column[i] for name, column in batch.components.items()}}
        for i in range(len(batch))
    ]
    reasons = ["; ".join(f"{k}: {e}" for k, e in errors.items()) for errors in batch.errors]
    return fill_rows(rows, [s.group_key for s in batch.samples], fill, reasons)


def as_list(value: Any, n: int) -> list[Any]:
    """A per-sample column as a list of length ``n`` (numpy arrays and tuples included)."""
    if value is None:
        return [None] * n
    items = list(value.tolist() if hasattr(value, "tolist") and not isinstance(value, (str, bytes)) else value)
    if len(items) != n:
        raise ValueError(f"expected {n} values, got {len(items)}")
    return items

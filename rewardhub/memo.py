"""Memos bounded by bytes: what every cache in rewardhub and its plugins is built on.

A memo remembers a value computed from a key (a text's tokens, its language, a reward's result
for a sample, an embedding) so that the rewards and metrics of a run asking about the same text
compute it once. Every memo has a budget in **bytes**, not in entries: a count bound lets a few
0.7 MB responses keep gigabytes alive (a server went from 87 to 2,332 MiB that way). The bytes
of an entry are what it keeps alive: the key, the value, and the dict slot; callers pass them to
:meth:`RecentMemo.put` (from above: an overestimate only makes the memo forget sooner), and
:func:`approx_bytes` estimates them for values of the usual shapes.

:class:`RecentMemo` keeps two generations instead of LRU bookkeeping (a hit costs one or two
dict lookups, nothing moves): entries go into the new generation until it holds ``size`` entries
(when given) or half the byte budget; then it becomes the old one and the old one is dropped. So
the memo never holds more than its budget (the two halves), always holds at least the entries of
the last half budget (and last ``size`` entries) put, and a hit in the old generation is not
moved: reading a set of texts a second time, in any order, finds every one of them as long as
the set fits in a generation. An entry larger than half the budget is not kept at all.

Budgets default per memo (see ``docs/caches.md``) and can be changed with the environment
variable ``REWARDHUB_<NAME>_MB`` (mebibytes, read when the memo is created; ``0`` turns it off)
or by the ``max_bytes`` argument. Tested in ``tests/test_memo_bytes.py``.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

MiB = 1 << 20
#: Bytes a dict entry costs beyond its key and value, from above: the hash, key and value slots
#: (24), the index (8) and the spare room of a table that has just grown (x2), rounded up.
ENTRY_OVERHEAD = 100
#: The default budget of a memo made without one.
DEFAULT_BYTES = 16 * MiB

_MISSING: Any = object()
_ATOMS = frozenset({str, bytes, bytearray, int, float, bool, type(None)})


def budget(name: str, default: int) -> int:
    """``default`` bytes, or ``REWARDHUB_<NAME>_MB`` mebibytes when that variable is set.

    A value that is not a non-negative number is an error naming the variable.
    """
    variable = f"REWARDHUB_{name.upper()}_MB"
    raw = os.environ.get(variable)
    if raw is None or not raw.strip():
        return default
    try:
        mib = float(raw)
    except ValueError:
        raise ValueError(f"{variable}={raw!r}: expected a number of mebibytes (MiB), e.g. 128") from None
    if not mib >= 0:
        raise ValueError(f"{variable}={raw!r}: expected a number of mebibytes >= 0")
    return int(mib * MiB)


def approx_bytes(value: Any, depth: int = 4) -> int:
    """The bytes ``value`` keeps alive, estimated: exact for strings, bytes and numbers;
    containers, dataclasses and objects with a ``__dict__`` add their items (to ``depth``
    levels; an object shared by two items counts twice); numpy arrays count their buffer."""
    size = sys.getsizeof(value)
    kind = type(value)
    if kind in _ATOMS or depth <= 0 or isinstance(value, (str, bytes, bytearray, int, float)):
        return size
    if isinstance(value, (tuple, list, set, frozenset)):
        return size + sum([approx_bytes(item, depth - 1) for item in value])
    if isinstance(value, dict):
        return size + sum(approx_bytes(k, depth - 1) + approx_bytes(v, depth - 1) for k, v in value.items())
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):  # numpy arrays (a view counts the bytes it shows)
        return size + nbytes
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        attributes = sys.getsizeof(value.__dict__) if hasattr(value, "__dict__") else 0
        fields = dataclasses.fields(value)
        return size + attributes + sum(approx_bytes(getattr(value, f.name, None), depth - 1) for f in fields)
    fields = getattr(value, "__dict__", None)
    if isinstance(fields, dict):
        return size + approx_bytes(fields, depth - 1)
    return size


class RecentMemo(Generic[K, V]):
    """Values of the keys put lately, within ``max_bytes`` (and, with ``size``, at least the
    last ``size`` entries, at most twice that): see the module doc.

    ``sizeof(key, value)`` gives an entry's bytes when :meth:`put` is not told them (default:
    :func:`approx_bytes` of both plus :data:`ENTRY_OVERHEAD`).
    """

    def __init__(
        self,
        size: int | None = None,
        *,
        max_bytes: int = DEFAULT_BYTES,
        sizeof: Callable[[K, V], int] | None = None,
    ):
        if size is not None and size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.size = size
        self.max_bytes = int(max_bytes)
        self._half, self._count = self.max_bytes // 2, size or sys.maxsize
        self._sizeof = sizeof or _entry_bytes
        self._new: dict[K, V] = {}
        self._old: dict[K, V] = {}
        self._new_bytes = 0
        self._old_bytes = 0
        self._lock = threading.Lock()

    @property
    def generation_bytes(self) -> int:
        """The most bytes one generation holds: half the budget."""
        return self.max_bytes // 2

    @property
    def nbytes(self) -> int:
        """The bytes the memo holds now, as accounted (never more than ``max_bytes``)."""
        return self._new_bytes + self._old_bytes

    def __len__(self) -> int:
        return len(self._new) + len(self._old)

    def __contains__(self, key: K) -> bool:
        return key in self._new or key in self._old

    def get(self, key: K, default: Any = None) -> Any:
        """The value put for ``key``, or ``default`` when it is not remembered."""
        value = self._new.get(key, _MISSING)
        if value is _MISSING:
            return self._old.get(key, default)
        return value

    def put(self, key: K, value: V, nbytes: int | None = None) -> bool:
        """Remember ``value`` for ``key``; ``nbytes``: what the entry keeps alive (default:
        ``sizeof``). Returns whether it is kept (not when larger than half the budget)."""
        cost = self._sizeof(key, value) if nbytes is None else nbytes
        if cost > self._half:
            return False
        with self._lock:
            if self._new_bytes + cost > self._half or len(self._new) >= self._count:
                self._old, self._new = self._new, {}
                self._old_bytes, self._new_bytes = self._new_bytes, 0
            self._new[key] = value
            self._new_bytes += cost
        return True

    def put_many(self, entries: Iterable[tuple[K, V, int]]) -> None:
        """:meth:`put` of each ``(key, value, nbytes)``, taking the lock once."""
        half, count = self._half, self._count
        with self._lock:
            new, new_bytes = self._new, self._new_bytes
            for key, value, cost in entries:
                if cost > half:
                    continue
                if new_bytes + cost > half or len(new) >= count:
                    self._old, self._old_bytes = new, new_bytes
                    new, new_bytes = {}, 0
                    self._new = new
                new[key] = value
                new_bytes += cost
            self._new_bytes = new_bytes

    def clear(self) -> None:
        with self._lock:
            self._new, self._old = {}, {}
            self._new_bytes = self._old_bytes = 0

    def __repr__(self) -> str:
        return f"<RecentMemo {len(self)} entries, {self.nbytes} of {self.max_bytes} bytes>"


def _entry_bytes(key: Any, value: Any) -> int:
    return approx_bytes(key) + approx_bytes(value) + ENTRY_OVERHEAD


def key_bytes(key: tuple) -> int:
    """:func:`approx_bytes` of a tuple key, fast where its parts are strings (a sample's texts)."""
    return sys.getsizeof(key) + sum([sys.getsizeof(p) if type(p) is str else approx_bytes(p, 3) for p in key])


__all__ = ["DEFAULT_BYTES", "ENTRY_OVERHEAD", "MiB", "RecentMemo", "approx_bytes", "budget", "key_bytes"]

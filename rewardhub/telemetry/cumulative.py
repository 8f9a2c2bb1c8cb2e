"""The run directory's cumulative state (``cumulative.bin``): the distinct-n sketch of every
completion recorded so far, the n-gram totals and the last step, shared by every recorder.

Written in place under the run directory's lock (creating or renaming a file costs milliseconds
on some filesystems, a write into an existing one a few microseconds): the file has two slots,
each ``[sequence, crc32, length, payload]``, written alternately, and a reader takes the valid
slot with the higher sequence. A crash in the middle of a write spoils only the slot being
written: the state falls back one step, never to garbage. Tested in
``tests/test_telemetry_recorder.py``.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

from rewardhub.lazy import np
from rewardhub.telemetry.sketch import REGISTERS, DistinctSketch

_HEADER = struct.Struct("<qIq")  # sequence, crc32 of the payload, payload length


def _payload(sketch: DistinctSketch, last_step: int) -> bytes:
    head = np.array([len(sketch.orders), *sketch.orders, sketch.completions, last_step], dtype=np.int64)
    return head.tobytes() + sketch.totals.astype(np.int64).tobytes() + sketch.registers.tobytes()


def _parse(payload: bytes) -> tuple[DistinctSketch, int]:
    count = int(np.frombuffer(payload, dtype=np.int64, count=1)[0])
    head = np.frombuffer(payload, dtype=np.int64, count=count + 3)
    sketch = DistinctSketch(tuple(int(k) for k in head[1 : count + 1]))
    sketch.completions, last_step = int(head[count + 1]), int(head[count + 2])
    offset = (count + 3) * 8
    sketch.totals = np.frombuffer(payload, dtype=np.int64, count=count, offset=offset).copy()
    registers = np.frombuffer(payload, dtype=np.uint8, offset=offset + count * 8)
    sketch.registers = registers.reshape(count, REGISTERS).copy()
    return sketch, last_step


class CumulativeFile:
    """``load()`` and ``save()`` of the state; call both under the run directory's lock."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._cached: tuple[int, DistinctSketch, int] | None = None  # (sequence, state, last step)
        self._slot_size = 0

    def _headers(self, handle) -> list[tuple[int, int, int, int]]:
        """``(sequence, crc, length, offset)`` of each slot present."""
        size = os.fstat(handle.fileno()).st_size
        slots = []
        if size >= _HEADER.size:
            handle.seek(0)
            first = _HEADER.unpack(handle.read(_HEADER.size))
            slot = _HEADER.size + first[2]
            slots.append((*first, 0))
            if size >= 2 * slot:
                handle.seek(slot)
                slots.append((*_HEADER.unpack(handle.read(_HEADER.size)), slot))
        return slots

    def load(self, orders: tuple[int, ...]) -> tuple[DistinctSketch, int]:
        """The newest valid state (a fresh one where there is none); this process's own copy
        when nobody wrote since it saved."""
        if not self.path.exists():
            return DistinctSketch(orders), 0
        with open(self.path, "rb") as handle:
            for sequence, crc, length, offset in sorted(self._headers(handle), reverse=True):
                if self._cached is not None and self._cached[0] == sequence:
                    return self._cached[1], self._cached[2]
                handle.seek(offset + _HEADER.size)
                payload = handle.read(length)
                if len(payload) == length and zlib.crc32(payload) == crc:
                    sketch, last_step = _parse(payload)
                    self._cached = (sequence, sketch, last_step)
                    return sketch, last_step
        return DistinctSketch(orders), 0

    def save(self, sketch: DistinctSketch, last_step: int) -> None:
        payload = _payload(sketch, last_step)
        slot = _HEADER.size + len(payload)
        mode = "r+b" if self.path.exists() else "w+b"
        with open(self.path, mode) as handle:
            slots = self._headers(handle)
            valid = [s for s in slots if s[2] == len(payload)]
            sequence = max((s[0] for s in valid), default=0) + 1
            if len(valid) == 2:
                offset = min(valid)[3]  # the slot not holding the newest state
            elif valid:
                offset = slot if valid[0][3] == 0 else 0  # the other slot than the one valid state
            if not valid:  # a new file (or another shape): lay both slots out
                handle.truncate(0)
                handle.seek(0)
                handle.write(_HEADER.pack(0, 0, len(payload)) + bytes(len(payload)))
                handle.write(_HEADER.pack(0, 0, len(payload)) + bytes(len(payload)))
                offset = 0
            handle.seek(offset)
            handle.write(_HEADER.pack(sequence, zlib.crc32(payload), len(payload)) + payload)
        self._cached = (sequence, sketch, last_step)

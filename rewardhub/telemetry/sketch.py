"""Cumulative distinct-n over every completion of a run, in bounded memory.

Exact distinct-n keeps one 8-byte hash per distinct n-gram (:class:`rewardhub.metrics.distinct.DistinctState`):
a long run's completions grow that without bound. The cumulative curve instead keeps, per
n-gram order, a HyperLogLog sketch of the same 64-bit n-gram hashes (Flajolet et al. 2007)
with ``2**14`` one-byte registers (16 KiB per order, whatever the run's length) read with
Ertl's improved estimator (arXiv 1702.01284: no bias tables, accurate from a handful of
n-grams up), and the exact n-gram total. Distinct-n is the estimated distinct count over the
exact total: its relative standard error is about ``1.04 / sqrt(2**14)`` = 0.8%.

Sketches merge exactly (register-wise maximum), so two processes recording one run, or a run
resumed after a crash, give the cumulative value of all their completions together: the
recorder keeps the merged state in ``RUN_DIR/cumulative.bin``. The n-gram hashes come from the
host's own :class:`~rewardhub.metrics.hashed.HashedChunk`, already 64-bit arrays, so the
sketch is a few vectorized numpy operations per step (the sketch libraries on PyPI take one
item per Python call). Tested in ``tests/test_telemetry_recorder.py`` (against exact
distinct-n on a real corpus, merged across recorders).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rewardhub.lazy import np
from rewardhub.metrics.hashed import HashedChunk

PRECISION = 14
REGISTERS = 1 << PRECISION
#: The relative standard error of the estimate (``1.04 / sqrt(m)``).
RELATIVE_ERROR = 1.04 / math.sqrt(REGISTERS)
METHOD = f"HyperLogLog, 2^{PRECISION} registers, Ertl's estimator: about {RELATIVE_ERROR:.1%} standard error"
_Q = 64 - PRECISION  # hash bits left after the register index


def _bit_length(values: np.ndarray) -> np.ndarray:
    """The bit length of each uint64 (0 for 0), exactly: smear the top bit down, count the bits."""
    x = values.copy()
    for shift in (1, 2, 4, 8, 16, 32):
        x |= x >> np.uint64(shift)
    return np.bitwise_count(x)


def registers_of(hashes: np.ndarray) -> np.ndarray:
    """The HyperLogLog registers of a set of uint64 hashes."""
    registers = np.zeros(REGISTERS, dtype=np.uint8)
    if len(hashes):
        hashes = np.asarray(hashes, dtype=np.uint64)
        index = (hashes >> np.uint64(_Q)).astype(np.intp)
        rest = hashes & np.uint64((1 << _Q) - 1)
        rank = (_Q + 1 - _bit_length(rest)).astype(np.uint8)  # leading zeros of the rest, plus one
        np.maximum.at(registers, index, rank)
    return registers


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        before = z
        z += x * y
        y += y
        if z == before:
            return z


def _tau(x: float) -> float:
    if x in (0.0, 1.0):
        return 0.0
    y, z = 1.0, 1.0 - x
    while True:
        x = math.sqrt(x)
        before = z
        y *= 0.5
        z -= (1.0 - x) ** 2 * y
        if z == before:
            return z / 3.0


def estimate(registers: np.ndarray) -> float:
    """Ertl's improved raw estimator of the number of distinct hashes behind ``registers``."""
    m = len(registers)
    counts = np.bincount(registers, minlength=_Q + 2).astype(float)
    z = m * _tau(1.0 - counts[_Q + 1] / m)
    for k in range(_Q, 0, -1):
        z = 0.5 * (z + counts[k])
    z += m * _sigma(counts[0] / m)
    return m * m / (2.0 * math.log(2.0) * z) if math.isfinite(z) else 0.0


class DistinctSketch:
    """Per n-gram order, a HyperLogLog sketch of the distinct n-grams and their exact total."""

    def __init__(self, orders: Sequence[int] = (1, 2, 3, 4)):
        self.orders = tuple(orders)
        self.registers = np.zeros((len(self.orders), REGISTERS), dtype=np.uint8)
        self.totals = np.zeros(len(self.orders), dtype=np.int64)
        self.completions = 0

    def fold(self, chunk: HashedChunk) -> None:
        """Add the n-grams of a chunk of responses."""
        for row, k in enumerate(self.orders):
            hashes, _ = chunk.grams(k)
            np.maximum(self.registers[row], registers_of(hashes), out=self.registers[row])
            self.totals[row] += len(hashes)
        self.completions += chunk.size

    def merge(self, other: DistinctSketch) -> None:
        if other.orders != self.orders:
            raise ValueError(f"cannot merge sketches of orders {other.orders} into {self.orders}")
        np.maximum(self.registers, other.registers, out=self.registers)
        self.totals += other.totals
        self.completions += other.completions

    def result(self) -> dict[str, float | None]:
        """``distinct_<k>``: estimated distinct n-grams / n-gram total (``None`` without n-grams)."""
        return {
            f"distinct_{k}": min(1.0, estimate(self.registers[row]) / int(self.totals[row]))
            if self.totals[row]
            else None
            for row, k in enumerate(self.orders)
        }

    # -- persistence (the run directory's cumulative.npz) -------------------------------------------

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "orders": np.array(self.orders, dtype=np.int64),
            "registers": self.registers,
            "totals": self.totals,
            "completions": np.array([self.completions], dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> DistinctSketch:
        sketch = cls(tuple(int(k) for k in arrays["orders"]))
        if arrays["registers"].shape != sketch.registers.shape:
            raise ValueError(f"registers of shape {arrays['registers'].shape}, expected {sketch.registers.shape}")
        sketch.registers = arrays["registers"].astype(np.uint8)
        sketch.totals = arrays["totals"].astype(np.int64)
        sketch.completions = int(arrays["completions"][0])
        return sketch

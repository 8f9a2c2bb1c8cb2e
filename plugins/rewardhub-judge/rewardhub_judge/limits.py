"""Request and token rates, and the token budget: what a judge may spend, and when.

- :class:`TokenBucket`: ``per_minute`` units a minute, refilled continuously, holding at most
  one second's worth (``per_minute / 60``, at least one unit), so traffic is smooth: at
  ``requests_per_minute: 60`` a request leaves every second, never 60 at once and then a
  minute's silence (a burst the endpoint would answer with 429s). Waiters are served in
  order. A take larger than the bucket (a long prompt under ``tokens_per_minute``) waits for
  a full bucket and leaves it in debt, which later takes wait off: the long-run rate holds.
  Estimated takes are settled once the real usage is known (:meth:`TokenBucket.settle`).
- :class:`Budget`: ``max_total_tokens``. A request is let through only if, at its worst
  (every prompt byte a token, plus ``max_tokens``), it cannot take the total past the budget
  together with the requests in flight; otherwise it is not sent (``judge: token budget
  spent``). The budget is never overspent, and may stop a little early (by the gap between
  the worst case and the real usage of the last requests).

Both live in the client's event loop (one thread): no locks needed beyond asyncio's.
Tested in ``tests/test_judge_limits.py``; the rate against a real endpoint in
``benchmarks/bench_judge.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


class TokenBucket:
    """``per_minute`` units a minute (see the module doc)."""

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic, sleep: Any = None):
        if not per_minute > 0:
            raise ValueError(f"a rate must be positive, got {per_minute}")
        self.rate = per_minute / 60.0  # units per second
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self.clock = clock
        self.sleep = sleep or asyncio.sleep  # (a simulated clock's, in the tests)
        self.updated = clock()
        self.waited = 0.0  # seconds spent waiting, all takers together
        self._turn = asyncio.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def delay(self, amount: float) -> float:
        """Seconds until ``amount`` may be taken (0 when it may be now)."""
        self._refill()
        need = min(amount, self.capacity)
        short = need - self.level
        return 0.0 if short <= 1e-9 * need else short / self.rate  # (rounding never waits forever)

    def take_now(self, amount: float) -> None:
        self._refill()
        self.level -= amount

    async def take(self, amount: float) -> float:
        """Wait for ``amount`` units and take them; the seconds waited."""
        started = self.clock()
        async with self._turn:  # first come, first served
            while True:
                wait = self.delay(amount)
                if wait <= 0:
                    break
                await self.sleep(wait)
            self.take_now(amount)
        waited = self.clock() - started
        self.waited += waited
        return waited

    def settle(self, estimated: float, actual: float) -> None:
        """Give back (or take more of) the difference once the real amount is known."""
        self._refill()
        self.level = min(self.capacity, self.level + estimated - actual)


class Budget:
    """``max_total_tokens`` (``None``: no limit): reserve the worst case, then settle."""

    def __init__(self, limit: int | None):
        self.limit = limit
        self.spent = 0  # tokens the endpoint reported (or the worst case, where it did not)
        self.reserved = 0  # worst cases of the requests in flight
        self.refused = 0  # requests not sent because they could have overspent

    def reserve(self, worst: int) -> bool:
        if self.limit is not None and self.spent + self.reserved + worst > self.limit:
            self.refused += 1
            return False
        self.reserved += worst
        return True

    def settle(self, worst: int, used: int) -> None:
        self.reserved -= worst
        self.spent += used

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.spent >= self.limit

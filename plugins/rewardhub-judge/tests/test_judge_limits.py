"""The token buckets and the budget, on a simulated clock (exact, instant): a bucket never lets
more through by time T than one second's worth plus ``per_minute * T / 60``, and lets the
full rate through when asked; the budget is never overspent."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rewardhub_judge import limits


class SimulatedClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)  # let other tasks run, as a real sleep does


@pytest.fixture
def clock():
    return SimulatedClock()


def bucket_on(clock: SimulatedClock, per_minute: float) -> limits.TokenBucket:
    return limits.TokenBucket(per_minute, clock=clock, sleep=clock.sleep)


def take_all(bucket: limits.TokenBucket, clock: SimulatedClock, amounts: list[float], tasks: int = 4) -> list[float]:
    """When each take happened, ``tasks`` takers sharing the bucket as the client's requests do."""
    times: list[float] = []
    queue = list(amounts)

    async def taker() -> None:
        while queue:
            amount = queue.pop(0)
            await bucket.take(amount)
            times.append(clock.now)

    async def main() -> None:
        await asyncio.gather(*(taker() for _ in range(tasks)))

    asyncio.run(main())
    return times


def test_sixty_a_minute_is_one_a_second_without_a_burst(clock):
    bucket = bucket_on(clock, 60)
    times = take_all(bucket, clock, [1] * 120)
    assert times[:3] == [0.0, 1.0, 2.0]
    assert sum(t < 60 for t in times) == 60 and sum(t < 120 for t in times) == 120


@settings(max_examples=60, deadline=None)
@given(
    per_minute=st.floats(1, 20_000),
    amounts=st.lists(st.floats(0.5, 5_000), min_size=1, max_size=60),
    tasks=st.integers(1, 8),
)
def test_never_faster_than_the_rate_plus_one_second(per_minute, amounts, tasks):
    clock = SimulatedClock()
    times = take_all(bucket_on(clock, per_minute), clock, list(amounts), tasks)
    rate, capacity = per_minute / 60, max(1.0, per_minute / 60)
    taken = 0.0
    for t, amount in sorted(zip(times, amounts)):  # (order of takes is order of times: FIFO)
        taken += amount
        # everything taken by t, except the last take (which may overdraw a full bucket)
        assert taken - amount <= capacity + rate * t + 1e-6


def test_a_take_larger_than_the_bucket_waits_for_a_full_one_and_leaves_debt(clock):
    bucket = bucket_on(clock, 600)  # 10 a second, holds 10
    times = take_all(bucket, clock, [30, 1, 1], tasks=1)
    assert times[0] == 0.0  # full bucket: the large take goes, 20 in debt
    assert times[1] == pytest.approx(2.1)  # debt paid off, then one unit
    assert times[2] == pytest.approx(2.2)


def test_settle_gives_back_what_an_estimate_took_too_much(clock):
    bucket = bucket_on(clock, 600)
    take_all(bucket, clock, [10], tasks=1)
    bucket.settle(estimated=10, actual=4)
    assert bucket.level == pytest.approx(6)
    bucket.settle(estimated=0, actual=8)
    assert bucket.level == pytest.approx(-2)


def test_a_rate_must_be_positive():
    with pytest.raises(ValueError):
        limits.TokenBucket(0)


@given(worst=st.lists(st.tuples(st.integers(1, 500), st.integers(0, 500)), max_size=40), limit=st.integers(0, 3000))
def test_the_budget_is_never_overspent(worst, limit):
    budget = limits.Budget(limit)
    in_flight = []
    for w, used in worst:
        if budget.reserve(w):
            in_flight.append((w, min(used, w)))
        if len(in_flight) > 2:  # requests end out of order, some still in flight
            w0, u0 = in_flight.pop(0)
            budget.settle(w0, u0)
        assert budget.spent + budget.reserved <= limit
    for w, used in in_flight:
        budget.settle(w, used)
    assert budget.spent <= limit and budget.reserved == 0


def test_no_budget_means_no_limit():
    budget = limits.Budget(None)
    assert all(budget.reserve(10**9) for _ in range(5)) and not budget.exhausted

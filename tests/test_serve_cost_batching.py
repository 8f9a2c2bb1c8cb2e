"""The batcher closes batches by what samples cost (:meth:`rewardhub.Reward.cost`), not only by
their number, keeping its fair slicing, whole groups and deadlines (:mod:`rewardhub.serve.costs`).

A throwaway costed reward stands in for a reward model: each sample costs its response's
length, and one call may cost ``cost_budget`` in all. A gate holds the first call so that
every other request is queued before the next batch is formed, which makes the batches
deterministic.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

import rewardhub
from rewardhub import Sample, Scorer
from rewardhub.serve.batcher import Batcher, DeadlineExceeded


class Costed(rewardhub.Reward):
    """Scores the response's length; a sample costs its length; one call may cost ``budget``."""

    name = "costed"
    batch_size = 10_000
    inputs = ("response", "group")

    def __init__(self, budget: int | None = 10, group_aware: bool = False):
        self.cost_budget = budget
        self.group_aware = group_aware
        self.calls: list[list[Sample]] = []
        self.cost_threads: set[int] = set()
        self.go = threading.Event()
        self.go.set()

    def cost(self, samples):
        self.cost_threads.add(threading.get_ident())
        return [len(s.response) for s in samples]

    def score(self, samples):
        self.calls.append(list(samples))
        self.go.wait(30)
        if self.group_aware:  # each sample: the size of its group as the engine passed it
            sizes: dict = {}
            for s in samples:
                sizes[s.group_key] = sizes.get(s.group_key, 0) + 1
            return [float(sizes[s.group_key]) for s in samples]
        return [float(len(s.response)) for s in samples]

    def call_costs(self) -> list[int]:
        return [sum(len(s.response) for s in call) for call in self.calls]


class Uncosted(Costed):
    """The same reward without the hook: batched by sample count."""

    name = "uncosted"

    def cost(self, samples):
        return None


def held_then_released(reward: Costed, batcher: Batcher, first: list[Sample], rest: list[list[Sample]]):
    """Score ``first`` (held in its call) while ``rest`` are queued, then let everything run."""

    async def main():
        batcher.start()
        reward.go.clear()
        held = asyncio.ensure_future(batcher.score(first))
        while not reward.calls:
            await asyncio.sleep(0.01)
        others = []
        for request in rest:  # one at a time, so they queue in this order (costs are asked first)
            queued = batcher.queued
            others.append(asyncio.ensure_future(batcher.score(request)))
            while batcher.queued < queued + len(request):
                await asyncio.sleep(0.005)
        reward.go.set()
        out = await asyncio.gather(held, *others)
        await batcher.drain()
        return out

    return asyncio.run(main())


def test_batches_close_at_the_cost_budget_where_sample_count_would_not():
    requests = [[Sample(response="abc")] for _ in range(11)]
    costed, uncosted = Costed(budget=10), Uncosted(budget=10)
    got = held_then_released(costed, Batcher(Scorer([costed]), max_batch=64), [Sample("x")], requests)
    assert [b.components["costed"] for b in got] == [[1.0]] + [[3.0]] * 11
    assert [len(call) for call in costed.calls] == [1, 3, 3, 3, 2]  # 3 samples x 3 = 9 <= 10
    assert all(cost <= 10 for cost in costed.call_costs())
    plain = held_then_released(uncosted, Batcher(Scorer([uncosted]), max_batch=64), [Sample("x")], requests)
    assert [len(call) for call in uncosted.calls] == [1, 11]  # the same requests, batched by count
    assert [b.components["uncosted"] for b in plain] == [b.components["costed"] for b in got]


def test_max_batch_still_binds_and_a_sample_over_the_budget_goes_alone():
    reward = Costed(budget=10)
    rest = [[Sample("a")] for _ in range(5)] + [[Sample("x" * 25)]] + [[Sample("b")] for _ in range(3)]
    held_then_released(reward, Batcher(Scorer([reward]), max_batch=4), [Sample("x")], rest)
    sizes = [[len(s.response) for s in call] for call in reward.calls]
    assert sizes == [[1], [1, 1, 1, 1], [1], [25], [1, 1, 1]]


def test_a_big_request_is_sliced_by_cost_and_a_small_one_passes_it():
    reward = Costed(budget=10)
    big = [Sample(f"b{i:02d}") for i in range(30)]  # cost 3 each: slices of 3
    out = held_then_released(reward, Batcher(Scorer([reward]), max_batch=64), [Sample("x")], [big, [Sample("s")]])
    assert out[1].components["costed"] == [3.0] * 30 and out[2].components["costed"] == [1.0]
    assert all(cost <= 10 for cost in reward.call_costs())
    at = next(i for i, call in enumerate(reward.calls) if "s" in {s.response for s in call})
    assert at <= 2 < len(reward.calls) - 1  # after one slice of the big request, long before its end


def test_groups_stay_whole_under_a_budget():
    reward = Costed(budget=10, group_aware=True)
    request = [Sample(f"r{i}", group=f"g{i // 2}") for i in range(10)]  # groups of 2, each costs 4
    (_, whole) = held_then_released(reward, Batcher(Scorer([reward]), max_batch=64), [Sample("x")], [request])
    assert whole.components["costed"] == [2.0] * 10  # every group reached the reward whole
    assert [len(call) for call in reward.calls[1:]] == [4, 4, 2]  # two groups (8) per batch <= 10


def test_max_cost_overrides_the_reward_budget_and_zero_turns_it_off():
    requests = [[Sample("abc")] for _ in range(6)]
    reward = Costed(budget=10)
    held_then_released(reward, Batcher(Scorer([reward]), max_batch=64, max_cost=6), [Sample("x")], requests)
    assert [len(call) for call in reward.calls] == [1, 2, 2, 2]
    off = Costed(budget=10)
    batcher = Batcher(Scorer([off]), max_batch=64, max_cost=0)
    held_then_released(off, batcher, [Sample("x")], requests)
    assert [len(call) for call in off.calls] == [1, 6] and not off.cost_threads

    class Budgeted(rewardhub.Reward):  # a budget but no cost(): nothing to ask
        name, cost_budget = "budgeted", 10

        def score(self, samples):
            return [1.0] * len(samples)

    assert not Batcher(Scorer([Budgeted()])).budgets
    assert not Batcher(Scorer([Costed(budget=None)])).budgets  # a cost() but no budget
    assert Batcher(Scorer([Costed(budget=None)]), max_cost=5).budgets.limits == {"costed": 5}


@pytest.mark.parametrize(
    ("answer", "why"),
    [(RuntimeError("tokenizer gone"), "its cost() failed (RuntimeError: tokenizer gone)"), ([1], "one non-negative")],
)
def test_a_failing_cost_falls_back_to_sample_count_with_one_warning(answer, why, caplog):
    class Broken(Costed):
        def cost(self, samples):
            if isinstance(answer, Exception):
                raise answer
            return answer

    reward = Broken(budget=2)
    requests = [[Sample("abc"), Sample("abd")] for _ in range(3)]
    with caplog.at_level(logging.WARNING, "rewardhub.serve"):
        out = held_then_released(reward, Batcher(Scorer([reward]), max_batch=64), [Sample("x")], requests)
    assert [b.components["costed"] for b in out[1:]] == [[3.0, 3.0]] * 3
    assert [len(call) for call in reward.calls] == [1, 6]
    (record,) = caplog.records
    assert "batching costed by sample count" in record.getMessage() and why in record.getMessage()


def test_costs_are_asked_off_the_event_loop():
    reward = Costed(budget=10)

    async def main():
        batcher = Batcher(Scorer([reward]))
        batcher.start()
        await batcher.score([Sample("abc")])
        await batcher.drain()
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert reward.cost_threads and loop_thread not in reward.cost_threads


def test_deadlines_hold_and_a_late_request_is_never_scored():
    reward = Costed(budget=10)

    async def main():
        batcher = Batcher(Scorer([reward]), max_batch=64)
        batcher.start()
        reward.go.clear()
        held = asyncio.ensure_future(batcher.score([Sample("x")]))
        while not reward.calls:
            await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        with pytest.raises(DeadlineExceeded):
            await batcher.score([Sample("late")], deadline=loop.time() + 0.2)
        reward.go.set()
        await held
        await batcher.drain()

    asyncio.run(main())
    assert all("late" not in [s.response for s in call] for call in reward.calls)

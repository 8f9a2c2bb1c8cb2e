"""The dynamic batcher in-process: requests share batches, groups stay whole and never merge
across requests, identical samples are scored once, the queue is bounded, deadlines hold."""

from __future__ import annotations

import asyncio
import threading

import pytest

import rewardhub
from rewardhub import Sample, Scorer
from rewardhub.serve.batcher import Batcher, DeadlineExceeded, QueueFull, TooLarge


class Recording(rewardhub.Reward):
    """Scores the response's length; records every call's responses and group sizes."""

    name = "recording"
    batch_size = 10_000
    inputs = ("response",)

    def __init__(self, delay: float = 0.0):
        self.calls: list[list[str]] = []
        self.delay = delay
        self.release = threading.Event()

    def score(self, samples):
        self.calls.append([s.response for s in samples])
        if self.delay:
            self.release.wait(self.delay)
        return [float(len(s.response)) for s in samples]


class GroupSizes(rewardhub.Reward):
    """Group-aware: each sample scores the size of its group as the engine passed it."""

    name = "group_sizes"
    batch_size = 10_000
    group_aware = True

    def score(self, samples):
        sizes: dict = {}
        for s in samples:
            sizes[s.group_key] = sizes.get(s.group_key, 0) + 1
        return [float(sizes[s.group_key]) for s in samples]


def run(coro):
    return asyncio.run(coro)


def test_concurrent_requests_share_batches_and_each_gets_its_own_rows():
    reward = Recording(delay=0.2)
    batcher = Batcher(Scorer([reward]), max_batch=64, max_wait_ms=20)

    async def main():
        batcher.start()
        batches = await asyncio.gather(*(batcher.score([Sample(response="x" * (i + 1))]) for i in range(12)))
        await batcher.drain()
        return batches

    batches = run(main())
    assert [b.components["recording"] for b in batches] == [[float(i + 1)] for i in range(12)]
    assert len(reward.calls) < 12 and sum(len(c) for c in reward.calls) == 12


def test_groups_stay_whole_and_never_merge_across_requests():
    scorer = Scorer([GroupSizes()])
    batcher = Batcher(scorer, max_batch=4, max_wait_ms=20)  # a request of 5 goes alone, whole
    first = [Sample(response=f"a{i}", group="g") for i in range(5)]
    second = [Sample(response=f"b{i}", group="g") for i in range(3)]

    async def main():
        batcher.start()
        out = await asyncio.gather(batcher.score(first), batcher.score(second))
        await batcher.drain()
        return out

    a, b = run(main())
    assert a.components["group_sizes"] == [5.0] * 5  # as scoring the request alone gives
    assert b.components["group_sizes"] == [3.0] * 3
    assert a.samples[0] is first[0]  # the caller's samples come back, untouched
    assert first[0].group == "g"


def test_identical_samples_across_requests_are_scored_once():
    reward = Recording()
    batcher = Batcher(Scorer([reward]), max_batch=64, max_wait_ms=50)

    async def main():
        batcher.start()
        out = await asyncio.gather(*(batcher.score([Sample(response="same", prompt=f"p{i}")]) for i in range(6)))
        await batcher.drain()
        return out

    out = run(main())
    assert all(b.components["recording"] == [4.0] for b in out)
    assert sum(len(c) for c in reward.calls) < 6  # "same" scored once per batch, not once per request


def test_full_queue_too_large_request_and_deadline():
    reward = Recording(delay=5.0)
    batcher = Batcher(Scorer([reward]), max_batch=1, max_wait_ms=0, max_queue=2)

    async def main():
        batcher.start()
        busy = asyncio.ensure_future(batcher.score([Sample(response="busy")]))
        while not reward.calls:  # "busy" is being scored
            await asyncio.sleep(0.01)
        waiting = asyncio.ensure_future(batcher.score([Sample(response="w1"), Sample(response="w2")]))
        await asyncio.sleep(0.05)
        with pytest.raises(QueueFull) as full:
            await batcher.score([Sample(response="one more")])
        assert full.value.retry_after >= 1
        with pytest.raises(TooLarge):
            await batcher.score([Sample(response="x")] * 3)
        reward.release.set()  # let the batches finish
        assert (await busy).components["recording"] == [4.0]
        assert (await waiting).components["recording"] == [2.0, 2.0]
        loop = asyncio.get_running_loop()
        with pytest.raises(DeadlineExceeded):
            await batcher.score([Sample(response="late")], deadline=loop.time() - 1)
        await batcher.drain()
        assert ["late"] not in reward.calls  # dropped, never scored

    run(main())


def test_workers_score_batches_at_the_same_time():
    reward = Recording(delay=60.0)  # each call blocks until released
    batcher = Batcher(Scorer([reward]), max_batch=1, max_wait_ms=0, workers=2)

    async def main():
        batcher.start()
        both = asyncio.gather(*(batcher.score([Sample(response=r)]) for r in ("a", "bb")))
        for _ in range(1000):  # the second batch starts while the first is still blocked
            if len(reward.calls) == 2:
                break
            await asyncio.sleep(0.01)
        started = len(reward.calls)
        reward.release.set()
        assert started == 2
        out = await both
        await batcher.drain()
        return out

    a, b = run(main())
    assert a.components["recording"] == [1.0] and b.components["recording"] == [2.0]


class Gate(rewardhub.Reward):
    """Records each call's responses and waits for ``go`` before answering (the test paces it)."""

    name = "gate"
    batch_size = 10_000
    inputs = ("response",)

    def __init__(self, group_aware: bool = False):
        self.group_aware = group_aware
        self.calls: list[list[str]] = []
        self.go = threading.Semaphore(0)
        self.active = self.most_active = 0
        self._count = threading.Lock()

    def score(self, samples):
        with self._count:
            self.calls.append([s.response for s in samples])
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        self.go.acquire(timeout=30)
        with self._count:
            self.active -= 1
        return [float(len(s.response)) for s in samples]


def test_a_small_request_passes_a_big_one_sliced_at_max_batch():
    reward = Gate()
    batcher = Batcher(Scorer([reward]), max_batch=4, max_wait_ms=0)
    big = [Sample(response=f"big{i:02d}") for i in range(20)]

    async def main():
        batcher.start()
        first = asyncio.ensure_future(batcher.score(big))
        while not reward.calls:  # the big request's first slice is being scored
            await asyncio.sleep(0.01)
        second = asyncio.ensure_future(batcher.score([Sample(response="small")]))
        await asyncio.sleep(0.05)
        while not first.done():
            reward.go.release()
            await asyncio.sleep(0.01)
        reward.go.release()
        out = await asyncio.gather(first, second)
        await batcher.drain()
        return out

    whole, small = run(main())
    assert whole.components["gate"] == [5.0] * 20 and whole.samples[0] is big[0]
    assert small.components["gate"] == [5.0]
    assert all(len(call) <= 4 for call in reward.calls)
    at = next(i for i, call in enumerate(reward.calls) if "small" in call)
    assert at <= 2 < len(reward.calls) - 1  # after one more slice of the big request, long before its end


def test_a_group_larger_than_max_batch_has_a_lane_of_its_own():
    reward = Gate(group_aware=True)
    batcher = Batcher(Scorer([reward]), max_batch=4, max_wait_ms=0)
    group = [Sample(response=f"g{i:02d}", group="one") for i in range(10)]

    async def main():
        batcher.start()
        first = asyncio.ensure_future(batcher.score(group))
        while not reward.calls:  # the big group is being scored, and held there
            await asyncio.sleep(0.01)
        second = asyncio.ensure_future(batcher.score([Sample(response="small", group="one")]))
        while len(reward.calls) < 2:  # scored beside it, not after it
            await asyncio.sleep(0.01)
        reward.go.release()
        reward.go.release()
        out = await asyncio.gather(first, second)
        await batcher.drain()
        return out

    whole, small = run(main())
    assert reward.calls[0] == [s.response for s in group] and reward.calls[1] == ["small"]
    assert reward.most_active == 2  # the small request was scored while the big group's call still ran
    assert whole.components["gate"] == [3.0] * 10 and small.components["gate"] == [5.0]

"""The dynamic batcher: one queue for every client's requests, scored together by one Scorer.

Promises (tested in ``tests/test_serve_batcher.py`` in-process and ``tests/test_serve.py`` and
``tests/test_serve_attacks.py`` against the real server):

- a batch closes at ``max_batch`` samples or ``max_wait_ms`` after its first slice, whichever
  comes first;
- a request is cut into *slices* of at most ``max_batch`` samples, at group boundaries when a
  served reward is group-aware (so its groups stay whole), and batches take slices from the
  waiting requests in turn (round-robin): a small request waits for the batches being scored
  and at most one slice of each request ahead of it in the turn, never for a whole big request;
- a group larger than ``max_batch`` is a slice of its own, scored in a lane of its own (one at
  a time, beside the ordinary batches), so it never holds up the others;
- the samples of all slices in a batch go to :meth:`Scorer.score` in one call, so identical
  samples are scored once across requests and rewards run concurrently as the engine does;
- groups are namespaced by request: two clients' groups never merge, even with the same name,
  so a request's results equal scoring its samples alone (what ``eval`` does with a file);
- at most ``max_queue`` samples wait; one more is refused with :class:`QueueFull` (the server's
  503 + ``Retry-After``), never queued without bound; a request of more than
  ``max_request`` samples (or ``max_queue``) is refused with :class:`TooLarge` (413);
- a request whose deadline passes is answered :class:`DeadlineExceeded` (the server's 504) at
  its deadline, even while a slow call runs, and its slices not yet scored are dropped;
- :meth:`Batcher.drain` scores everything already queued, then stops (within its timeout).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rewardhub.engine import Scorer
from rewardhub.results import ScoreBatch
from rewardhub.types import Sample


class QueueFull(Exception):
    """The queue has no room for a request; ``retry_after`` is a fair guess, in seconds."""

    def __init__(self, queued: int, capacity: int, retry_after: int):
        super().__init__(f"queue full: {queued} of {capacity} samples waiting")
        self.retry_after = retry_after


class TooLarge(Exception):
    """A request with more samples than this server takes in one request."""


class DeadlineExceeded(Exception):
    """The request's deadline passed before its results were ready."""


Slice = list[int]  # positions in a request's samples


@dataclass
class _Job:
    """One request: its samples, its slices still waiting (per lane), and the results so far."""

    samples: list[Sample]
    future: asyncio.Future[ScoreBatch]
    deadline: float | None  # event-loop time
    number: int
    waiting: dict[str, deque[Slice]]
    running: int = 0  # slices being scored
    parts: list[tuple[Slice, ScoreBatch]] = field(default_factory=list)
    enqueued: float = field(default_factory=time.perf_counter)

    @property
    def samples_waiting(self) -> int:
        return sum(len(piece) for lane in self.waiting.values() for piece in lane)

    @property
    def complete(self) -> bool:
        return self.running == 0 and not any(self.waiting.values())


#: The lanes: ordinary batches (``workers`` at a time), and groups larger than ``max_batch``
#: (one at a time, beside them).
LANES = ("batch", "big")


class Batcher:
    """Collects requests into batches and scores them with ``scorer`` in worker threads.

    ``workers`` batches may be scored at the same time (1 by default: the engine already runs
    the rewards of one batch concurrently), plus one group larger than ``max_batch``.
    ``max_request`` bounds one request's samples (``None``: ``max_queue``).
    ``observe(batch_size, queue_depth)`` is called as batches start, for metrics.
    """

    def __init__(
        self,
        scorer: Scorer,
        *,
        max_batch: int = 64,
        max_wait_ms: float = 5.0,
        max_queue: int = 4096,
        max_request: int | None = None,
        workers: int = 1,
        observe: Callable[[int, int], None] | None = None,
    ):
        self.scorer = scorer
        self.max_batch = max(1, max_batch)
        self.max_wait = max(0.0, max_wait_ms) / 1000
        self.max_queue = max_queue
        self.max_request = max_request
        self.workers = max(1, workers)
        self.observe = observe or (lambda size, depth: None)
        self._group_aware = any(getattr(c.reward, "group_aware", False) for c in scorer.components)
        self._turns: dict[str, deque[_Job]] = {lane: deque() for lane in LANES}  # round-robin order
        self._arrived: dict[str, asyncio.Event] = {}
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._queued = 0  # samples waiting (not yet being scored)
        self._numbers = itertools.count()
        self._loop_tasks: list[asyncio.Task[None]] = []
        self._running: set[asyncio.Task[None]] = set()
        self._batch_seconds = 0.05  # a running estimate of one batch's time, for Retry-After

    @property
    def queued(self) -> int:
        """Samples waiting to be scored."""
        return self._queued

    def start(self, gate: asyncio.Event | None = None) -> None:
        """Start accepting requests; scoring begins once ``gate`` is set (models loaded)."""
        loop = asyncio.get_running_loop()
        self._arrived = {lane: asyncio.Event() for lane in LANES}
        self._slots = {"batch": asyncio.Semaphore(self.workers), "big": asyncio.Semaphore(1)}
        self._loop_tasks = [loop.create_task(self._loop(lane, gate), name=f"rewardhub-{lane}") for lane in LANES]

    async def score(self, samples: Sequence[Sample], deadline: float | None = None) -> ScoreBatch:
        """Queue ``samples`` (one request) and wait for their results.

        ``deadline`` is an event-loop time; raises :class:`QueueFull`, :class:`TooLarge` or
        :class:`DeadlineExceeded`.
        """
        if not self._arrived:
            raise RuntimeError("Batcher.start() was not called")
        samples = list(samples)
        if not samples:
            return self.scorer.score([])
        if self.max_request is not None and len(samples) > self.max_request:
            raise TooLarge(
                f"request has {len(samples)} samples; this server takes at most {self.max_request} per request"
            )
        if len(samples) > self.max_queue:
            raise TooLarge(f"request has {len(samples)} samples; this server queues at most {self.max_queue}")
        if self._queued + len(samples) > self.max_queue:
            raise QueueFull(self._queued, self.max_queue, self._retry_after())
        loop = asyncio.get_running_loop()
        waiting = {lane: deque() for lane in LANES}
        for piece in self._slices(samples):
            waiting["big" if len(piece) > self.max_batch else "batch"].append(piece)
        job = _Job(samples, loop.create_future(), deadline, next(self._numbers), waiting)
        self._queued += len(samples)
        for lane in LANES:
            if waiting[lane]:
                self._turns[lane].append(job)
                self._arrived[lane].set()
        remaining = None if deadline is None else deadline - loop.time()
        try:
            return await asyncio.wait_for(asyncio.shield(job.future), remaining)
        except asyncio.TimeoutError:
            job.future.cancel()  # its slices not yet scored are dropped; results of those being scored too
            raise DeadlineExceeded(f"no result within the request's deadline of {max(0.0, remaining):.3g}s") from None

    async def drain(self, timeout: float | None = None) -> bool:
        """Score what is queued, wait for the batches in flight, and stop; ``False`` if that
        took longer than ``timeout`` (the batches still running are left to the caller)."""
        loop = asyncio.get_running_loop()
        end = None if timeout is None else loop.time() + timeout
        while self._queued or self._running:
            if end is not None and loop.time() >= end:
                break
            await asyncio.sleep(0.01)
        for task in self._loop_tasks:
            task.cancel()
        await asyncio.gather(*self._loop_tasks, return_exceptions=True)
        return not (self._queued or self._running)

    # -- slices --------------------------------------------------------------------------

    def _slices(self, samples: list[Sample]) -> list[Slice]:
        """The request cut into slices of at most ``max_batch`` samples, whole groups each when a
        reward is group-aware (a larger group is a slice of its own)."""
        if not self._group_aware:
            return [
                list(range(i, min(i + self.max_batch, len(samples)))) for i in range(0, len(samples), self.max_batch)
            ]
        groups: dict[Any, Slice] = {}
        for i, sample in enumerate(samples):
            groups.setdefault(sample.group_key, []).append(i)
        pieces: list[Slice] = []
        current: Slice = []
        for group in groups.values():
            if current and len(current) + len(group) > self.max_batch:
                pieces.append(current)
                current = []
            current = current + group
            if len(current) >= self.max_batch:
                pieces.append(current)
                current = []
        if current:
            pieces.append(current)
        return pieces

    # -- the loops -----------------------------------------------------------------------

    def _retry_after(self) -> int:
        batches_ahead = math.ceil(self._queued / self.max_batch) / self.workers
        return max(1, math.ceil(batches_ahead * self._batch_seconds))

    def _drop(self, job: _Job) -> None:
        """Forget the slices of ``job`` not yet scored (its client has its answer)."""
        self._queued -= job.samples_waiting
        for lane in job.waiting.values():
            lane.clear()

    def _next(self, lane: str) -> _Job | None:
        """The job whose turn it is in ``lane``; jobs given up or past their deadline are dropped."""
        turns = self._turns[lane]
        now = asyncio.get_running_loop().time()
        while turns:
            job = turns[0]
            if not job.future.done() and job.deadline is not None and job.deadline <= now:
                job.future.set_exception(DeadlineExceeded("the deadline passed while the request waited"))
            if job.future.done():  # its client has an answer (deadline): do not score the rest
                self._drop(job)
            if job.waiting[lane]:
                return job
            turns.popleft()
        return None

    def _take(self, lane: str, job: _Job) -> Slice:
        """The next slice of ``job``; the job goes to the back of the line."""
        turns = self._turns[lane]
        piece = job.waiting[lane].popleft()
        turns.popleft()
        if job.waiting[lane]:
            turns.append(job)
        job.running += 1
        self._queued -= len(piece)
        return piece

    async def _wait_for_arrival(self, lane: str, timeout: float | None) -> bool:
        arrived = self._arrived[lane]
        arrived.clear()
        try:
            await asyncio.wait_for(arrived.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def _collect(self, lane: str) -> list[tuple[_Job, Slice]]:
        """The next batch: slices taken in turn until ``max_batch`` samples or ``max_wait``
        (a slice of the big lane goes alone)."""
        loop = asyncio.get_running_loop()
        while self._next(lane) is None:
            await self._wait_for_arrival(lane, None)
        items: list[tuple[_Job, Slice]] = []
        size = 0
        close_at = loop.time() + self.max_wait
        while size < self.max_batch:
            job = self._next(lane)
            if job is None:
                if not await self._wait_for_arrival(lane, close_at - loop.time()):
                    break
                continue
            if items and (lane == "big" or size + len(job.waiting[lane][0]) > self.max_batch):
                break
            piece = self._take(lane, job)
            items.append((job, piece))
            size += len(piece)
            if lane == "big":
                break
        return items

    async def _loop(self, lane: str, gate: asyncio.Event | None) -> None:
        loop = asyncio.get_running_loop()
        slots = self._slots[lane]
        if gate is not None:
            await gate.wait()
        while True:
            await slots.acquire()  # collect while the workers are busy: batches grow under load
            items = await self._collect(lane)
            if not items:
                slots.release()
                continue
            self.observe(sum(len(piece) for _, piece in items), self._queued)
            task = loop.create_task(self._run(items))
            self._running.add(task)
            task.add_done_callback(lambda t, slots=slots: self._finished(t, slots))

    def _finished(self, task: asyncio.Task[None], slots: asyncio.Semaphore) -> None:
        self._running.discard(task)
        slots.release()

    async def _run(self, items: list[tuple[_Job, Slice]]) -> None:
        for (job, piece), outcome in zip(items, await self._score(items)):
            job.running -= 1
            if job.future.done():
                continue
            if isinstance(outcome, Exception):
                job.future.set_exception(outcome)
                self._drop(job)
                continue
            job.parts.append((piece, outcome))
            if job.complete:
                job.future.set_result(_gather(job.samples, job.parts))

    async def _score(self, items: list[tuple[_Job, Slice]]) -> list[ScoreBatch | Exception]:
        """Each item's results, or the exception that failed it (alone, when a batch fails)."""
        samples = [_in_request(job.samples[i], job.number) for job, piece in items for i in piece]
        started = time.perf_counter()
        try:
            batch = await asyncio.to_thread(self.scorer.score, samples)
        except Exception as exc:  # an engine failure on one request must not fail the others
            if len(items) == 1:
                return [exc]
            return [(await self._score([item]))[0] for item in items]
        self._batch_seconds = 0.8 * self._batch_seconds + 0.2 * (time.perf_counter() - started)
        out: list[ScoreBatch | Exception] = []
        start = 0
        for _, piece in items:
            out.append(slice_batch(batch, start, start + len(piece)))
            start += len(piece)
        return out


def _in_request(sample: Sample, number: int) -> Sample:
    """The sample with its group namespaced by request, so requests' groups never merge."""
    return dataclasses.replace(sample, group=("request", number, sample.group_key))


def _gather(samples: list[Sample], parts: list[tuple[Slice, ScoreBatch]]) -> ScoreBatch:
    """A request's results from its slices', in the request's order, with its own samples."""
    n = len(samples)
    first = parts[0][1]
    if len(parts) == 1 and parts[0][0] == list(range(n)):
        return dataclasses.replace(first, samples=samples)
    components: dict[str, list[float | None]] = {k: [None] * n for k in first.components}
    infos: dict[str, list[dict[str, Any]]] = {k: [{}] * n for k in first.infos}
    errors: list[dict[str, str]] = [{} for _ in range(n)]
    totals: list[float | None] = [None] * n
    for piece, part in parts:
        for j, i in enumerate(piece):
            for k in components:
                components[k][i] = part.components[k][j]
            for k in infos:
                infos[k][i] = part.infos[k][j]
            errors[i] = part.errors[j]
            totals[i] = part.totals[j]
    return ScoreBatch(samples, components, infos, errors, totals, dict(first.weights))


def slice_batch(batch: ScoreBatch, start: int, stop: int, samples: list[Sample] | None = None) -> ScoreBatch:
    """Rows ``start:stop`` of ``batch`` as a batch of their own (``samples``: the originals)."""
    return ScoreBatch(
        samples if samples is not None else batch.samples[start:stop],
        {k: v[start:stop] for k, v in batch.components.items()},
        {k: v[start:stop] for k, v in batch.infos.items()},
        batch.errors[start:stop],
        batch.totals[start:stop],
        dict(batch.weights),
    )

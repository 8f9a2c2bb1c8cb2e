"""How the engine calls a reward: thread safety, timeouts, output shapes, plugin exits (issue 8,
items 10, 14 and 18). See ``rewardhub/calls.py`` and ``rewardhub/interrupts.py``."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import numpy as np
import pytest

from rewardhub import Reward, Sample, Scorer
from rewardhub.engine.calls import RewardTimeoutWarning


def samples(*texts: str) -> list[Sample]:
    return [Sample(t) for t in texts]


class Exclusive(Reward):
    """Not thread safe: records how many calls overlap; each call lingers so overlaps show."""

    name = "exclusive"
    inputs = ("response",)
    batch_size = 1
    thread_safe = False

    def __init__(self, linger: float = 0.05):
        self.linger = linger
        self.active = 0
        self.most_active = 0
        self.calls = 0
        self._count = threading.Lock()

    def score(self, batch):
        with self._count:
            self.active += 1
            self.calls += 1
            self.most_active = max(self.most_active, self.active)
        time.sleep(self.linger)
        with self._count:
            self.active -= 1
        return [1.0] * len(batch)


def test_a_reward_that_is_not_thread_safe_is_never_called_concurrently_by_ascore():
    reward = Exclusive()
    scorer = Scorer([reward])

    async def main():
        return await asyncio.gather(*(scorer.ascore(samples(f"a{i}", f"b{i}")) for i in range(4)))

    batches = asyncio.run(main())
    assert [b.components["exclusive"] for b in batches] == [[1.0, 1.0]] * 4
    assert reward.calls == 8 and reward.most_active == 1


def test_a_reward_that_is_not_thread_safe_is_never_called_concurrently_from_threads():
    reward = Exclusive()
    scorer = Scorer([reward], timeout=30)
    threads = [threading.Thread(target=scorer.score, args=(samples(f"x{i}", f"y{i}"),)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert reward.calls == 8 and reward.most_active == 1


class Stuck(Reward):
    """Blocks on ``release`` for the response "stuck": a call that times out and keeps running."""

    name = "stuck"
    inputs = ("response",)
    batch_size = 2

    def __init__(self, thread_safe: bool):
        self.thread_safe = thread_safe
        self.release = threading.Event()
        self.active = 0
        self.most_active = 0
        self.calls = 0

    def score(self, batch):
        self.calls += 1
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            if any(s.response == "stuck" for s in batch):
                self.release.wait(30)
            return [1.0] * len(batch)
        finally:
            self.active -= 1


@pytest.mark.parametrize("thread_safe", [False, True])
def test_a_timeout_blames_its_own_call_and_the_stuck_call_is_never_joined_by_another(thread_safe):
    reward = Stuck(thread_safe)
    scorer = Scorer([reward, Exclusive(linger=0)], timeout=0.2)
    with pytest.warns(RewardTimeoutWarning, match=r"'stuck'.*timed out after 0.2s \(batch of 2\)"):
        batch = scorer.score(samples("a", "stuck", "b", "c"))
    assert batch.components["stuck"] == [None, None, None, None]
    assert batch.errors[0]["stuck"] == batch.errors[1]["stuck"] == "timed out after 0.2s (batch of 2)"
    assert batch.errors[2]["stuck"].startswith("not called: an earlier call of 'stuck' timed out")
    assert batch.components["exclusive"] == [1.0] * 4  # the other reward is untouched
    assert scorer.timeouts == {"stuck": 1} and scorer.running_abandoned() == {"stuck": 1}
    assert reward.calls == 1 and reward.most_active == 1  # nothing piled onto the stuck thread

    reward.release.set()  # the abandoned call ends; the reward is called again
    for t in threading.enumerate():
        if t.name == "rewardhub-stuck":
            t.join(10)
    assert scorer.running_abandoned() == {}
    assert scorer.score(samples("d", "e")).components["stuck"] == [1.0, 1.0]


class ArrayReward(Reward):
    name = "array"
    inputs = ("response",)

    def __init__(self, shape: str = "numpy"):
        self.shape = shape

    def score(self, batch):
        values = [float(len(s.response)) for s in batch]
        if self.shape == "numpy":
            return np.asarray(values, dtype=np.float32)
        if self.shape == "tuple":
            return tuple(values)
        if self.shape == "2d":
            return np.asarray(values)[:, None]
        return "".join("x" for _ in batch)


@pytest.mark.parametrize("shape", ["numpy", "tuple"])
def test_any_sequence_of_the_right_length_is_accepted(shape):
    batch = Scorer([ArrayReward(shape)]).score(samples("ab", "abcd"))
    assert batch.components["array"] == [2.0, 4.0] and not any(batch.errors)
    assert all(type(v) is float for v in batch.components["array"])


@pytest.mark.parametrize("shape", ["2d", "string"])
def test_a_string_or_a_matrix_is_not_a_list_of_values(shape):
    batch = Scorer([ArrayReward(shape)]).score(samples("a"))
    assert batch.components["array"] == [None]
    assert "score() returned" in batch.errors[0]["array"]


class Exits(Reward):
    name = "exits"
    inputs = ("response",)
    batch_size = 8

    def __init__(self, exc: type[BaseException]):
        self.exc = exc

    def score(self, batch):
        if any(s.response == "bad" for s in batch):
            raise self.exc("plugin gave up")
        return [1.0] * len(batch)


class Fine(Reward):
    name = "fine"

    def score(self, batch):
        return [2.0] * len(batch)


@pytest.mark.parametrize("exc", [SystemExit, KeyboardInterrupt])
@pytest.mark.parametrize("timeout", [None, 10])
def test_a_reward_raising_systemexit_or_keyboardinterrupt_fails_alone(exc, timeout):
    batch = Scorer([Exits(exc), Fine()], timeout=timeout).score(samples("ok", "bad"))
    assert batch.components["exits"] == [1.0, None]  # the batch is split: only "bad" fails
    assert batch.errors[1]["exits"] == f"{exc.__name__}: plugin gave up"
    assert batch.components["fine"] == [2.0, 2.0]


def test_a_reward_raising_keyboardinterrupt_in_ascore_fails_alone():
    batch = asyncio.run(Scorer([Exits(KeyboardInterrupt), Fine()]).ascore(samples("ok", "bad")))
    assert batch.components["exits"] == [1.0, None]


class CtrlC(Reward):
    """The user presses Ctrl-C while this reward runs (a real SIGINT to this process)."""

    name = "ctrl_c"

    def score(self, batch):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # interrupted by the signal's KeyboardInterrupt
        return [1.0] * len(batch)


def test_a_real_ctrl_c_still_stops_the_run():
    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        Scorer([CtrlC()]).score(samples("a"))
    assert signal.getsignal(signal.SIGINT) is previous  # the watcher is gone after the call

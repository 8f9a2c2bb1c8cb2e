"""The engine's promises, one test each (see rewardhub/engine.py)."""

from __future__ import annotations

import asyncio
import math
import threading
import time

import pytest

import rewardhub
from rewardhub import Reward, Sample, Score, Scorer


class Recorder(Reward):
    """Scores len(response) and records every batch it was given."""

    name = "recorder"
    inputs = ("response",)

    def __init__(self, batch_size: int = 64):
        self.batch_size = batch_size
        self.batches: list[list[str]] = []

    def score(self, samples):
        self.batches.append([s.response for s in samples])
        return [float(len(s.response)) for s in samples]


def samples(*responses: str, prompt: str = "p") -> list[Sample]:
    return [Sample(r, prompt=prompt) for r in responses]


def test_batches_respect_each_rewards_batch_size():
    small, large = Recorder(batch_size=2), Recorder(batch_size=10)
    small.name, large.name = "small", "large"  # type: ignore[misc]
    Scorer([small, large]).score(samples(*"abcde"))
    assert [len(b) for b in small.batches] == [2, 2, 1]
    assert [len(b) for b in large.batches] == [5]


def test_identical_samples_are_scored_once_and_results_fan_out():
    rec = Recorder()
    result = Scorer([rec]).score(samples("aa", "b", "aa", "b", "ccc"))
    assert sorted(rec.batches[0]) == ["aa", "b", "ccc"]
    assert result.components["recorder"] == [2.0, 1.0, 2.0, 1.0, 3.0]


def test_dedup_only_merges_samples_equal_on_the_fields_a_reward_reads():
    class PromptAware(Recorder):
        name = "prompt_aware"
        inputs = ("prompt", "response")

    rec = PromptAware()
    Scorer([rec]).score([Sample("x", prompt="a"), Sample("x", prompt="b"), Sample("x", prompt="a")])
    assert len(rec.batches[0]) == 2


def test_cache_carries_results_across_calls_when_asked():
    rec = Recorder()
    scorer = Scorer([rec], cache_size=10)
    scorer.score(samples("a", "b"))
    scorer.score(samples("b", "c"))
    assert rec.batches == [["a", "b"], ["c"]]


def test_rewards_run_concurrently():
    """Each reward waits until the other has started: serial execution would time out."""
    started = {"a": threading.Event(), "b": threading.Event()}

    class Waiter(Reward):
        def __init__(self, me: str, other: str):
            self.name, self.me, self.other = me, me, other  # type: ignore[misc]

        def score(self, batch):
            started[self.me].set()
            return [1.0 if started[self.other].wait(timeout=10) else 0.0 for _ in batch]

    result = Scorer([Waiter("a", "b"), Waiter("b", "a")]).score(samples("x"))
    assert result.components == {"a": [1.0], "b": [1.0]}


def test_pure_python_rewards_run_in_the_calling_thread_beside_the_threaded_ones():
    """A reward that waits (a model, a process) gets a thread; one that computes in Python runs
    in the caller's thread meanwhile, and still overlaps with the waiting one."""
    started = threading.Event()
    threads: dict[str, threading.Thread] = {}

    class Waits(Reward):
        name = "waits"

        def score(self, batch):
            threads[self.name] = threading.current_thread()
            started.set()
            return [1.0 for _ in batch]

    class Computes(Reward):
        name = "computes"
        pure_python = True

        def score(self, batch):
            threads[self.name] = threading.current_thread()
            return [1.0 if started.wait(timeout=10) else 0.0 for _ in batch]

    class AlsoComputes(Computes):
        name = "also_computes"

    result = Scorer([Waits(), Computes(), AlsoComputes()]).score(samples("x"))
    assert result.components == {"waits": [1.0], "computes": [1.0], "also_computes": [1.0]}
    assert threads["computes"] is threads["also_computes"] is threading.current_thread()
    assert threads["waits"] is not threading.current_thread()
    # the built-in token rewards say so
    assert all(Scorer([name]).components[0].reward.pure_python for name in ("token_entropy", "repetition_penalty"))


def test_group_aware_rewards_get_whole_groups_never_split():
    seen: list[list[str]] = []

    class GroupSize(Reward):
        name = "group_size"
        group_aware = True
        batch_size = 3

        def score(self, batch):
            seen.append([s.prompt for s in batch])
            return [float(sum(t.prompt == s.prompt for t in batch)) for s in batch]

    batch = [Sample(str(i), prompt=p) for i, p in enumerate("aabbbbcac")]
    result = Scorer([GroupSize()]).score(batch)
    # group a = 3 samples (indices 0,1,7), b = 4 (over batch_size: alone, whole), c = 2
    assert result.components["group_size"] == [3.0, 3.0, 4.0, 4.0, 4.0, 4.0, 2.0, 3.0, 2.0]
    for call in seen:
        for prompt in set(call):
            assert call.count(prompt) == "aabbbbcac".count(prompt)


def test_a_failing_sample_gets_none_and_its_error_and_nothing_else_is_lost():
    class Picky(Reward):
        name = "picky"
        inputs = ("response",)

        def score(self, batch):
            if any(s.response == "bad" for s in batch):
                raise ValueError("cannot score 'bad'")
            return [1.0] * len(batch)

    result = Scorer([Picky(), Recorder()]).score(samples("ok", "bad", "fine"))
    assert result.components["picky"] == [1.0, None, 1.0]
    assert result.components["recorder"] == [2.0, 3.0, 4.0]
    assert result.errors == [{}, {"picky": "ValueError: cannot score 'bad'"}, {}]
    assert result.totals == [3.0, 3.0, 5.0]


def test_wrong_number_of_values_is_an_error_not_a_misalignment():
    class Short(Reward):
        name = "short"

        def score(self, batch):
            return [1.0]

    result = Scorer([Short()]).score(samples("a", "b"))
    # retried one by one, where the single value fits
    assert result.components["short"] == [1.0, 1.0]
    one = Scorer([Short()]).score(samples("a"))
    assert one.errors == [{}]


def test_non_finite_values_never_reach_the_total():
    class Wild(Reward):
        name = "wild"
        inputs = ("response",)

        def score(self, batch):
            return [{"nan": math.nan, "inf": math.inf, "str": "high"}.get(s.response, 1.0) for s in batch]

    result = Scorer([Wild(), Recorder()]).score(samples("nan", "inf", "str", "ok"))
    assert result.components["wild"] == [None, None, None, 1.0]
    assert "not a finite number" in result.errors[0]["wild"]
    assert "expected a number" in result.errors[2]["wild"]
    assert all(t is not None and math.isfinite(t) for t in result.totals)


def test_timeout_marks_only_the_slow_call():
    class Slow(Reward):
        name = "slow"
        batch_size = 1
        inputs = ("response",)

        def score(self, batch):
            if batch[0].response == "slow":
                time.sleep(2)
            return [1.0]

    with pytest.warns(RuntimeWarning, match="cannot be stopped"):
        result = Scorer([Slow()], timeout=0.3).score(samples("fast", "slow"))
    assert result.components["slow"] == [1.0, None]
    assert result.errors[1]["slow"] == "timed out after 0.3s (batch of 1)"


@rewardhub.reward("one", inputs=("response",))
def present_unless_none(response):
    return None if response == "none" else 1.0


@rewardhub.reward("two", inputs=("response",))
def present_only_in_all(response):
    return 1.0 if response == "all" else None


@pytest.mark.parametrize(
    ("missing", "expected"),
    [("skip", [3.0, 1.0, None]), ("renormalize", [3.0, 3.0, None]), ("propagate", [3.0, None, None])],
)
def test_missing_policies(missing, expected):
    scorer = Scorer([present_unless_none, present_only_in_all], weights={"two": 2.0}, missing=missing)
    assert scorer.score(samples("all", "half", "none")).totals == expected


def test_weights_must_name_a_reward_of_the_scorer():
    with pytest.raises(ValueError, match="no reward 'nope'"):
        Scorer([Recorder()], weights={"nope": 1.0})


def test_weights_and_aliases_from_config_entries(register_plugin):
    class Plugin:
        @rewardhub.hookimpl
        def register_rewards(register):
            register(Recorder)

    register_plugin(Plugin, "recorder-plugin")
    scorer = Scorer([{"name": "recorder", "weight": 0.5}, {"name": "recorder", "as": "recorder_x2", "weight": 2}])
    result = scorer.score(samples("abcd"))
    assert result.components == {"recorder": [4.0], "recorder_x2": [4.0]}
    assert result.totals == [10.0]


def test_score_info_is_kept():
    class Labeled(Reward):
        name = "labeled"

        def score(self, batch):
            return [Score(0.5, {"label": "ok"}) for _ in batch]

    scored = Scorer([Labeled()]).score(samples("a"))[0]
    assert scored.rewards == {"labeled": 0.5}
    assert scored.info == {"labeled": {"label": "ok"}}


def test_ascore_awaits_native_async_rewards_and_threads_the_rest():
    class Remote(Reward):
        name = "remote"

        def score(self, batch):
            raise AssertionError("the async path must be used")

        async def ascore(self, batch):
            await asyncio.sleep(0)
            return [2.0 for _ in batch]

    result = asyncio.run(Scorer([Remote(), Recorder()]).ascore(samples("abc", "d")))
    assert result.components == {"remote": [2.0, 2.0], "recorder": [3.0, 1.0]}
    assert result.totals == [5.0, 3.0]


def test_ascore_isolates_failures_too():
    class Flaky(Reward):
        name = "flaky"

        async def ascore(self, batch):
            if any(s.response == "x" for s in batch):
                raise RuntimeError("boom")
            return [1.0] * len(batch)

    result = asyncio.run(Scorer([Flaky()]).ascore(samples("a", "x")))
    assert result.components["flaky"] == [1.0, None]
    assert result.errors[1] == {"flaky": "RuntimeError: boom"}


def test_to_pandas_has_a_column_per_component_and_the_total():
    frame = Scorer([Recorder()]).score(samples("ab", "c")).to_pandas()
    assert list(frame.columns) == ["id", "recorder", "reward"]
    assert frame["reward"].tolist() == [2.0, 1.0]


def test_a_reward_can_report_one_samples_error_without_failing_its_batch():
    calls = []

    class Decoding(Reward):
        name = "decoding"

        def score(self, batch):
            calls.append(len(batch))
            return [OSError(f"cannot read {s.response}") if s.response.endswith(".bad") else 1.0 for s in batch]

    result = Scorer([Decoding()]).score(samples("a.png", "b.bad", "c.png"))
    assert calls == [3]  # no retry pass
    assert result.components["decoding"] == [1.0, None, 1.0]
    assert result.errors[1] == {"decoding": "OSError: cannot read b.bad"}


def test_groups_are_only_computed_when_a_reward_needs_them(monkeypatch):
    def fail(self):
        raise AssertionError("group_key computed for a scorer without group-aware rewards")

    monkeypatch.setattr(Sample, "group_key", property(fail))
    assert Scorer([Recorder()]).score(samples("ab")).totals == [2.0]

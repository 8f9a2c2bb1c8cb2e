"""The batch scoring engine.

Promises (each has a test in ``tests/test_engine.py``):

- batching per reward, at that reward's ``batch_size``;
- identical samples (equal on the fields the reward reads) scored once;
- rewards run concurrently, each in its own thread, where they say they are thread safe; one
  with ``thread_safe = False`` is never called concurrently (see :mod:`rewardhub.calls`), and
  one with ``pure_python = True`` runs in the calling thread (a thread only adds GIL hand-offs);
- group-aware rewards get whole groups: a group is never split across calls;
- a reward that raises on a batch is retried sample by sample (group by group), so ``None``
  and an error land on exactly the samples it failed on, and nothing else stops;
- an optional per-call timeout that fails exactly the samples of the call that timed out,
  and never calls a reward again while its timed-out call still runs (:mod:`rewardhub.calls`);
  it holds for every kind of reward: a ``pure_python`` one (which holds the GIL, so no thread
  can time it) runs, while a timeout is set, in worker processes where the call is stopped
  (:mod:`rewardhub.isolation`, tested in ``tests/test_engine_timeouts.py``); without a timeout
  it stays in the calling thread;
- ``SystemExit`` or ``KeyboardInterrupt`` raised inside a reward's ``score()`` is that reward's
  failure (recorded), while a real Ctrl-C still stops the run (:mod:`rewardhub.interrupts`);
- per-component values plus a weighted total under a stated policy for missing components,
  and never a NaN: a non-finite value is a failure of that sample;
- with ``aggregation`` ``normalize_then_sum`` or ``gdpo``, each sample's group-decoupled
  advantage over the call's batch (:mod:`rewardhub.aggregation`, ``tests/test_aggregation.py``);
- the results kept across calls (``cache_size``) stay within a byte budget per reward
  (``tests/test_memo_bytes.py``).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rewardhub.aggregation import advantages, check_aggregation, weighted_total
from rewardhub.build import Component, build_rewards
from rewardhub.calls import RewardBusyError, RewardCaller, as_list, check_timeout
from rewardhub.config import MISSING_POLICIES
from rewardhub.interrupts import PLUGIN_EXITS, is_user_interrupt, sigints, watching_sigint
from rewardhub.isolation import WorkerRaised, build_recipe
from rewardhub.memo import ENTRY_OVERHEAD, MiB, RecentMemo, approx_bytes, budget, key_bytes
from rewardhub.results import ScoreBatch
from rewardhub.types import Sample, Score

Batch = list[list[int]]  # a batch is a list of units (one sample, or one whole group)
#: The bytes each reward's result cache may hold (``REWARDHUB_RESULT_CACHE_MB``).
RESULT_CACHE_BYTES = budget("result_cache", 128 * MiB)
_NOT_CACHED = object()


class Scorer:
    """Scores samples with a set of rewards.

    ``rewards`` items may be names of installed rewards (``"entropy"``, ``"entropy:0.5"``),
    config entries (``{"name": ..., "weight": ..., "args": ..., "as": ...}``), or reward
    objects of any shape :func:`rewardhub.as_reward` accepts; ``weights`` ({key: weight})
    overrides the weights (1.0 unless configured). ``missing`` says what the total
    does when a component has no value for a sample:

    - ``"skip"`` (default, as TRL does): the missing component adds nothing;
    - ``"renormalize"``: the present components' weighted sum is scaled up by
      ``sum(all weights) / sum(present weights)``;
    - ``"propagate"``: the total is ``None``.

    ``aggregation`` (``"sum"``, ``"normalize_then_sum"`` or ``"gdpo"``) says whether each
    :meth:`score` also computes group-decoupled advantages (``ScoreBatch.advantages``); see
    :mod:`rewardhub.aggregation`.
    Under every policy a sample with no component value at all gets a ``None`` total.
    ``skip_unbuildable=True`` leaves out (and lists in :attr:`skipped`) rewards that cannot be
    built without args, for the "every installed reward" default.
    ``cache_size`` keeps at least that many recent results per reward across calls (useful
    when scoring a file in chunks), within :data:`RESULT_CACHE_BYTES` per reward (the samples'
    texts it keeps alive are counted: :mod:`rewardhub.memo`); within one call identical samples
    are always scored once.
    ``timeout`` (seconds, or ``None``) bounds each call of a reward. ``isolate`` says where a
    ``pure_python`` reward runs: ``None`` (default) in worker processes while a timeout is set,
    else in the calling thread; ``True`` always in worker processes (what ``rewardhub serve``
    uses, so that no reward can hold up its event loop); ``False`` never.
    """

    def __init__(
        self,
        rewards: Iterable[Any] = (),
        *,
        weights: dict[str, float] | None = None,
        missing: str = "skip",
        timeout: float | None = None,
        cache_size: int = 0,
        tokenize: str | None = None,
        block: Iterable[str] = (),
        skip_unbuildable: bool = False,
        isolate: bool | None = None,
        aggregation: str = "sum",
    ):
        timeout = check_timeout(timeout)
        self.aggregation = check_aggregation(aggregation)
        block = tuple(block)
        if missing not in MISSING_POLICIES:
            raise ValueError(f"missing must be one of {MISSING_POLICIES}, got {missing!r}")
        #: With ``skip_unbuildable``, the rewards that could not be built, ``{key: why}``.
        self.skipped: dict[str, str] = {}
        self.components: list[Component] = build_rewards(
            rewards, tokenize=tokenize, block=block, skipped=self.skipped if skip_unbuildable else None
        )
        for key, weight in (weights or {}).items():
            match = [c for c in self.components if c.key == key]
            if not match:
                raise ValueError(f"weights: no reward {key!r} in this scorer")
            match[0].weight = float(weight)
        self.missing = missing
        self._callers = {
            c.key: RewardCaller(c.key, c.reward, timeout, isolate, build_recipe(c, tokenize, block))
            for c in self.components
        }
        self.timeout = timeout
        self.cache_size = cache_size
        self._cache: dict[str, RecentMemo[tuple[Any, ...], Score | None]] = {
            c.key: RecentMemo(max(1, cache_size), max_bytes=RESULT_CACHE_BYTES) for c in self.components
        }

    @classmethod
    def from_config(cls, config: Any, **kwargs: Any) -> Scorer:
        """A scorer from a config file path, a dict of the config shape, or a RunConfig."""
        from rewardhub.config import RunConfig, load_config

        run = config if isinstance(config, RunConfig) else load_config(config)
        kwargs.setdefault("missing", run.missing)
        kwargs.setdefault("tokenize", run.tokenize)
        kwargs.setdefault("aggregation", run.aggregation)
        return cls(run.rewards, **kwargs)

    @property
    def timeout(self) -> float | None:
        """Seconds one ``score()`` call of a reward may take (``None``: no limit)."""
        return self._timeout

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        value = check_timeout(value)
        self._timeout = value
        for caller in self._callers.values():
            caller.timeout = value

    @property
    def timeouts(self) -> dict[str, int]:
        """Per reward, how many calls timed out so far (in threads or worker processes)."""
        counts = {key: caller.timed_out for key, caller in self._callers.items()}
        return {key: n for key, n in counts.items() if n}

    def running_abandoned(self) -> dict[str, int]:
        """Per reward, how many timed-out calls are still running in the background."""
        counts = {key: caller.running_abandoned() for key, caller in self._callers.items()}
        return {key: n for key, n in counts.items() if n}

    @property
    def weights(self) -> dict[str, float]:
        return {c.key: c.weight for c in self.components}

    def describe(self) -> list[dict[str, Any]]:
        """The resolved configuration, for provenance."""
        return [c.describe() for c in self.components]

    # -- scoring -------------------------------------------------------------------------

    def score(self, samples: Sequence[Sample]) -> ScoreBatch:
        """Score ``samples`` with every reward; rewards run concurrently where they can."""
        with watching_sigint():
            return self._score(list(samples))

    def _score(self, samples: list[Sample]) -> ScoreBatch:
        groups = self._groups(samples)
        threaded = [c for c in self.components if self._threaded(c)]
        inline = [c for c in self.components if c not in threaded]
        results: dict[str, tuple[list[Score | None], list[str | None]]] = {}
        if threaded and len(threaded) + len(inline) > 1:
            with ThreadPoolExecutor(max_workers=len(threaded), thread_name_prefix="rewardhub") as pool:
                try:
                    futures = {c.key: pool.submit(self._run, c, samples, groups) for c in threaded}
                    for c in inline:
                        results[c.key] = self._run(c, samples, groups)
                    results.update({k: f.result() for k, f in futures.items()})
                except BaseException:  # Ctrl-C: stop the worker processes the threads wait on
                    self._stop_workers()
                    raise
        else:
            for c in self.components:
                results[c.key] = self._run(c, samples, groups)
        return self._assemble(samples, results)

    async def ascore(self, samples: Sequence[Sample]) -> ScoreBatch:
        """Like :meth:`score`, for event loops: rewards with a native ``async ascore`` method are
        awaited, the others run in worker threads, all concurrently."""
        import asyncio  # (here: a caller of score() never needs it, and it costs 25 ms to import)

        samples = list(samples)
        groups = self._groups(samples)

        async def run(c: Component) -> tuple[list[Score | None], list[str | None]]:
            if inspect.iscoroutinefunction(getattr(c.reward, "ascore", None)):
                return await self._arun(c, samples, groups)
            return await asyncio.to_thread(self._run, c, samples, groups)

        outcomes = await asyncio.gather(*(run(c) for c in self.components))
        return self._assemble(samples, {c.key: o for c, o in zip(self.components, outcomes)})

    def close(self) -> None:
        self._stop_workers()
        for c in self.components:
            c.reward.close()

    def _stop_workers(self) -> None:
        for caller in self._callers.values():
            caller.close()

    def _threaded(self, c: Component) -> bool:
        """Whether ``c`` gets a thread of its own in :meth:`score`: it waits on a model, the
        network, or (isolated) a worker process; a ``pure_python`` one in this process does not."""
        if self._callers[c.key].isolated:
            return True
        return bool(c.reward.thread_safe) and not getattr(c.reward, "pure_python", False)

    def __enter__(self) -> Scorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _groups(self, samples: list[Sample]) -> list[list[int]]:
        """Sample indices by group, in order of first appearance; only computed when needed."""
        if not any(c.reward.group_aware for c in self.components):
            return []
        groups: dict[Any, list[int]] = {}
        for i, s in enumerate(samples):
            groups.setdefault(s.group_key, []).append(i)
        return list(groups.values())

    # -- one component -------------------------------------------------------------------

    def _plan(self, c: Component, samples: list[Sample], groups: list[list[int]]):
        """Which samples to score in which batches, and where each result goes back."""
        reward = c.reward
        size = max(1, int(reward.batch_size))
        if reward.group_aware:
            return _pack(groups, size), None, {}
        cache = self._cache[c.key]
        first: dict[tuple[Any, ...], int] = {}
        owner = [0] * len(samples)
        cached: dict[int, Score | None] = {}
        for i, s in enumerate(samples):
            key = s.key(reward.inputs)
            if key not in first:
                first[key] = i
                hit = cache.get(key, _NOT_CACHED) if self.cache_size else _NOT_CACHED
                if hit is not _NOT_CACHED:
                    cached[i] = hit
            owner[i] = first[key]
        todo = [[i] for i in first.values() if i not in cached]
        keys = {i: k for k, i in first.items()}
        return _pack(todo, size), (owner, keys), cached

    def _start(self, c: Component, samples: list[Sample], groups: list[list[int]]):
        """The batches to score, the dedup map, and result lists pre-filled from the cache."""
        batches, dedup, cached = self._plan(c, samples, groups)
        values: list[Score | None] = [None] * len(samples)
        errors: list[str | None] = [None] * len(samples)
        for i, v in cached.items():
            values[i] = v
        return batches, dedup, values, errors

    def _run(self, c: Component, samples: list[Sample], groups: list[list[int]]):
        batches, dedup, values, errors = self._start(c, samples, groups)
        for batch in batches:
            self._score_batch(c, samples, batch, values, errors)
        return self._finish(c, dedup, values, errors)

    async def _arun(self, c: Component, samples: list[Sample], groups: list[list[int]]):
        batches, dedup, values, errors = self._start(c, samples, groups)
        for batch in batches:
            await self._ascore_batch(c, samples, batch, values, errors)
        return self._finish(c, dedup, values, errors)

    def _finish(self, c: Component, dedup, values, errors):
        if dedup is None:
            return values, errors
        owner, keys = dedup
        if self.cache_size:
            self._remember(c.key, {keys[i]: values[i] for i in keys if errors[i] is None})
        return [values[o] for o in owner], [errors[o] for o in owner]

    def _remember(self, key: str, new: dict[tuple[Any, ...], Score | None]) -> None:
        # bytes: the key's texts, the value, the slot
        entries = [(k, v, key_bytes(k) + _result_bytes(v) + ENTRY_OVERHEAD) for k, v in new.items()]
        self._cache[key].put_many(entries)

    def _score_batch(self, c: Component, samples, batch: Batch, values, errors) -> None:
        indices = [i for unit in batch for i in unit]
        interrupts = sigints()
        try:
            out = self._callers[c.key].call([samples[i] for i in indices])
        except (TimeoutError, RewardBusyError) as exc:  # the whole call: splitting would not help
            _fail(indices, errors, str(exc))
            return
        except (Exception, *PLUGIN_EXITS) as exc:
            if is_user_interrupt(exc, interrupts):
                raise
            if len(batch) > 1:  # isolate the unit (sample or group) that breaks the batch
                for unit in batch:
                    self._score_batch(c, samples, [unit], values, errors)
            else:
                _fail(indices, errors, _message(exc))
            return
        _store(indices, out, values, errors)

    async def _ascore_batch(self, c: Component, samples, batch: Batch, values, errors) -> None:
        import asyncio

        indices = [i for unit in batch for i in unit]
        interrupts = sigints()
        try:
            coro = c.reward.ascore([samples[i] for i in indices])  # type: ignore[attr-defined]
            out = as_list(await asyncio.wait_for(coro, self.timeout), len(indices))
        except asyncio.TimeoutError:
            _fail(indices, errors, f"timed out after {self.timeout:g}s (batch of {len(indices)})")
            return
        except (Exception, *PLUGIN_EXITS) as exc:
            if is_user_interrupt(exc, interrupts):
                raise
            if len(batch) > 1:
                for unit in batch:
                    await self._ascore_batch(c, samples, [unit], values, errors)
            else:
                _fail(indices, errors, _message(exc))
            return
        _store(indices, out, values, errors)

    # -- assembling ------------------------------------------------------------------------

    def _assemble(self, samples: list[Sample], results) -> ScoreBatch:
        components: dict[str, list[float | None]] = {}
        infos: dict[str, list[dict[str, Any]]] = {}
        errors: list[dict[str, str]] = [{} for _ in samples]
        for c in self.components:
            values, errs = results[c.key]
            components[c.key] = [None if v is None else v.value for v in values]
            infos[c.key] = [v.info if v is not None else {} for v in values]
            for i, e in enumerate(errs):
                if e is not None:
                    errors[i][c.key] = e
        totals = [self._total({k: col[i] for k, col in components.items()}) for i in range(len(samples))]
        groups = [s.group_key for s in samples] if self.aggregation != "sum" else []
        advantage = advantages(components, self.weights, groups, aggregation=self.aggregation, missing=self.missing)
        return ScoreBatch(samples, components, infos, errors, totals, self.weights, advantage, self.aggregation)

    def _total(self, row: dict[str, float | None]) -> float | None:
        return weighted_total(row, self.weights, self.missing)


def _pack(units: list[list[int]], size: int) -> list[Batch]:
    """Pack units into batches of at most ``size`` samples; a larger unit goes alone, whole."""
    batches: list[Batch] = []
    current: Batch = []
    count = 0
    for unit in units:
        if current and count + len(unit) > size:
            batches.append(current)
            current, count = [], 0
        current.append(unit)
        count += len(unit)
    if current:
        batches.append(current)
    return batches


class _SampleError(Exception):
    """One sample's failure, reported by the reward in its results."""


def _store(indices: list[int], out: Sequence[Any], values, errors) -> None:
    for i, raw in zip(indices, out):
        try:
            values[i] = normalize(raw)
        except (TypeError, ValueError, _SampleError) as exc:
            errors[i] = str(exc)


#: A Score with an empty ``info``: the object, its attributes and a float.
_SCORE_BYTES = approx_bytes(Score(0.5))
_EMPTY_DICT_BYTES = approx_bytes({})


def _result_bytes(value: Score | None) -> int:
    """What a remembered result keeps alive (its ``info`` measured only when it has one)."""
    if value is None:
        return 0
    return _SCORE_BYTES + (approx_bytes(value.info) - _EMPTY_DICT_BYTES if value.info else 0)


def normalize(raw: Any) -> Score | None:
    """A reward's raw output as a :class:`Score` (or ``None``), refusing non-finite values.

    An exception object in place of a value is that sample's error: a reward that can tell
    which samples it failed on reports them so, and the rest of its batch stands.
    """
    if raw is None:
        return None
    if isinstance(raw, BaseException):
        raise _SampleError(_message(raw))
    score = raw if isinstance(raw, Score) else Score(raw)
    if score.value is None:
        return score
    if isinstance(score.value, bool) or (
        not isinstance(score.value, (int, float)) and not hasattr(score.value, "__float__")
    ):
        raise TypeError(f"returned {type(score.value).__name__}, expected a number")
    value = float(score.value)
    if not math.isfinite(value):
        raise ValueError(f"returned {value}, not a finite number")
    return Score(value, dict(score.info))


def _fail(indices: list[int], errors: list[str | None], message: str) -> None:
    for i in indices:
        errors[i] = message


def _message(exc: BaseException) -> str:
    kind = exc.kind if isinstance(exc, WorkerRaised) else type(exc).__name__
    return f"{kind}: {exc}"

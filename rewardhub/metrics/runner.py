"""Running corpus metrics over a stream of samples, whole and per group.

:class:`MetricsAccumulator` is what ``eval`` (local or Ray) and :func:`compute_metrics` drive:

- the whole set: one mergeable state per metric (:mod:`rewardhub.host.state`), fed chunk by
  chunk, once per pass the metric needs (self-BLEU: two); states of other workers ``merge``.
  A chunk is folded in pieces of about :data:`~rewardhub.metrics.pieces.PIECE_CHARS`
  characters, each by every state in turn (so the n-gram states share one hashed piece and its
  size is bounded); the n-gram metrics of one tokenizer share one set of n-gram tables
  (:func:`~rewardhub.metrics.ngram_tables.share_tables`), folded and merged once;
- ``by_group``: each group, once complete, is computed on its own and its values folded into
  exact running means (:class:`ExactSum`: the same bits in any order, so a distributed run
  gives what a local one gives); no group's samples are kept after it is folded;
- faults stay where they happen: a metric that raises, or returns something other than a
  dict, is that metric's recorded error and the others go on; on one group it loses only that
  group's value (``errors["by_group/<name>"]`` says how many groups and the first reason);
  non-finite values are dropped, never reported;
- a metric that says its value cannot be computed honestly on the data
  (:class:`~rewardhub.MetricUndefined`: a whitespace split given CJK text) is not an error:
  its value is ``None`` with the reason (``undefined``); a group where it says so is left out
  of the ``by_group/`` mean, and when every group is, that mean is ``None`` with the reason
  (tested in ``tests/test_metric_undefined.py``).

Third-party metrics that only implement ``compute(samples)`` run through
:class:`~rewardhub.host.state.CollectingState`, which keeps their samples (O(rows)).
Tested in ``tests/test_metrics_runner.py``, ``tests/test_metric_states.py`` and
``tests/test_ngram_states_oracle.py`` (shared tables, pickled and merged as Ray does).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from rewardhub.config.build import Component, build_metrics
from rewardhub.host.faults import describe
from rewardhub.host.kinds import MetricUndefined
from rewardhub.host.progress import Listener, Progress, listening
from rewardhub.host.registry import Registry
from rewardhub.host.state import MetricState
from rewardhub.metrics.ngram_tables import share_tables
from rewardhub.metrics.pieces import PIECE_CHARS, pieces, release_free_memory
from rewardhub.text.tokenizers import TOKEN_CACHE_SIZE
from rewardhub.types import Sample

BY_GROUP_PREFIX = "by_group/"
#: Samples per chunk when :func:`compute_metrics` feeds an in-memory list: as many as the
#: token memo holds, so the metrics of a chunk tokenize each text once between them.
CHUNK = TOKEN_CACHE_SIZE


@dataclass
class MetricResults:
    """Metric values by name (``by_group/<name>`` for per-group means) and errors by metric,
    with each value's direction (``Metric.direction``) and each metric's description (provenance)."""

    values: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    directions: dict[str, bool | None] = field(default_factory=dict)
    described: list[dict[str, Any]] = field(default_factory=list)
    #: Per metric key, its ``Metric.note()`` (e.g. the range to expect), for metrics with values.
    notes: dict[str, str] = field(default_factory=dict)
    #: Values that cannot be computed honestly on the data (:class:`MetricUndefined`): ``None``
    #: in the summary, with this reason (``{key: reason}``).
    undefined: dict[str, str] = field(default_factory=dict)


class ExactSum:
    """A float sum without rounding error until the end (Shewchuk's partials, as
    :func:`math.fsum` keeps them), so adding and merging in any order gives the same bits."""

    def __init__(self) -> None:
        self.partials: list[float] = []
        self.count = 0

    def add(self, value: float) -> None:
        self.count += 1
        self._add(value)

    def _add(self, x: float) -> None:
        kept = 0
        for y in self.partials:
            if abs(x) < abs(y):
                x, y = y, x
            high = x + y
            low = y - (high - x)
            if low:
                self.partials[kept] = low
                kept += 1
            x = high
        self.partials[kept:] = [x]

    def merge(self, other: ExactSum) -> None:
        self.count += other.count
        for value in other.partials:
            self._add(value)

    def mean(self) -> float:
        return math.fsum(self.partials) / self.count


def metric_values(result: Any) -> dict[str, float]:
    """A metric's result as ``{name: float}`` with non-finite values dropped; anything but a
    mapping is an error naming what came back."""
    if not isinstance(result, Mapping):
        raise TypeError(f"returned {type(result).__name__}, not a dict of numbers")
    values = {}
    for name, value in result.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"value {name!r} is {type(value).__name__}, not a number") from None
        if math.isfinite(number):
            values[str(name)] = number
    return values


class MetricsAccumulator:
    """Metrics over a stream (see the module doc). Feed ``add(chunk, pass_)`` for every pass in
    :attr:`passes` (calling :meth:`start_pass` between passes) and ``add_groups`` with complete
    groups; :meth:`result` at the end. Picklable when its metrics are."""

    def __init__(
        self,
        metrics: Iterable[Any] = (),
        *,
        by_group: bool = False,
        tokenize: str | None = None,
        sample: int | None = None,
        seed: int | None = None,
        components: Sequence[Component] | None = None,
        block: Sequence[str] = (),
        registry: Registry | None = None,
    ):
        if components is None:
            components = build_metrics(
                metrics, tokenize=tokenize, sample=sample, seed=seed, block=block, registry=registry
            )
        self.components = list(components)
        self.by_group = by_group
        self.errors: dict[str, str] = {}
        #: Metric key -> its reason, where its whole-set value is undefined (see the module doc).
        self.undefined: dict[str, str] = {}
        self.states: dict[str, MetricState] = {}
        for c in self.components:
            try:
                self.states[c.key] = c.reward.state()
            except Exception as exc:
                self._fail(c.key, exc)
        #: n-gram tables shared by the states of one tokenizer (see :func:`share_tables`)
        self.shared_tables = share_tables(list(self.states.values()))
        self.group_means: dict[str, dict[str, ExactSum]] = {c.key: {} for c in self.components}
        self.group_failures: dict[str, tuple[int, str]] = {}
        #: Metric key -> (groups where it was undefined, the first reason).
        self.group_undefined: dict[str, tuple[int, str]] = {}
        self.groups = 0
        self._whole: dict[str, dict[str, float]] | None = None

    @property
    def passes(self) -> int:
        """How many passes over the stream the whole-set states need (1 or 2)."""
        return max((s.passes for s in self.states.values()), default=1)

    def add(self, samples: Sequence[Sample], pass_: int = 0, progress: Progress | None = None) -> None:
        """Fold one chunk of the whole set into pass ``pass_`` of every state that has it, piece
        by piece (:data:`PIECE_CHARS`; any cut gives the same values, by the states' contract).
        ``progress`` hears ``("metric NAME", 0, None)`` as each metric starts on a piece, and
        what that metric reports itself (an embedding metric embeds here)."""
        self._whole = None  # a running result (a trainer asking after each step) is recomputed
        for piece in pieces(samples, PIECE_CHARS):
            for tables in self.shared_tables:
                tables.next_piece()
            for key, state in list(self.states.items()):
                if pass_ < state.passes:
                    listener = _metric_listener(progress, key)
                    try:
                        if listener is None:
                            state.add(piece, pass_)
                            continue
                        listener(0, None)  # names the metric at work
                        with listening(listener):
                            state.add(piece, pass_)
                    except Exception as exc:  # one broken metric never takes the others down
                        self._fail(key, exc)
        release_free_memory()

    def start_pass(self, pass_: int) -> None:
        release_free_memory()
        for key, state in list(self.states.items()):
            if pass_ < state.passes:
                try:
                    state.start_pass(pass_)
                except Exception as exc:
                    self._fail(key, exc)

    def add_groups(self, groups: Iterable[Sequence[Sample]]) -> None:
        """Compute every metric on each complete group and fold the values into the means."""
        for group in groups:
            self.groups += 1
            for c in self.components:
                try:
                    values = metric_values(c.reward.compute(group))
                except MetricUndefined as exc:  # this group has no value: left out of the mean
                    count, reason = self.group_undefined.get(c.key, (0, ""))
                    self.group_undefined[c.key] = (count + 1, reason or str(exc))
                    continue
                except Exception as exc:
                    failed, first = self.group_failures.get(c.key, (0, ""))
                    first = first or f"group {group[0].group_key!r}: {describe(exc)}"
                    self.group_failures[c.key] = (failed + 1, first)
                    continue
                means = self.group_means[c.key]
                for name, value in values.items():
                    means.setdefault(name, ExactSum()).add(value)

    def merge(self, other: MetricsAccumulator) -> None:
        """Fold in another worker's accumulator over the next part of the stream (same pass)."""
        for key, exc in other.errors.items():
            self.errors.setdefault(key, exc)
            self.states.pop(key, None)
        for key, reason in other.undefined.items():
            self.undefined.setdefault(key, reason)
            self.states.pop(key, None)
        for tables in self.shared_tables:
            tables.next_piece()
        for key, state in list(self.states.items()):
            if key not in other.states:  # a later pass ships only the states that have it
                continue
            try:
                state.merge(other.states[key])
            except Exception as exc:
                self._fail(key, exc)
        for key, means in other.group_means.items():
            mine = self.group_means.setdefault(key, {})
            for name, total in means.items():
                mine.setdefault(name, ExactSum()).merge(total)
        for key, (failed, first) in other.group_failures.items():
            count, mine_first = self.group_failures.get(key, (0, ""))
            self.group_failures[key] = (count + failed, mine_first or first)
        for key, (undefined, first) in other.group_undefined.items():
            count, mine_first = self.group_undefined.get(key, (0, ""))
            self.group_undefined[key] = (count + undefined, mine_first or first)
        self.groups += other.groups

    def split_pass(self) -> MetricsAccumulator:
        """What this pass added since the last split, to ship to the driver (see
        :meth:`MetricState.split_pass`); this accumulator keeps its frozen pass-0 statistics."""
        light = MetricsAccumulator(components=[])
        light.errors = dict(self.errors)
        light.undefined = dict(self.undefined)
        for key, state in self.states.items():
            if state.current_pass >= 1:
                light.states[key] = state.split_pass()
        light.group_means = {}
        return light

    def __getstate__(self) -> dict[str, Any]:
        # shipped between processes: the receiver has its own metric objects (maybe models)
        return {**self.__dict__, "components": []}

    def _fail(self, key: str, exc: BaseException) -> None:
        if isinstance(exc, MetricUndefined):  # no honest value on this data: None, with the reason
            self.undefined[key] = str(exc)
        else:
            self.errors[key] = describe(exc)
        self.states.pop(key, None)

    def finish_whole(self, progress: Progress | None = None) -> None:
        """Compute the whole-set values now (after the last pass). Optional: :meth:`result`
        does it otherwise; calling it first lets a metric that remembers work on a set (the
        semantic metrics' embeddings) do the whole set in one batch before the groups.
        ``progress`` hears ``("metrics", done, of)`` per metric, and ``("metric NAME", ...)``
        from a metric that reports its own (:func:`rewardhub.host.progress.report`)."""
        if self._whole is not None:
            return
        release_free_memory()
        self._whole = {}
        states = list(self.states.items())
        for done, (key, state) in enumerate(states):
            if progress is not None:
                progress("metrics", done, len(states))
            listener = _metric_listener(progress, key)
            try:
                with listening(listener) if listener is not None else nullcontext():
                    self._whole[key] = metric_values(state.result())
            except Exception as exc:
                self._fail(key, exc)
        if progress is not None:
            progress("metrics", len(states), len(states))

    def result(self) -> MetricResults:
        self.finish_whole()
        assert self._whole is not None
        results = MetricResults(
            errors=dict(self.errors),
            described=[c.describe() for c in self.components],
            undefined=dict(self.undefined),
        )
        for c in self.components:
            prefix = "" if c.key == c.config.name else f"{c.key}/"
            if c.key in self.undefined:
                results.directions[c.key] = _direction(c.reward, c.config.name)
            for name, value in self._whole.get(c.key, {}).items():
                results.values[prefix + name] = value
                results.directions[prefix + name] = _direction(c.reward, name)
            for name, total in self.group_means[c.key].items():
                results.values[BY_GROUP_PREFIX + prefix + name] = total.mean()
                results.directions[BY_GROUP_PREFIX + prefix + name] = _direction(c.reward, name)
            note = _note(c.reward) if self._whole.get(c.key) or self.group_means[c.key] else None
            if note:
                results.notes[c.key] = note
            if c.key in self.group_failures:
                failed, first = self.group_failures[c.key]
                results.errors[BY_GROUP_PREFIX + c.key] = f"failed on {failed} of {self.groups} groups (first: {first})"
            if c.key in self.group_undefined:
                count, reason = self.group_undefined[c.key]
                if self.group_means[c.key]:  # the mean of the other groups stands: say what it leaves out
                    results.notes[BY_GROUP_PREFIX + c.key] = (
                        f"mean of the groups it is defined on; {count} of {self.groups} groups left out: {reason}"
                    )
                else:
                    results.undefined[BY_GROUP_PREFIX + c.key] = f"undefined on every group ({count}): {reason}"
                    results.directions[BY_GROUP_PREFIX + c.key] = _direction(c.reward, c.config.name)
        return results


def _note(metric: Any) -> str | None:
    note = getattr(metric, "note", None)
    try:
        text = note() if callable(note) else None
    except Exception:  # a note is a courtesy: it never costs a metric its values
        return None
    return text if isinstance(text, str) and text.strip() else None


def _metric_listener(progress: Progress | None, key: str) -> Listener | None:
    """What a metric's own :func:`rewardhub.host.progress.report` calls reach: ``progress`` as
    ``("metric KEY", done, total)``."""
    if progress is None:
        return None

    def listener(done: int, total: int | None) -> None:
        progress(f"metric {key}", done, total)

    return listener


def _direction(metric: Any, key: str) -> bool | None:
    direction = getattr(metric, "direction", None)
    return direction(key) if callable(direction) else getattr(metric, "higher_is_better", None)


def groups_of(samples: Sequence[Sample]) -> list[list[Sample]]:
    """``samples`` split into their groups, in order of each group's first sample."""
    groups: dict[Any, list[Sample]] = {}
    for s in samples:
        groups.setdefault(s.group_key, []).append(s)
    return list(groups.values())


def compute_metrics(
    metrics: Iterable[Any],
    samples: Sequence[Sample],
    *,
    by_group: bool = False,
    tokenize: str | None = None,
    sample: int | None = None,
    seed: int | None = None,
) -> MetricResults:
    """Compute ``metrics`` (names, config entries or Metric objects) over ``samples``.

    With ``by_group`` each metric is also computed on every group and averaged over groups
    (unweighted), reported as ``by_group/<name>``. A metric that raises (or returns a
    non-dict) is reported in ``errors`` and the others still run; on one group it loses only
    that group's value. Non-finite values are dropped, never reported. ``sample``/``seed``
    reach metrics that can sample (self-BLEU); by default nothing samples.
    """
    run = MetricsAccumulator(metrics, by_group=by_group, tokenize=tokenize, sample=sample, seed=seed)
    samples = list(samples)
    for pass_ in range(run.passes):
        if pass_:
            run.start_pass(pass_)
        for start in range(0, len(samples), CHUNK):
            run.add(samples[start : start + CHUNK], pass_)
    run.finish_whole()
    if by_group:
        run.add_groups(groups_of(samples))
    return run.result()


__all__ = ["BY_GROUP_PREFIX", "ExactSum", "MetricResults", "MetricsAccumulator", "compute_metrics"]

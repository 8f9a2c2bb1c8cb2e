"""The two plugin kinds, rewards and metrics, and the adapters that bring other shapes to them.

A **reward** scores samples one by one, in batches: ``score(samples)`` returns one entry per
sample, in order: a float, a :class:`Score`, ``None`` for "could not score this one", or an
exception object to report why that one sample failed (the rest of the batch stands).
A **metric** summarizes a set: ``compute(samples)`` returns ``{name: float}``.

Authors who don't want a class write a plain function and decorate it with :func:`reward` or
:func:`metric`; a class in the ms-swift plugin style (``compute(query, response, images=None)``)
is adapted too. :func:`as_reward` turns any of these into a :class:`Reward` instance.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from rewardhub.types import Sample, Score

if TYPE_CHECKING:
    from rewardhub.metrics.state import MetricState

#: Every field a reward may read; the engine uses a reward's ``inputs`` to find identical samples.
SAMPLE_FIELDS = ("prompt", "response", "reference", "images", "history", "group", "meta")
#: What a reward is (see :attr:`Reward.kind`).
RewardKind = Literal["measure", "format", "shaping"]
REWARD_KINDS: tuple[RewardKind, ...] = ("measure", "format", "shaping")


def has_field(sample: Sample, name: str) -> bool:
    """Whether ``sample`` has a value for ``name`` (a sample field, else a key of ``meta``):
    not missing, not ``None``, not an empty string or list."""
    value = getattr(sample, name) if name in SAMPLE_FIELDS else (sample.meta or {}).get(name)
    return value is not None and not (isinstance(value, (str, list, tuple, dict)) and not value)


def lacking_fields(names: Sequence[str], samples: Sequence[Sample]) -> str | None:
    """``"needs 'reference'"`` (every field of ``names`` that no sample has), or ``None``."""
    lacking = [name for name in names if not any(has_field(s, name) for s in samples)]
    if not lacking:
        return None
    return "needs " + " and ".join(f"'{name}'" for name in lacking)


class Reward:
    """Base class of batch rewards.

    Subclasses set ``name`` and implement :meth:`score`. Class attributes tell the engine how
    to call it:

    - ``batch_size``: the most samples per ``score`` call.
    - ``group_aware``: the reward compares samples of one group; the engine then passes whole
      groups and never splits one across calls.
    - ``inputs``: the sample fields the value depends on; two samples equal on these are scored
      once. Leave the default (every field) unless you are sure.
    - ``thread_safe``: may run in a thread beside other rewards.
    - ``pure_python``: computes in Python holding the GIL throughout (a tokenizer, a regex,
      arithmetic), so a thread of its own gains nothing and slows every other reward with lock
      hand-offs: the engine calls it in the calling thread, while rewards that wait on a model,
      a process or the network run in threads beside it. Leave it ``False`` when unsure.
    - ``higher_is_better``: which direction is better (``None``: neither, e.g. a length);
      tables and comparisons say so.
    - ``provenance``: what the reward actually resolved to (``{"backend": ..., "model": ...}``),
      filled when its model loads; the run's sidecar records it.
    - ``requires``: the sample fields without which it has no value (``("reference",)`` for an
      answer checker, ``("images",)``; a name outside :data:`SAMPLE_FIELDS` is a key of
      ``meta``). ``eval``'s default run leaves it out of data whose first rows lack one.
    - ``kind``: ``"measure"`` (the default: it says something about any text), ``"format"``
      (it checks a format the user chose, such as ``<think>`` tags: 0 on text not written in
      it) or ``"shaping"`` (a training-time penalty whose settings belong to the trainer's
      setup, such as an overlong budget). ``eval``'s default run runs only measures.

    :meth:`missing_input` is what ``eval``'s default run asks (it reads ``requires``; override
    it when what is needed depends on args). Heavy rewards load their model lazily, on the
    first ``score`` call, not in ``__init__``.
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "0"
    description: ClassVar[str] = ""
    batch_size: int = 64
    group_aware: bool = False
    inputs: tuple[str, ...] = SAMPLE_FIELDS
    thread_safe: bool = True
    pure_python: bool = False
    higher_is_better: ClassVar[bool | None] = True
    provenance: dict[str, Any] | None = None
    requires: ClassVar[tuple[str, ...]] = ()
    kind: ClassVar[RewardKind] = "measure"

    def score(self, samples: Sequence[Sample]) -> list[float | Score | None]:
        raise NotImplementedError

    def missing_input(self, samples: Sequence[Sample]) -> str | None:
        """What this reward needs that none of ``samples`` (a peek at the data) has, in words,
        or ``None`` when it can score them. Default: the fields in ``requires``."""
        return lacking_fields(self.requires, samples)

    def close(self) -> None:
        """Release models or connections; called when a :class:`~rewardhub.Scorer` closes."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} v{self.version}>"


class Metric:
    """Base class of corpus metrics: ``compute(samples) -> {name: float}``.

    A metric implements :meth:`compute`, :meth:`state`, or both. :meth:`state` returns a
    mergeable :class:`~rewardhub.metrics.state.MetricState` that folds the samples in chunk by
    chunk (what streaming ``eval`` and distributed runs use); without it, the run keeps the
    metric's samples and calls :meth:`compute` once (correct, O(rows) memory). With only a
    state, :meth:`compute` runs the samples through it.
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "0"
    description: ClassVar[str] = ""
    #: Which direction is better for this metric's values (``None``: neither, or it varies).
    higher_is_better: ClassVar[bool | None] = None
    #: What the metric actually resolved to (model, backend), filled when its model loads.
    provenance: dict[str, Any] | None = None

    def direction(self, key: str) -> bool | None:
        """Whether a higher value of the output ``key`` is better (``None``: no direction).
        Override when one metric returns keys with different directions."""
        return self.higher_is_better

    def note(self) -> str | None:
        """One line for whoever reads this metric's values (what range to expect, say), printed
        under ``eval``'s metrics table when the metric has values. ``None``: nothing to add."""
        return None

    def compute(self, samples: Sequence[Sample]) -> dict[str, float]:
        if type(self).state is Metric.state:
            raise NotImplementedError(f"metric {self.name!r} implements neither compute() nor state()")
        from rewardhub.metrics.state import run_state

        return run_state(self.state(), samples)

    def state(self) -> MetricState:
        """A fresh mergeable state of this metric (default: keep the samples, call compute)."""
        from rewardhub.metrics.state import CollectingState

        return CollectingState(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} v{self.version}>"


def _call_with_context(fn: Callable[..., Any], sample: Sample, params: inspect.Signature, args: dict) -> Any:
    """Call ``fn(response, **context)`` passing only the context its signature accepts."""
    context = {
        "prompt": sample.prompt,
        "reference": sample.reference,
        "images": sample.images,
        "history": sample.history,
        "group": sample.group,
        "id": sample.id,
        "meta": sample.meta,
        **args,
    }
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in params.parameters.values())
    if not accepts_any:
        context = {k: v for k, v in context.items() if k in params.parameters}
    return fn(sample.response, **context)


class RewardFunction:
    """A plain per-sample function registered with :func:`reward`; still callable as before."""

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str,
        version: str,
        batch_size: int,
        inputs: tuple[str, ...],
        *,
        requires: tuple[str, ...] = (),
        kind: RewardKind = "measure",
    ):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.name = name
        self.version = version
        self.batch_size = batch_size
        self.inputs = inputs
        self.requires, self.kind = requires, kind
        self.description = (inspect.getdoc(fn) or "").split("\n\n")[0]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def as_reward(self, **args: Any) -> Reward:
        outer = self
        signature = inspect.signature(self.fn)

        class _FunctionReward(Reward):
            name = outer.name
            version = outer.version
            description = outer.description
            batch_size = outer.batch_size
            inputs = outer.inputs
            requires = outer.requires
            kind = outer.kind

            def score(self, samples: Sequence[Sample]) -> list[Any]:
                return [_call_with_context(outer.fn, s, signature, args) for s in samples]

        _FunctionReward.__qualname__ = f"FunctionReward[{self.name}]"
        return _FunctionReward()


def reward(
    name: str | None = None,
    *,
    version: str = "0",
    batch_size: int = 256,
    inputs: Sequence[str] = SAMPLE_FIELDS,
    requires: Sequence[str] = (),
    kind: RewardKind = "measure",
) -> Callable[[Callable[..., Any]], RewardFunction]:
    """Make ``def f(response, **context) -> float`` a reward.

    ``context`` holds ``prompt``, ``reference``, ``images``, ``history``, ``group``, ``id``,
    ``meta`` and the config's ``args``; the function receives those its signature names (all
    of them if it takes ``**kwargs``). ``requires`` and ``kind`` are :class:`Reward`'s (what
    ``eval``'s default run reads). Register the result in ``register_rewards`` or pass it
    to :class:`~rewardhub.Scorer` directly::

        @rewardhub.reward("length", inputs=("response",))
        def length(response: str, target: int = 200) -> float:
            return -abs(len(response) - target) / target
    """

    def decorate(fn: Callable[..., Any]) -> RewardFunction:
        if kind not in REWARD_KINDS:
            raise ValueError(f"kind must be one of {', '.join(REWARD_KINDS)}, got {kind!r}")
        return RewardFunction(
            fn, name or fn.__name__, version, batch_size, tuple(inputs), requires=tuple(requires), kind=kind
        )

    return decorate


class _SwiftStyleReward(Reward):
    """Adapts ``compute(query, response, images=None) -> {"reward", "info"}`` objects."""

    def __init__(self, impl: Any, name: str, version: str):
        self.impl = impl
        self.name = name  # type: ignore[misc]
        self.version = version  # type: ignore[misc]
        self.accepts_images = "images" in inspect.signature(impl.compute).parameters

    def score(self, samples: Sequence[Sample]) -> list[Score | None]:
        out: list[Score | None] = []
        for s in samples:
            kwargs = {"images": s.images or None} if self.accepts_images else {}
            result = self.impl.compute(s.prompt_text, s.response, **kwargs)
            if isinstance(result, dict):
                out.append(Score(result.get("reward"), dict(result.get("info") or {})))
            else:
                out.append(result)
        return out


class MetricFunction:
    """A function ``f(samples, **args) -> dict[str, float]`` registered with :func:`metric`."""

    def __init__(self, fn: Callable[..., dict[str, float]], name: str, version: str):
        functools.update_wrapper(self, fn)
        self.fn, self.name, self.version = fn, name, version
        self.description = (inspect.getdoc(fn) or "").split("\n\n")[0]

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, float]:
        return self.fn(*args, **kwargs)

    def as_metric(self, **args: Any) -> Metric:
        outer = self

        class _FunctionMetric(Metric):
            name, version, description = outer.name, outer.version, outer.description

            def compute(self, samples: Sequence[Sample]) -> dict[str, float]:
                return outer.fn(samples, **args)

        return _FunctionMetric()


def metric(name: str | None = None, *, version: str = "0") -> Callable[[Callable[..., Any]], MetricFunction]:
    """Make ``def f(samples, **args) -> dict[str, float]`` a metric."""

    def decorate(fn: Callable[..., Any]) -> MetricFunction:
        return MetricFunction(fn, name or fn.__name__, version)

    return decorate


def _no_args(kind: str, obj: Any, args: dict) -> None:
    if args:
        raise TypeError(f"{kind} {obj!r} is an instance and takes no args (got {sorted(args)})")


def reward_name(obj: Any) -> str:
    """The name ``obj`` registers under, for any of the accepted shapes."""
    name = getattr(obj, "name", None) or getattr(obj, "__name__", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{obj!r} has no name: set a 'name' attribute or pass name=...")
    return name


def usable_as(kind: str, obj: Any) -> bool:
    """Whether :func:`as_reward` (``kind="reward"``) or :func:`as_metric` (``"metric"``) can take
    ``obj``: the plugin manager refuses anything else at registration."""
    if kind == "reward":
        shapes: tuple[type, ...] = (Reward, RewardFunction)
    else:
        shapes = (Metric, MetricFunction)
    if isinstance(obj, shapes) or (inspect.isclass(obj) and issubclass(obj, shapes[0])):
        return True
    if kind == "reward" and callable(getattr(obj, "compute", None)):
        return True
    return callable(obj) and not isinstance(obj, (str, bytes, int, float))


def as_reward(obj: Any, **args: Any) -> Reward:
    """Turn any accepted reward shape into a :class:`Reward` instance, built with ``args``."""
    if isinstance(obj, Reward):
        _no_args("reward", obj, args)
        return obj
    if isinstance(obj, RewardFunction):
        return obj.as_reward(**args)
    if inspect.isclass(obj) and issubclass(obj, Reward):
        return obj(**args)
    if inspect.isclass(obj) and callable(getattr(obj, "compute", None)):
        return _SwiftStyleReward(obj(**args), reward_name(obj), str(getattr(obj, "version", "0")))
    if callable(getattr(obj, "compute", None)) and not callable(getattr(obj, "score", None)):
        _no_args("reward", obj, args)
        return _SwiftStyleReward(obj, reward_name(obj), str(getattr(obj, "version", "0")))
    if callable(obj):
        return RewardFunction(obj, reward_name(obj), "0", 256, SAMPLE_FIELDS).as_reward(**args)
    raise TypeError(f"cannot use {obj!r} as a reward")


def as_metric(obj: Any, **args: Any) -> Metric:
    """Turn any accepted metric shape into a :class:`Metric` instance, built with ``args``."""
    if isinstance(obj, Metric):
        _no_args("metric", obj, args)
        return obj
    if isinstance(obj, MetricFunction):
        return obj.as_metric(**args)
    if inspect.isclass(obj) and issubclass(obj, Metric):
        return obj(**args)
    if callable(obj):
        return MetricFunction(obj, reward_name(obj), "0").as_metric(**args)
    raise TypeError(f"cannot use {obj!r} as a metric")

"""Turning config entries and objects into built rewards and metrics.

Shared by the engine, the CLI and the trainer adapters, so a name means the same thing
everywhere. Run-wide arguments (``tokenize``, and for metrics ``sample``/``seed``) are passed
to every component whose constructor names that argument and whose config does not set it.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rewardhub.config.files import ComponentConfig, parse_component
from rewardhub.host import registry as plugins
from rewardhub.host.kinds import Metric, MetricFunction, Reward, RewardFunction, as_metric, as_reward
from rewardhub.host.registry import Registry


@dataclass
class Component:
    """A built reward (or metric) with its config: the column key, weight and args."""

    key: str
    weight: float
    config: ComponentConfig
    reward: Any  # a Reward, or a Metric for metric components
    distribution: str = "local"

    def describe(self) -> dict[str, Any]:
        """The config, version and origin, plus under ``"resolved"`` what the component actually
        used (its ``provenance``: backend, model...) once it has loaded its model."""
        obj = self.reward
        described = {
            **self.config.to_dict(),
            "version": str(getattr(obj, "version", "0")),
            "distribution": self.distribution,
            "class": f"{type(obj).__module__}.{type(obj).__qualname__}",
        }
        resolved = getattr(obj, "provenance", None)
        if isinstance(resolved, dict) and resolved:
            described["resolved"] = dict(resolved)
        return described


def _names(obj: Any, arg: str) -> bool:
    """Whether ``obj``'s constructor (or function) has a parameter called ``arg``."""
    target = obj.fn if isinstance(obj, (RewardFunction, MetricFunction)) else obj
    if not (inspect.isclass(target) or isinstance(obj, MetricFunction)):
        return False  # an instance is built already; reward functions get context, not run args
    try:
        return arg in inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False


def _with_run_args(obj: Any, args: dict[str, Any], run_args: dict[str, Any]) -> dict[str, Any]:
    extra = {k: v for k, v in run_args.items() if v is not None and k not in args and _names(obj, k)}
    return {**args, **extra} if extra else args


def _resolve(kind: str, item: Any, registry: Registry) -> tuple[ComponentConfig, Any, str]:
    """(config, object to build, distribution) for a name, a config entry or an object."""
    if isinstance(item, (str, dict, ComponentConfig)):
        config = parse_component(item, f"{kind}s")
        entry = registry.entry(kind, config.name)
        return config, entry.obj, entry.distribution
    name = getattr(item, "name", None) or getattr(item, "__name__", None) or type(item).__name__
    return ComponentConfig(str(name)), item, "local"


def build_rewards(
    items: Iterable[Any],
    *,
    tokenize: str | None = None,
    block: Iterable[str] = (),
    registry: Registry | None = None,
    skipped: dict[str, str] | None = None,
) -> list[Component]:
    """Built rewards for names, config entries or reward objects, with their weights.

    Names are looked up in ``registry`` (default: the process's, loaded without ``block``).
    With a ``skipped`` dict, a reward that cannot be built (it needs args the entry does not
    give, say) is left out and recorded there as ``{key: why}`` instead of raising: what the
    "everything installed" default wants, so one plugin cannot break it for everyone.
    """
    return _build("reward", as_reward, items, {"tokenize": tokenize}, registry or plugins.registry(block), skipped)


def build_metrics(
    items: Iterable[Any],
    *,
    tokenize: str | None = None,
    sample: int | None = None,
    seed: int | None = None,
    block: Iterable[str] = (),
    registry: Registry | None = None,
    skipped: dict[str, str] | None = None,
) -> list[Component]:
    """Built metrics for names, config entries or metric objects; ``sample``/``seed`` reach the
    metrics that can sample (self-BLEU's hypotheses), ``tokenize`` every n-gram metric.
    ``registry`` and ``skipped`` as for :func:`build_rewards`."""
    run_args = {"tokenize": tokenize, "sample": sample, "seed": seed}
    return _build("metric", as_metric, items, run_args, registry or plugins.registry(block), skipped)


def _build(
    kind: str,
    adapt: Any,
    items: Iterable[Any],
    run_args: dict[str, Any],
    registry: Registry,
    skipped: dict[str, str] | None = None,
) -> list[Component]:
    components = []
    for item in items:
        config, obj, dist = _resolve(kind, item, registry)
        try:
            built: Reward | Metric = adapt(obj, **_with_run_args(obj, config.args, run_args))
        except Exception as exc:  # a constructor that refuses its args (or their absence)
            error = plugins.PluginError(f"{kind} {config.key!r}: bad args {config.args}: {exc}")
            if skipped is None:
                if isinstance(exc, TypeError):
                    raise error from exc
                raise
            skipped[config.key] = str(error if isinstance(exc, TypeError) else exc)
            continue
        components.append(Component(config.key, config.weight, config, built, dist))
    _unique(components)
    return components


def close_all(components: Iterable[Component]) -> None:
    """Close built components that were only built to be looked at (their models never loaded)."""
    for component in components:
        getattr(component.reward, "close", lambda: None)()


def _unique(components: list[Component]) -> None:
    seen: set[str] = set()
    for c in components:
        if c.key in seen:
            raise plugins.PluginError(f"{c.key!r} is configured twice; give the second one an 'as' name")
        seen.add(c.key)

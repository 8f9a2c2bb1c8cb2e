"""Run configuration: which rewards (with weights and args) and which metrics.

The file shape is the one ms-swift users already write::

    rewards:
      - {name: entropy, weight: 0.3}
      - {name: toxicity, weight: 1.0, args: {threshold: 0.5}}
      - {name: toxicity, as: toxicity_strict, args: {threshold: 0.2}}
    metrics: [distinct, {name: self_bleu, args: {n: 4}}]
    missing: skip

``as`` gives a second name, so one reward can run twice with different args.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

MISSING_POLICIES = ("skip", "renormalize", "propagate")


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the entry."""


@dataclass
class ComponentConfig:
    """One configured reward or metric: ``{name, weight, args, as}``."""

    name: str
    weight: float = 1.0
    args: dict[str, Any] = field(default_factory=dict)
    alias: str | None = None

    @property
    def key(self) -> str:
        """The column this component writes: ``as`` when given, else ``name``."""
        return self.alias or self.name

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["as"] = data.pop("alias")
        return data


@dataclass
class RunConfig:
    rewards: list[ComponentConfig] = field(default_factory=list)
    metrics: list[ComponentConfig] = field(default_factory=list)
    missing: str = "skip"
    tokenize: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rewards": [c.to_dict() for c in self.rewards],
            "metrics": [c.to_dict() for c in self.metrics],
            "missing": self.missing,
            "tokenize": self.tokenize,
        }


def parse_component(item: Any, where: str = "config") -> ComponentConfig:
    """A config entry from a name, ``"name:weight"``, a dict, or a :class:`ComponentConfig`."""
    if isinstance(item, ComponentConfig):
        return item
    if isinstance(item, str):
        name, _, weight = item.partition(":")
        if not name.strip():
            raise ConfigError(f"{where}: empty name in {item!r}")
        try:
            return ComponentConfig(name.strip(), float(weight) if weight else 1.0)
        except ValueError:
            raise ConfigError(f"{where}: weight in {item!r} is not a number") from None
    if isinstance(item, dict):
        unknown = set(item) - {"name", "weight", "args", "as"}
        if unknown:
            raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)} (allowed: name, weight, args, as)")
        if not isinstance(item.get("name"), str):
            raise ConfigError(f"{where}: field 'name' is required and must be a string")
        args = item.get("args") or {}
        if not isinstance(args, dict):
            raise ConfigError(f"{where}: field 'args' of {item['name']!r} must be a mapping")
        try:
            weight = float(item.get("weight", 1.0))
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: field 'weight' of {item['name']!r} is not a number") from None
        return ComponentConfig(item["name"], weight, dict(args), item.get("as"))
    raise ConfigError(f"{where}: cannot read {item!r} as a reward or metric entry")


def parse_components(items: Any, where: str) -> list[ComponentConfig]:
    if items is None:
        return []
    if isinstance(items, str):
        items = [part for part in items.split(",") if part.strip()]
    if not isinstance(items, list):
        raise ConfigError(f"{where}: expected a list")
    parsed = [parse_component(item, f"{where}[{i}]") for i, item in enumerate(items)]
    seen: set[str] = set()
    for c in parsed:
        if c.key in seen:
            raise ConfigError(f"{where}: {c.key!r} appears twice; give the second one an 'as' name")
        seen.add(c.key)
    return parsed


def load_config(source: str | Path | dict[str, Any]) -> RunConfig:
    """Read a YAML (or JSON) config file, or a dict of the same shape."""
    where = "config"
    if isinstance(source, (str, Path)):
        where = str(source)
        try:
            data = yaml.safe_load(Path(source).read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ConfigError(f"{where}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{where}: not valid YAML: {exc}") from None
    else:
        data = source
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the top level must be a mapping with 'rewards' and/or 'metrics'")
    unknown = set(data) - {"rewards", "metrics", "missing", "tokenize"}
    if unknown:
        raise ConfigError(f"{where}: unknown top-level field(s) {sorted(unknown)}")
    missing = data.get("missing", "skip")
    if missing not in MISSING_POLICIES:
        raise ConfigError(f"{where}: 'missing' must be one of {', '.join(MISSING_POLICIES)}")
    return RunConfig(
        parse_components(data.get("rewards"), f"{where}: rewards"),
        parse_components(data.get("metrics"), f"{where}: metrics"),
        missing,
        data.get("tokenize"),
    )

"""Run configuration: which rewards (with weights and args) and which metrics.

The file shape is the one ms-swift users already write::

    rewards:
      - {name: entropy, weight: 0.3}
      - {name: toxicity, weight: 1.0, args: {threshold: 0.5}}
      - {name: toxicity, as: toxicity_strict, args: {threshold: 0.2}}
    metrics: [distinct, {name: self_bleu, args: {n: 4}}]
    missing: skip
    aggregation: sum          # or normalize_then_sum, gdpo (rewardhub.aggregation)

``as`` gives a second name, so one reward can run twice with different args.

Every value is checked for its type (a weight is a finite number, ``as`` and ``tokenize`` are
strings, ``args`` a mapping): a wrong one is a :class:`ConfigError` naming the entry, never a
traceback later. A YAML file is read within limits (:data:`MAX_CONFIG_BYTES`, and at most
:data:`MAX_CONFIG_NODES` values once aliases are expanded, :data:`MAX_CONFIG_DEPTH` levels deep),
so an alias bomb is refused at once; every adapter reading ``REWARDHUB_CONFIG`` comes through
:func:`load_config`. Tested in ``tests/test_config.py``.
"""

from __future__ import annotations

import math
import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MISSING_POLICIES = ("skip", "renormalize", "propagate")
AGGREGATIONS = ("sum", "normalize_then_sum", "gdpo")  # (the math: rewardhub.aggregation)
MAX_CONFIG_BYTES = 1 << 20
MAX_CONFIG_NODES = 100_000
MAX_CONFIG_DEPTH = 32


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
    aggregation: str = "sum"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rewards": [c.to_dict() for c in self.rewards],
            "metrics": [c.to_dict() for c in self.metrics],
            "missing": self.missing,
            "tokenize": self.tokenize,
            "aggregation": self.aggregation,
        }


def _weight(value: Any, where: str, name: str) -> float:
    """A weight: a finite number (``"0.5"`` from the command line too), never a bool or NaN."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{where}: weight of {name!r} must be a number, got {type(value).__name__}")
    try:
        weight = float(value)
    except ValueError:
        raise ConfigError(f"{where}: weight in {f'{name}:{value}'!r} is not a number") from None
    except OverflowError:
        raise ConfigError(f"{where}: weight of {name!r} is too large") from None
    if not math.isfinite(weight):
        raise ConfigError(f"{where}: weight of {name!r} must be a finite number, got {value!r}")
    return weight


def parse_component(item: Any, where: str = "config") -> ComponentConfig:
    """A config entry from a name, ``"name:weight"``, a dict, or a :class:`ComponentConfig`."""
    if isinstance(item, ComponentConfig):
        return item
    if isinstance(item, str):
        name, colon, weight = item.partition(":")
        name = name.strip()
        if not name:
            raise ConfigError(f"{where}: empty name in {item!r}")
        if colon and not weight.strip():
            raise ConfigError(f"{where}: weight in {item!r} is not a number")
        return ComponentConfig(name, _weight(weight.strip(), where, name) if colon else 1.0)
    if isinstance(item, dict):
        unknown = set(item) - {"name", "weight", "args", "as"}
        if unknown:
            allowed = "allowed: name, weight, args, as"
            raise ConfigError(f"{where}: unknown field(s) {sorted(map(str, unknown))} ({allowed})")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}: field 'name' is required and must be a string")
        args = item.get("args")
        if args is None:
            args = {}
        if not isinstance(args, dict) or not all(isinstance(k, str) for k in args):
            raise ConfigError(f"{where}: field 'args' of {name!r} must be a mapping of names to values")
        alias = item.get("as")
        if alias is not None and (not isinstance(alias, str) or not alias.strip()):
            raise ConfigError(f"{where}: field 'as' of {name!r} must be a non-empty string")
        if "tokenize" in args and not isinstance(args["tokenize"], str):
            raise ConfigError(f"{where}: args.tokenize of {name!r} must be a string such as 'auto' or 'hf:NAME'")
        weight = _weight(item["weight"], where, name) if "weight" in item else 1.0
        return ComponentConfig(name, weight, dict(args), alias)
    raise ConfigError(f"{where}: cannot read {item!r} as a reward or metric entry")


def parse_components(items: Any, where: str) -> list[ComponentConfig]:
    if items is None:
        return []
    if isinstance(items, str):
        items = [part for part in items.split(",") if part.strip()]
    if not isinstance(items, list):
        raise ConfigError(f"{where}: expected a list, got {type(items).__name__}")
    parsed = [parse_component(item, f"{where}[{i}]") for i, item in enumerate(items)]
    seen: set[str] = set()
    for c in parsed:
        if c.key in seen:
            raise ConfigError(f"{where}: {c.key!r} appears twice; give the second one an 'as' name")
        seen.add(c.key)
    return parsed


def read_yaml(path: str | Path) -> Any:
    """The YAML (or JSON) document in ``path``, read within the size, node and depth limits."""
    where = str(path)
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise ConfigError(f"{where}: not a regular file")
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{where}: {exc.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{where}: over the {MAX_CONFIG_BYTES >> 10} KiB limit for a config file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not valid UTF-8") from None
    import yaml  # imported here: the CLI's start-up stays light

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node, where)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {' '.join(str(exc).split())}") from None
    finally:
        loader.dispose()


def _check_size(root: Any, where: str) -> None:
    """Refuse a YAML graph too large once aliases are expanded (a "billion laughs"), too deep,
    or referring to itself. Each node is sized once, so the check is linear in the file."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: Any, depth: int) -> int:
        if depth > MAX_CONFIG_DEPTH:
            raise ConfigError(f"{where}: nested more than {MAX_CONFIG_DEPTH} levels deep")
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise ConfigError(f"{where}: an alias refers to the value that contains it")
        open_nodes.add(key)
        total = 1
        if isinstance(node.value, list):
            for child in node.value:
                parts = child if isinstance(child, tuple) else (child,)  # mapping items are pairs
                for part in parts:
                    total += size(part, depth + 1)
                    if total > MAX_CONFIG_NODES:
                        raise ConfigError(
                            f"{where}: over {MAX_CONFIG_NODES:,} values once its aliases are expanded; "
                            "a config file is not that large"
                        )
        open_nodes.discard(key)
        sizes[key] = total
        return total

    size(root, 0)


def load_config(source: str | Path | dict[str, Any]) -> RunConfig:
    """Read a YAML (or JSON) config file, or a dict of the same shape."""
    where = "config"
    if isinstance(source, (str, Path)):
        where = str(source)
        data = read_yaml(source)
        data = {} if data is None else data
    else:
        data = source
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the top level must be a mapping with 'rewards' and/or 'metrics'")
    unknown = set(data) - {"rewards", "metrics", "missing", "tokenize", "aggregation"}
    if unknown:
        raise ConfigError(f"{where}: unknown top-level field(s) {sorted(map(str, unknown))}")
    missing = data.get("missing", "skip")
    if missing not in MISSING_POLICIES:
        raise ConfigError(f"{where}: 'missing' must be one of {', '.join(MISSING_POLICIES)}")
    aggregation = data.get("aggregation", "sum")
    if aggregation not in AGGREGATIONS:
        raise ConfigError(f"{where}: 'aggregation' must be one of {', '.join(AGGREGATIONS)}")
    tokenize = data.get("tokenize")
    if tokenize is not None and not isinstance(tokenize, str):
        raise ConfigError(f"{where}: 'tokenize' must be a string such as 'auto', '13a' or 'hf:NAME'")
    return RunConfig(
        parse_components(data.get("rewards"), f"{where}: rewards"),
        parse_components(data.get("metrics"), f"{where}: metrics"),
        missing,
        tokenize,
        aggregation,
    )

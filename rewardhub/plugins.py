"""The plugin manager: built-ins, then every installed distribution's ``rewardhub`` entry points.

``REWARDHUB_LOAD_PLUGINS=a,b`` loads only those distributions (an empty string loads none);
``block`` (the CLI's ``--disable``) keeps one out. A plugin that fails to import, or whose hook
raises, is recorded in :attr:`Registry.failures` with its distribution name and skipped: the
rest still load.
"""

from __future__ import annotations

import importlib
import os
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from rewardhub import hookspecs
from rewardhub.rewards import reward_name

ENTRY_POINT_GROUP = "rewardhub"

DEFAULT_PLUGINS = (
    "rewardhub.default_plugins.diversity",
    "rewardhub.default_plugins.commands",
)


class PluginError(Exception):
    """A reward or metric name that cannot be resolved (unknown, or claimed by two plugins)."""


@dataclass
class PluginInfo:
    """A loaded plugin: its pluggy name, distribution and version, and what it registered."""

    name: str
    distribution: str
    version: str
    rewards: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    builtin: bool = False


@dataclass
class PluginFailure:
    plugin: str
    distribution: str
    error: str


@dataclass
class Entry:
    """A registered reward or metric: the object to build, and who registered it."""

    name: str
    kind: str  # "reward" or "metric"
    obj: Any
    plugin: str
    distribution: str

    @property
    def version(self) -> str:
        return str(getattr(self.obj, "version", "0"))

    @property
    def description(self) -> str:
        text = getattr(self.obj, "description", "") or (self.obj.__doc__ or "")
        return text.strip().split("\n")[0]


@dataclass
class Registry:
    """What the loaded plugins registered, with the failures and name clashes found on the way."""

    plugins: list[PluginInfo]
    rewards: dict[str, Entry]
    metrics: dict[str, Entry]
    failures: list[PluginFailure]
    clashes: dict[tuple[str, str], list[Entry]]

    def entry(self, kind: str, name: str) -> Entry:
        if (kind, name) in self.clashes:
            owners = " and ".join(f"{e.distribution} ({e.plugin})" for e in self.clashes[(kind, name)])
            raise PluginError(f"{kind} name {name!r} is registered by both {owners}; uninstall or --disable one")
        table = self.rewards if kind == "reward" else self.metrics
        if name not in table:
            known = ", ".join(sorted(table)) or "none"
            raise PluginError(f"unknown {kind} {name!r} (installed: {known})")
        return table[name]


def _allowed_distributions() -> set[str] | None:
    value = os.environ.get("REWARDHUB_LOAD_PLUGINS")
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _normalize(name: str) -> str:
    return name.lower().replace("_", "-")


def build_plugin_manager(
    block: Iterable[str] = (),
) -> tuple[pluggy.PluginManager, dict[str, PluginInfo], list[PluginFailure]]:
    """A plugin manager with the built-ins and the installed plugins allowed by the environment.

    ``block`` names plugins or distributions to keep out. Returns the manager, a
    :class:`PluginInfo` per loaded plugin and the failures met while importing.
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    blocked = {_normalize(b) for b in block}
    infos: dict[str, PluginInfo] = {}
    failures: list[PluginFailure] = []
    version = _host_version()
    allowed = _allowed_distributions()

    for module_name in DEFAULT_PLUGINS:
        short = module_name.rsplit(".", 1)[-1]
        if _normalize(module_name) in blocked or _normalize(short) in blocked:
            continue
        try:
            pm.register(importlib.import_module(module_name), name=module_name)
        except Exception as exc:  # a broken built-in is reported like any other plugin
            failures.append(PluginFailure(module_name, "rewardhub", _describe(exc)))
            continue
        infos[module_name] = PluginInfo(module_name, "rewardhub", version, builtin=True)

    for name, plugin in _extra.items():
        if _normalize(name) not in blocked:
            pm.register(plugin, name=name)
            infos[name] = PluginInfo(name, getattr(plugin, "__name__", name), "local")

    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist else ep.name
        if allowed is not None and dist not in allowed and ep.name not in allowed:
            continue
        if {_normalize(ep.name), _normalize(dist)} & blocked or pm.has_plugin(ep.name):
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as exc:  # a broken plugin must not take the others down
            failures.append(PluginFailure(ep.name, dist, _describe(exc)))
            continue
        infos[ep.name] = PluginInfo(ep.name, dist, ep.dist.version if ep.dist else "?")
    return pm, infos, failures


def collect(pm: pluggy.PluginManager, infos: dict[str, PluginInfo], failures: list[PluginFailure]) -> Registry:
    """Call every plugin's registration hooks, one plugin at a time, and build the registry.

    Hooks are called one by one (not through ``pm.hook``) so each registration is attributed
    to its plugin and a hook that raises is isolated.
    """
    rewards: dict[str, Entry] = {}
    metrics: dict[str, Entry] = {}
    clashes: dict[tuple[str, str], list[Entry]] = {}

    for hook_name, kind, table in (("register_rewards", "reward", rewards), ("register_metrics", "metric", metrics)):
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            info = infos.get(impl.plugin_name) or PluginInfo(impl.plugin_name, impl.plugin_name, "?")
            infos.setdefault(impl.plugin_name, info)
            added: list[Entry] = []

            def register(
                obj: Any,
                *,
                name: str | None = None,
                _added: list[Entry] = added,
                _kind: str = kind,
                _info: PluginInfo = info,
            ) -> None:
                _added.append(Entry(name or reward_name(obj), _kind, obj, _info.name, _info.distribution))

            try:
                impl.function(register=register)
            except Exception as exc:
                failures.append(PluginFailure(info.name, info.distribution, f"{hook_name}: {_describe(exc)}"))
                continue
            for entry in added:
                key = (kind, entry.name)
                if key in clashes:
                    clashes[key].append(entry)
                elif entry.name in table:
                    clashes[key] = [table.pop(entry.name), entry]
                else:
                    table[entry.name] = entry
                (info.rewards if kind == "reward" else info.metrics).append(entry.name)

    for plugin_name, plugin in pm.list_name_plugin():
        if plugin_name in infos:
            infos[plugin_name].hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
    return Registry(list(infos.values()), rewards, metrics, failures, clashes)


def load(block: Iterable[str] = ()) -> Registry:
    """Load every allowed plugin and return what they registered."""
    pm, infos, failures = build_plugin_manager(block)
    return collect(pm, infos, failures)


_cache: dict[tuple[str, ...], tuple[pluggy.PluginManager, Registry]] = {}
_extra: dict[str, Any] = {}


def add(plugin: Any, name: str) -> None:
    """Register a plugin object (a module or class with hookimpls) in this process.

    For notebooks and tests: ``rewardhub.plugins.add(MyPlugin, "my-plugin")``; undo with
    :func:`remove`.
    """
    _extra[name] = plugin
    reset()


def remove(name: str) -> None:
    _extra.pop(name, None)
    reset()


def get(block: Iterable[str] = ()) -> tuple[pluggy.PluginManager, Registry]:
    """The process-wide plugin manager and registry (loaded once per ``block`` set)."""
    key = tuple(sorted(block)) + (os.environ.get("REWARDHUB_LOAD_PLUGINS", "\0"),)
    if key not in _cache:
        pm, infos, failures = build_plugin_manager(block)
        _cache[key] = (pm, collect(pm, infos, failures))
    return _cache[key]


def registry(block: Iterable[str] = ()) -> Registry:
    return get(block)[1]


def reset() -> None:
    """Forget the loaded plugins (tests that install or register plugins call this)."""
    _cache.clear()


def _host_version() -> str:
    from rewardhub import __version__

    return __version__


def _describe(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {last[0].filename}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"

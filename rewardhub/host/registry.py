"""The plugin manager: built-ins, then every installed distribution's ``rewardhub`` entry points.

``REWARDHUB_LOAD_PLUGINS=a,b`` loads only those distributions (an empty string loads none);
``block`` (the CLI's ``--disable``) keeps one out. Both act before any plugin code is imported
(entry points are filtered by name and distribution before ``ep.load()``), and both compare
names normalized as PEP 503 does (``rewardhub_entropy`` == ``Rewardhub.Entropy`` ==
``rewardhub-entropy``); a name that matches nothing is reported in :attr:`Registry.warnings`
with the known names. Two distributions declaring the same entry point name are both loaded.

A plugin that fails to import, whose hook raises (``SystemExit`` and ``KeyboardInterrupt``
included, unless the user really pressed Ctrl-C), or that registers something that is not a
reward or metric, is recorded in :attr:`Registry.failures` with its distribution name and that
part is skipped: the rest still load. Tested in ``tests/test_plugin_loading.py`` and
``tests/test_plugin_faults.py``.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from rewardhub.host import hookspecs
from rewardhub.host.faults import PLUGIN_EXITS, describe, is_user_interrupt, sigints, watching_sigint
from rewardhub.host.kinds import reward_name, usable_as

ENTRY_POINT_GROUP = "rewardhub"

DEFAULT_PLUGINS = ("rewardhub.default_plugins.diversity",)


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
    #: Every name ``block`` and ``REWARDHUB_LOAD_PLUGINS`` may use (plugins and distributions).
    known_names: list[str] = field(default_factory=list)
    #: Problems worth telling the user that are not failures (unknown names to block or load).
    warnings: list[str] = field(default_factory=list)

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


def normalize_name(name: str) -> str:
    """A plugin or distribution name as PEP 503 compares them: ``Rewardhub_Entropy`` ->
    ``rewardhub-entropy``."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class _Selection:
    """Which names the user blocked or allowed, and which of those matched something."""

    blocked: set[str]
    allowed: set[str] | None
    seen: set[str] = field(default_factory=set)  # normalized names that exist
    known: set[str] = field(default_factory=set)  # the names as spelled, for messages

    def know(self, *names: str) -> set[str]:
        self.known.update(names)
        normalized = {normalize_name(n) for n in names}
        self.seen |= normalized
        return normalized

    def unknown(self, names: Iterable[str]) -> list[str]:
        return sorted(n for n in names if normalize_name(n) not in self.seen)

    def warnings(self, block: Iterable[str]) -> list[str]:
        known = ", ".join(sorted(self.known)) or "none"
        out = [f"unknown plugin {name!r} in the disabled names (known: {known})" for name in self.unknown(block)]
        if self.allowed is not None:
            env = os.environ.get("REWARDHUB_LOAD_PLUGINS", "").split(",")
            out += [
                f"unknown plugin {name!r} in REWARDHUB_LOAD_PLUGINS (known: {known})"
                for name in self.unknown(n.strip() for n in env if n.strip())
            ]
        return out


def _build(
    block: list[str],
) -> tuple[pluggy.PluginManager, dict[str, PluginInfo], list[PluginFailure], _Selection]:
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    allowed = _allowed_distributions()
    selection = _Selection(
        {normalize_name(b) for b in block}, None if allowed is None else {normalize_name(a) for a in allowed}
    )
    infos: dict[str, PluginInfo] = {}
    failures: list[PluginFailure] = []
    version = _host_version()

    with watching_sigint():
        for module_name in DEFAULT_PLUGINS:
            names = selection.know(module_name, module_name.rsplit(".", 1)[-1])
            if names & selection.blocked:
                continue
            error = _guarded(lambda m=module_name: pm.register(importlib.import_module(m), name=m))
            if error:  # a broken built-in is reported like any other plugin
                failures.append(PluginFailure(module_name, "rewardhub", error))
                continue
            infos[module_name] = PluginInfo(module_name, "rewardhub", version, builtin=True)

        for name, plugin in _extra.items():
            if not selection.know(name) & selection.blocked:
                pm.register(plugin, name=name)
                infos[name] = PluginInfo(name, getattr(plugin, "__name__", name), "local")

        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist else ep.name
            names = selection.know(ep.name, dist)
            if selection.allowed is not None and not names & selection.allowed:
                continue
            if names & selection.blocked:
                continue  # before ep.load(): a blocked plugin's code never runs
            # Two distributions may declare the same entry point name: both load, the second
            # under a name that says whose it is.
            name = ep.name if not pm.has_plugin(ep.name) else f"{ep.name} ({dist})"
            error = _guarded(lambda ep=ep, name=name: pm.register(ep.load(), name=name))
            if error:  # a broken plugin must not take the others down
                failures.append(PluginFailure(name, dist, error))
                continue
            infos[name] = PluginInfo(name, dist, ep.dist.version if ep.dist else "?")
    return pm, infos, failures, selection


def _guarded(action: Any) -> str | None:
    """Run plugin code; its error as text (``SystemExit``/``KeyboardInterrupt`` included),
    or ``None``. A real Ctrl-C propagates."""
    interrupts = sigints()
    try:
        action()
    except (Exception, *PLUGIN_EXITS) as exc:
        if is_user_interrupt(exc, interrupts):
            raise
        return describe(exc, where=True)
    return None


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
                _hook: str = hook_name,
            ) -> None:
                problem = _unusable(_kind, obj, name)
                if problem:  # reported as this plugin's failure; its other registrations stand
                    failures.append(PluginFailure(_info.name, _info.distribution, f"{_hook}: {problem}"))
                    return
                _added.append(Entry(name or reward_name(obj), _kind, obj, _info.name, _info.distribution))

            with watching_sigint():
                error = _guarded(lambda f=impl.function, r=register: f(register=r))
            if error:
                failures.append(PluginFailure(info.name, info.distribution, f"{hook_name}: {error}"))
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


def _unusable(kind: str, obj: Any, name: Any) -> str | None:
    """Why ``obj`` cannot be registered as a ``kind``, or ``None`` when it can."""
    if name is not None and (not isinstance(name, str) or not name):
        return f"the name {name!r} given for {obj!r} is not a non-empty string; skipped"
    if not usable_as(kind, obj):
        return f"{obj!r} is not a {kind} (see rewardhub.Reward / rewardhub.Metric); skipped"
    if name is None:
        try:
            reward_name(obj)
        except TypeError as exc:
            return f"{exc}; skipped"
    return None


def load(block: Iterable[str] = ()) -> Registry:
    """Load every allowed plugin and return what they registered."""
    return _load(list(block))[1]


def _load(block: list[str]) -> tuple[pluggy.PluginManager, Registry]:
    pm, infos, failures, selection = _build(block)
    registry = collect(pm, infos, failures)
    registry.known_names = sorted(selection.known)
    registry.warnings = selection.warnings(block)
    return pm, registry


_cache: dict[tuple[str, ...], tuple[pluggy.PluginManager, Registry]] = {}
_extra: dict[str, Any] = {}


def add(plugin: Any, name: str) -> None:
    """Register a plugin object (a module or class with hookimpls) in this process.

    For notebooks and tests: ``rewardhub.host.registry.add(MyPlugin, "my-plugin")``; undo with
    :func:`remove`.
    """
    _extra[name] = plugin
    reset()


def remove(name: str) -> None:
    _extra.pop(name, None)
    reset()


def get(block: Iterable[str] = ()) -> tuple[pluggy.PluginManager, Registry]:
    """The process-wide plugin manager and registry (loaded once per ``block`` set)."""
    block = list(block)
    key = tuple(sorted(block)) + (os.environ.get("REWARDHUB_LOAD_PLUGINS", "\0"),)
    if key not in _cache:
        _cache[key] = _load(block)
    return _cache[key]


def registry(block: Iterable[str] = ()) -> Registry:
    return get(block)[1]


def reset() -> None:
    """Forget the loaded plugins (tests that install or register plugins call this)."""
    _cache.clear()


def _host_version() -> str:
    from rewardhub._version import __version__

    return __version__

"""Which rewards and metrics a run uses: ``--config``, ``--rewards``, ``--metrics`` and the
presets, resolved against the installed plugins.

The config file comes first, and explicit lists override its lists. Without a config file,
what is not named follows what is named (tested in ``tests/test_eval_defaults.py``):

- nothing named: every installed reward (narrowed to the data before the run:
  :mod:`rewardhub.config.defaults`) and every installed metric;
- only ``--metrics``: no rewards; only ``--rewards``: the host's own metrics (``builtin``:
  cheap, no model);
- the presets ``none``, ``builtin`` (the host's own) and ``all`` (every installed) name a whole
  set; an empty list is an error that says how to name nothing.

A preset keeps only what can be built without args, never stopping the run: the default run
lists the rewards that need args (a judge's ``base_url``, a reward model's ``model``) in
:attr:`ResolvedConfig.left_out`, which ``eval`` folds into its one "leaves out" line with the
rewards that do not apply to the data; an explicit preset (``--rewards all``) warns. The weighted total exists
only when the user chose the rewards and their weights (``--rewards``, ``--config``): the
default shows components side by side, since unrelated scales do not add up.

``eval``, ``serve``, ``compare`` and ``report`` all resolve through :func:`resolve_config`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardhub.config.build import build_metrics, build_rewards, close_all
from rewardhub.config.files import ComponentConfig, ConfigError, RunConfig, load_config, parse_components
from rewardhub.host import registry as plugins
from rewardhub.host.registry import Registry

#: Whole-value presets of ``--rewards`` / ``--metrics``.
PRESETS = ("none", "builtin", "all")

#: What ``--rewards`` / ``--metrics`` / a Python caller may give: names or entries, a
#: comma-separated string (maybe a preset), or ``None`` for the default.
Selection = Sequence[Any] | str | None


@dataclass
class ResolvedConfig:
    """The run's configuration, whether the user chose the rewards (then it has a total),
    warnings for people (rewards a preset left out), and whether the rewards are the default's
    (narrowed to the data before the run)."""

    run: RunConfig
    with_total: bool
    warnings: list[str] = field(default_factory=list)
    default_rewards: bool = False
    #: The default run's rewards that cannot be built without args: ``{name: why}``.
    left_out: dict[str, str] = field(default_factory=dict)


def resolve_config(
    options: Any = None,
    *,
    rewards: Selection = None,
    metrics: Selection = None,
    config: str | Path | dict[str, Any] | None = None,
    missing: str | None = None,
    tokenize: str | None = None,
    block: Sequence[str] = (),
    registry: Registry | None = None,
) -> ResolvedConfig:
    """The run's config (see the module doc). ``registry``: the plugins to resolve against
    (default: the process's, without ``block``). ``options``: an object with these fields as
    attributes (an :class:`~rewardhub.evaluate.EvalOptions`), the older way to call this."""
    if options is not None:
        rewards, metrics, config = options.rewards, options.metrics, options.config
        missing, tokenize, block = options.missing, options.tokenize, options.block
    registry = registry or plugins.registry(block)
    run = load_config(config) if config else RunConfig()
    warnings: list[str] = []
    chosen_rewards = _choose(rewards, "reward", "--rewards", registry, warnings)
    chosen_metrics = _choose(metrics, "metric", "--metrics", registry, warnings)
    if chosen_rewards is not None:
        run.rewards = chosen_rewards
    if chosen_metrics is not None:
        run.metrics = chosen_metrics
    chose_rewards = config is not None or chosen_rewards is not None
    default_rewards = False
    left_out: dict[str, str] = {}
    if config is None:
        if chosen_rewards is None:
            default_rewards = _names_nothing(metrics)
            run.rewards = _preset("all", "reward", registry, warnings, left_out) if default_rewards else []
        if chosen_metrics is None:
            preset = "all" if _names_nothing(rewards) else "builtin"
            run.metrics = _preset(preset, "metric", registry, warnings)
    run.missing = missing or run.missing
    run.tokenize = tokenize or run.tokenize
    return ResolvedConfig(run, chose_rewards and bool(run.rewards), warnings, default_rewards, left_out)


def _names_nothing(value: Selection) -> bool:
    """Whether a ``--rewards``/``--metrics`` value names nothing: absent, ``none`` or empty."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == "none"
    return len(value) == 0


def _choose(
    value: Selection, kind: str, flag: str, registry: Registry, warnings: list[str]
) -> list[ComponentConfig] | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text.replace(",", "").strip():
            shape = "NAME[:WEIGHT],..." if kind == "reward" else "NAME,..."
            raise ConfigError(f"{flag} is empty: name the {kind}s ({shape}), or '{flag} none' for no {kind}s")
        if text in PRESETS:
            return _preset(text, kind, registry, warnings)
        return parse_components(text, flag)
    return parse_components(list(value), flag)


def _preset(
    name: str, kind: str, registry: Registry, warnings: list[str], left_out: dict[str, str] | None = None
) -> list[ComponentConfig]:
    """``none``, ``builtin`` (the host's own) or ``all`` (every installed) rewards or metrics,
    each that can be built without args; the others go to ``left_out`` (``{key: why}``) when
    given, else to ``warnings``."""
    table = registry.rewards if kind == "reward" else registry.metrics
    if name == "none":
        return []
    names = sorted(n for n, e in table.items() if name == "all" or e.distribution == "rewardhub")
    configs = parse_components(names, f"{name} {kind}s")
    skipped: dict[str, str] = {}
    build = build_rewards if kind == "reward" else build_metrics
    close_all(build(configs, registry=registry, skipped=skipped))
    for key, why in skipped.items():
        if left_out is not None:
            left_out[key] = needs_args(why)
        else:
            warnings.append(f"{kind} {key!r} left out ({why}); name it with its args in --config")
    return [c for c in configs if c.key not in skipped]


def needs_args(why: str) -> str:
    """Why a reward that cannot be built without args was left out, in a few words: the
    arguments Python says are missing (``needs args: base_url, model``) where it names them."""
    found = _MISSING_ARGS.search(why)
    if found is None:
        return "cannot be built without args"
    names = re.findall(r"'(\w+)'", found.group(1))
    return f"needs args: {', '.join(names)}" if names else "cannot be built without args"


_MISSING_ARGS = re.compile(r"missing \d+ required (?:positional |keyword-only )?arguments?: (.*)")


__all__ = ["PRESETS", "ResolvedConfig", "Selection", "resolve_config"]

"""One way every trainer adapter gets its scorer: :func:`resolve_scorer`.

What a trainer's configuration may say, and which wins (the first that applies):

1. a scorer passed in (a :class:`~rewardhub.Scorer`, a :class:`~rewardhub.remote.RemoteScorer`,
   anything :class:`~rewardhub.engine.protocol.ScorerLike`) is used as it is;
2. a URL passed in (``url=``; verl's ``reward_kwargs.rewardhub_url``): a ``rewardhub serve``
   there, whose rewards the names passed in (if any) pick;
3. rewards passed in (names, ``"name:weight"``, entries, a config dict or a config file's path;
   verl's ``rewardhub_config``/``rewards``, OpenRLHF's ``rewardhub_config``): scored in process;
4. the ``REWARDHUB_URL`` variable: a ``rewardhub serve`` there, whose rewards the names in
   ``REWARDHUB_CONFIG`` (if any) pick;
5. the ``REWARDHUB_CONFIG`` variable (a config file's path, or comma-separated names): in process;
6. nothing: a ``ValueError`` saying what the trainer may set (ms-swift's file registers every
   installed reward instead: its own default, see :mod:`rewardhub.adapters.swift`).

Arguments beat the environment; a URL beats rewards at the same level (names then pick). The
token is ``token=`` (verl: ``reward_kwargs.rewardhub_token``), else ``REWARDHUB_TOKEN``;
``missing`` overrides a local config's policy (a server's is its own). A config (a file or a
dict) together with a URL is refused: the server's config decides its rewards.

:func:`shared_scorer` resolves the same way and keeps one scorer per resolution for the life
of the process (models stay loaded): the one cache the file-based adapters (verl, OpenRLHF)
share; :func:`scoring` serialises calls of an in-process scorer (rewards need not be
reentrant) and lets a remote one's overlap (the server batches them). Tested in
``tests/test_adapters_resolve.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardhub.engine import Scorer
from rewardhub.engine.protocol import ScorerLike, is_scorer_like

#: The variable naming the rewards (a config file, or comma-separated names).
CONFIG_ENV = "REWARDHUB_CONFIG"
#: The variable naming a ``rewardhub serve`` to score with.
URL_ENV = "REWARDHUB_URL"
#: The variable holding that server's token.
TOKEN_ENV = "REWARDHUB_TOKEN"

_CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Resolution:
    """Where the scorer comes from: ``rewards`` (names, entries, a config) scored in process,
    or ``url`` (a server; ``rewards`` then names some of its rewards), and from which step of
    the precedence (``"argument"`` or ``"environment"``)."""

    rewards: Any = None
    url: str | None = None
    token: str | None = None
    missing: str | None = None
    source: str = "argument"

    @property
    def remote(self) -> bool:
        return self.url is not None

    def key(self) -> str:
        """A cache key: equal resolutions share a scorer (the token only as a hash)."""
        token = hashlib.sha256(self.token.encode()).hexdigest() if self.token else None
        rewards = str(self.rewards) if isinstance(self.rewards, Path) else self.rewards
        return json.dumps([rewards, self.url, token, self.missing], sort_keys=True, default=repr)


def is_config_path(value: Any) -> bool:
    """Whether ``value`` names a config file (rather than reward names)."""
    return isinstance(value, Path) or (
        isinstance(value, str) and (value.endswith(_CONFIG_SUFFIXES) or os.path.isfile(value))
    )


def resolve(
    rewards: Any = None,
    *,
    url: str | None = None,
    token: str | None = None,
    missing: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Resolution | None:
    """Steps 2 to 5 of the precedence (see the module doc); ``None`` when nothing applies."""
    environ = os.environ if environ is None else environ
    token = token if token is not None else environ.get(TOKEN_ENV) or None
    if url:
        return Resolution(rewards, url, token, missing)
    if rewards is not None:
        return Resolution(rewards, None, token, missing)
    if environ.get(URL_ENV):
        return Resolution(environ.get(CONFIG_ENV) or None, environ[URL_ENV], token, missing, "environment")
    if environ.get(CONFIG_ENV):
        return Resolution(environ[CONFIG_ENV], None, token, missing, "environment")
    return None


def resolve_scorer(
    rewards: Any = None,
    *,
    url: str | None = None,
    token: str | None = None,
    missing: str | None = None,
    needs: str = "",
    environ: Mapping[str, str] | None = None,
) -> ScorerLike:
    """The scorer the precedence gives (see the module doc), built now. ``needs`` says, in the
    error when nothing is configured, what this trainer may set."""
    if is_scorer_like(rewards):
        return rewards
    resolution = resolve(rewards, url=url, token=token, missing=missing, environ=environ)
    if resolution is None:
        raise ValueError(f"rewardhub: no rewards given: {needs or _NEEDS}")
    return build(resolution)


def build(resolution: Resolution) -> ScorerLike:
    """A new scorer for ``resolution``."""
    rewards = resolution.rewards
    if resolution.remote:
        from rewardhub.remote import RemoteScorer

        if is_config_path(rewards) or isinstance(rewards, dict):
            raise ValueError("rewardhub: give a config or a url, not both: the server's config decides its rewards")
        names = split_names(rewards) if isinstance(rewards, str) else rewards
        if names is not None and not all(isinstance(n, str) for n in names):
            raise ValueError("rewardhub: with a url, rewards are picked by name (the server builds them)")
        return RemoteScorer(resolution.url, token=resolution.token, rewards=None if names is None else list(names))
    kwargs = {} if resolution.missing is None else {"missing": resolution.missing}
    if is_config_path(rewards):
        return Scorer.from_config(str(rewards), **kwargs)
    if isinstance(rewards, dict):
        return Scorer.from_config(rewards, **kwargs)
    if isinstance(rewards, str):
        rewards = split_names(rewards)
    return Scorer(list(rewards), **kwargs)


_NEEDS = f"pass reward names, a config or url=..., or set {CONFIG_ENV} or {URL_ENV}"

_shared: dict[str, ScorerLike] = {}
_shared_lock = threading.Lock()
_call_locks: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()


def shared_scorer(
    rewards: Any = None,
    *,
    url: str | None = None,
    token: str | None = None,
    missing: str | None = None,
    needs: str = "",
) -> ScorerLike:
    """:func:`resolve_scorer`, built once per resolution and kept for the life of the process."""
    if is_scorer_like(rewards):
        return rewards
    resolution = resolve(rewards, url=url, token=token, missing=missing)
    if resolution is None:
        raise ValueError(f"rewardhub: no rewards given: {needs or _NEEDS}")
    key = resolution.key()
    with _shared_lock:
        if key not in _shared:
            _shared[key] = build(resolution)
        return _shared[key]


def clear_shared() -> None:
    """Close and forget the shared scorers (tests, and a trainer that reconfigures)."""
    with _shared_lock:
        for scorer in _shared.values():
            scorer.close()
        _shared.clear()


@contextlib.contextmanager
def scoring(scorer: ScorerLike) -> Iterator[None]:
    """Hold the scorer's own lock while it scores in this process (its rewards need not be
    reentrant); nothing for a remote one, whose calls may overlap (the server batches them)."""
    if not isinstance(scorer, Scorer):
        yield
        return
    with _shared_lock:
        lock = _call_locks.setdefault(scorer, threading.Lock())
    with lock:
        yield


def configured(resolution: Resolution) -> tuple[list[Any], str]:
    """The reward entries (:class:`~rewardhub.config.ComponentConfig`) a resolution names and the
    config's ``aggregation``, without building a reward (no model loads): a server's rewards by
    key and weight (``sum``: a server's aggregation is its own), a config file's or dict's
    entries, or names."""
    from rewardhub.config import ComponentConfig, load_config, parse_components

    if resolution.remote:
        return [ComponentConfig(c.key, c.weight) for c in build(resolution).components], "sum"
    if is_config_path(resolution.rewards) or isinstance(resolution.rewards, dict):
        run = load_config(resolution.rewards)
        return run.rewards, run.aggregation
    rewards = resolution.rewards
    return parse_components(split_names(rewards) if isinstance(rewards, str) else rewards, "rewards"), "sum"


def split_names(names: str) -> list[str]:
    return [part.strip() for part in names.split(",") if part.strip()]


__all__ = [
    "CONFIG_ENV",
    "TOKEN_ENV",
    "URL_ENV",
    "Resolution",
    "ScorerLike",
    "clear_shared",
    "configured",
    "is_config_path",
    "resolve",
    "resolve_scorer",
    "scoring",
    "shared_scorer",
]

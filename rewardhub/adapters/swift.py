"""rewardhub rewards in ms-swift's ``orms`` registry, for ``--external_plugins``.

::

    swift rlhf --rlhf_type grpo ... \\
        --external_plugins "$(python -c 'import rewardhub.adapters.swift as m; print(m.__file__)')" \\
        --reward_funcs toxicity entropy --reward_weights 1.0 0.3

Loading this file registers one ORM per installed rewardhub reward, under the reward's name
(``rewardhub_<name>`` when ms-swift already has an ORM of that name). With ``REWARDHUB_CONFIG``
set (a config file, or comma-separated names) the configured entries are registered instead,
under their ``as`` names and with their ``args``. With ``REWARDHUB_URL`` set (a running
``rewardhub serve``) the server's rewards are registered and scored there. Each ORM is ``__call__(completions, **kwargs)
-> list[float | None]`` (ms-swift turns ``None`` into NaN and leaves it out of its ``nansum``).

The ORMs ms-swift builds for one run share one scorer, and one scoring pass per batch. The
responses to one prompt (ms-swift's ``prompt_id``) form a group, so ``diversity_bonus`` works.
Works with ms-swift 4 (``swift.rewards``) and 3 (``swift.plugin``).

Several rewards: ms-swift takes per-reward lists (one ORM per component, ``--reward_funcs``)
and normalizes them itself with ``--reward_weights`` and ``--scale_rewards gdpo`` (each
component within its group, the weighted sum, then over the batch: GDPO);
:func:`grpo_args` gives those arguments for a config (``gdpo`` when its ``aggregation`` is
``gdpo`` or ``normalize_then_sum``). A ``None`` is NaN there, left out of the group's mean and
std (``nanmean``/``nanstd``) and read 0.0 after normalizing.

Watching the run: with ``REWARDHUB_RUN_DIR`` set, every batch ms-swift scores is recorded there
(:mod:`rewardhub.telemetry`) as the step ``trainer_state.global_step + 1``, with the response
lengths from ``response_token_ids`` where ms-swift passes them. Tested in
``tests/test_telemetry_adapters.py``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from rewardhub.adapters.batch import BatchMemo
from rewardhub.adapters.scorer import Resolution, build, configured, resolve
from rewardhub.config import ComponentConfig
from rewardhub.engine.results import ScoreBatch
from rewardhub.telemetry.trainer_hook import telemetry_for
from rewardhub.types import Sample, message_content

logger = logging.getLogger("rewardhub.swift")


def _swift_registry() -> tuple[type, dict[str, Any]]:
    """ms-swift's ORM base class and its ``orms`` dict, from where this release keeps them."""
    try:
        from swift.rewards import ORM, orms  # ms-swift 4
    except ImportError:
        from swift.plugin import ORM, orms  # ms-swift 3
    return ORM, orms


def configured_entries(resolution: Resolution | None = None) -> list[ComponentConfig]:
    """The entries to register, by :mod:`rewardhub.adapters.scorer`'s precedence (ms-swift's
    file takes no arguments: the environment decides): with ``REWARDHUB_URL``, the server's
    rewards (``REWARDHUB_CONFIG`` names pick some); else ``REWARDHUB_CONFIG`` (a config file,
    or names); else every installed reward."""
    resolution = resolve() if resolution is None else resolution
    if resolution is None:
        from rewardhub.host import registry as plugins

        return [ComponentConfig(name) for name in sorted(plugins.registry().rewards)]
    return configured(resolution)[0]


class Session:
    """The rewards ms-swift instantiated, one scorer over them, and the current batch."""

    def __init__(self, entries: Sequence[ComponentConfig], resolution: Resolution | None = None):
        self.entries = {e.key: e for e in entries}
        self.resolution = resolution
        self.active: list[str] = []  # keys, in the order ms-swift built their ORMs
        self._scorer: Any = None
        self.memo = BatchMemo(columns=1)

    def activate(self, key: str) -> None:
        if key not in self.active:
            self.active.append(key)
            self._scorer = None  # rebuilt over the new set on the next batch
            self.memo = BatchMemo(columns=len(self.active))

    @property
    def scorer(self) -> Any:
        if self._scorer is None:
            remote = self.resolution is not None and self.resolution.remote
            if remote:  # the server's rewards, by key
                picked = Resolution(list(self.active), self.resolution.url, self.resolution.token)
            else:  # the entries ms-swift built, under the config's aggregation (what telemetry records)
                aggregation = "sum" if self.resolution is None else configured(self.resolution)[1]
                rewards = [self.entries[k].to_dict() for k in self.active]
                picked = Resolution({"rewards": rewards, "aggregation": aggregation})
            self._scorer = build(picked)
        return self._scorer

    def score(self, completions: Sequence[str], kwargs: dict[str, Any]) -> ScoreBatch:
        return self.memo.get((completions,), lambda: self._scored(completions, kwargs))

    def _scored(self, completions: Sequence[str], kwargs: dict[str, Any]) -> ScoreBatch:
        samples = to_samples(completions, kwargs)
        batch = self.scorer.score(samples)
        hook = telemetry_for(None, "ms-swift")
        if hook is not None:
            ids = kwargs.get("response_token_ids")
            hook.record_trl(samples, batch, kwargs, ids if ids is not None and len(ids) == len(samples) else None)
        return batch


def to_samples(completions: Sequence[str], kwargs: dict[str, Any]) -> list[Sample]:
    """ms-swift's batch as samples: ``messages`` (the conversation, ending with the completion)
    gives the prompt, ``prompt_id`` the group, ``solution`` the reference, ``images`` the images;
    other columns go to ``meta``."""
    n = len(completions)
    messages = kwargs.get("messages") or [None] * n
    prompt_ids = kwargs.get("prompt_id") or [None] * n
    solutions = next((kwargs[f] for f in ("solution", "reference", "ground_truth") if kwargs.get(f) is not None), None)
    images = kwargs.get("images") or [None] * n
    skip = {
        "messages",
        "prompt_id",
        "solution",
        "reference",
        "ground_truth",
        "images",
        "trainer_state",
        "rollout_infos",
        "response_token_ids",
        "trajectory_inputs",
    }
    meta_cols = {k: v for k, v in kwargs.items() if k not in skip and isinstance(v, (list, tuple)) and len(v) == n}
    samples = []
    for i, completion in enumerate(completions):
        conversation = messages[i] or []
        prompt = [m for m in conversation[:-1] if isinstance(m, dict)] or None
        image = images[i]
        samples.append(
            Sample(
                response=completion if isinstance(completion, str) else message_content(completion),
                prompt=prompt,
                id=i,
                group=prompt_ids[i],
                reference=solutions[i] if solutions is not None else None,
                images=[] if image is None else list(image) if isinstance(image, (list, tuple)) else [image],
                meta={k: v[i] for k, v in meta_cols.items()},
            )
        )
    return samples


def make_orm(name: str, key: str, session: Session, base: type) -> type:
    """An ORM class named ``name`` (ms-swift logs ``rewards/<class name>/mean``) that reads the
    column ``key`` of the session's scoring pass."""

    def __init__(self: Any, args: Any = None, **kwargs: Any) -> None:
        base.__init__(self, args, **kwargs)
        session.activate(key)

    def __call__(self: Any, completions: Sequence[str], **kwargs: Any) -> list[float | None]:
        return list(session.score(completions, kwargs).components[key])

    namespace = {
        "__init__": __init__,
        "__call__": __call__,
        "__doc__": f"rewardhub reward {key!r} as an ms-swift ORM.",
        "rewardhub_key": key,
    }
    return type(name, (base,), namespace)


def register(
    orms: dict[str, Any] | None = None, base: type | None = None, entries: Sequence[ComponentConfig] | None = None
) -> dict[str, str]:
    """Put rewardhub rewards into ms-swift's ``orms``; returns ``{orm name: reward key}``.

    ``orms`` and ``base`` default to ms-swift's own registry and ORM class.
    """
    if orms is None or base is None:
        swift_base, swift_orms = _swift_registry()
        orms = swift_orms if orms is None else orms
        base = swift_base if base is None else base
    resolution = resolve()
    entries = configured_entries(resolution) if entries is None else list(entries)
    session = Session(entries, resolution)
    added: dict[str, str] = {}
    for entry in entries:
        name = entry.key
        if name in orms and not hasattr(orms[name], "rewardhub_key"):
            logger.warning("ms-swift already has an ORM %r; rewardhub's is registered as 'rewardhub_%s'", name, name)
            name = f"rewardhub_{name}"
        orms[name] = make_orm(name, entry.key, session, base)
        added[name] = entry.key
    return added


def grpo_args(config: Any = None, orms: dict[str, Any] | None = None) -> list[str]:
    """``swift rlhf`` arguments for these rewards (a config file's path, names, or, by default,
    ``$REWARDHUB_CONFIG``): ``--reward_funcs`` (the ORM names :func:`register` gives them: a name
    ms-swift already has gets ``rewardhub_``), ``--reward_weights``, and ``--scale_rewards gdpo``
    when the config's ``aggregation`` is ``gdpo`` or ``normalize_then_sum``."""
    resolution = resolve(config)
    entries = configured_entries(resolution)
    aggregation = "sum" if resolution is None else configured(resolution)[1]
    if orms is None:
        try:
            orms = _swift_registry()[1]
        except ImportError:
            orms = {}
    names = [
        f"rewardhub_{e.key}" if e.key in orms and not hasattr(orms[e.key], "rewardhub_key") else e.key for e in entries
    ]
    args = ["--reward_funcs", *names, "--reward_weights", *(repr(float(e.weight)) for e in entries)]
    return [*args, "--scale_rewards", "gdpo"] if aggregation != "sum" else args


def _forget_own_directory() -> None:
    """ms-swift puts an external plugin's directory first on ``sys.path`` before importing it;
    this directory holds trl.py, verl.py, swift.py..., which would shadow the real packages."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]


if __name__ != "rewardhub.adapters.swift":  # loaded as a file by ms-swift's --external_plugins
    _forget_own_directory()
    register()

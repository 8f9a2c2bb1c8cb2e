"""What ``eval``'s default run scores: the installed rewards that apply to the data at hand.

With no ``--rewards`` and no ``--config``, ``eval`` runs every installed reward that can say
something about these rows, decided on the data before any scoring, from the first
:data:`PEEK_ROWS` valid rows of each input file (a stream is not peeked: nothing is left out
for it on the data's account). A reward is left out when

- its :attr:`~rewardhub.Reward.kind` is not ``"measure"``: a ``format`` reward checks a format
  the user chose (``<think>`` tags: 0 on any text not written in it) and a ``shaping`` one is a
  training-time penalty whose settings are the trainer's (an overlong budget);
- it needs what no peeked row has: its :meth:`~rewardhub.Reward.missing_input` (by default the
  fields in ``requires``, such as ``reference`` or ``images``) says so.

Rewards that declare nothing (third-party plugins written before these attributes) are kept:
the attributes are optional. One line says what was left out and why; naming a reward with
``--rewards`` always runs it. Tested in ``tests/test_eval_defaults.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from itertools import islice
from typing import Any

from rewardhub.build import build_rewards
from rewardhub.config import ComponentConfig
from rewardhub.io import InputError, JsonlReader, is_stream
from rewardhub.types import Sample

#: Valid rows read from the start of each input file to decide what applies.
PEEK_ROWS = 200
#: Why a default run leaves out each kind of reward other than ``measure``.
KIND_REASONS = {
    "format": "a format reward: 0 on any text not written in its format",
    "shaping": "a training-time penalty: its settings are the trainer's",
}


def peek(paths: Sequence[str], prompt_field: str | None, response_field: str | None) -> list[Sample]:
    """The first :data:`PEEK_ROWS` valid samples of each regular input file (streams are
    read once, by the run: not peeked). Bad rows are passed over: the run reports them."""
    samples: list[Sample] = []
    for path in paths:
        if is_stream(path):
            continue
        reader = JsonlReader([path], prompt_field, response_field, skip_invalid=True)
        with suppress(InputError):
            samples.extend(row.sample for row in islice(reader, PEEK_ROWS))
    return samples


def why_left_out(reward: Any, samples: Sequence[Sample]) -> str | None:
    """Why a default run leaves ``reward`` out on ``samples``, or ``None`` to run it."""
    kind = getattr(reward, "kind", "measure")
    if kind in KIND_REASONS:
        return KIND_REASONS[kind]
    if not samples:
        return None
    check = getattr(reward, "missing_input", None)
    if not callable(check):
        return None
    try:
        why = check(samples)
    except Exception:  # a plugin's check that fails does not decide for it: the run will tell
        return None
    if not isinstance(why, str) or not why:
        return None
    return f"{why}: none in the first {PEEK_ROWS} rows of each file"


def applicable(
    configs: Sequence[ComponentConfig], samples: Sequence[Sample], block: Sequence[str] = ()
) -> tuple[list[ComponentConfig], dict[str, str]]:
    """``(the configs to run, {left-out key: why})`` for a default run on ``samples``."""
    kept: list[ComponentConfig] = []
    left_out: dict[str, str] = {}
    for config in configs:
        why = None
        for component in build_rewards([config], block=block):
            why = why_left_out(component.reward, samples)
            getattr(component.reward, "close", lambda: None)()
        if why is None:
            kept.append(config)
        else:
            left_out[config.key] = why
    return kept, left_out


def describe_left_out(left_out: dict[str, str]) -> str:
    """One line: the left-out rewards grouped by why, and how to run them anyway."""
    by_reason: dict[str, list[str]] = {}
    for name, why in left_out.items():
        by_reason.setdefault(why, []).append(name)
    parts = [f"{', '.join(sorted(names))} ({why})" for why, names in by_reason.items()]
    count = len(left_out)
    noun = "reward" if count == 1 else "rewards"
    listed = "; ".join(parts)
    return f"the default run leaves out {count} {noun} that do not apply: {listed}; name one with --rewards to run it"

"""``rewardhub.compare.compare``: the Python face of ``rewardhub compare`` (the README's snippet
runs in ``tests/test_compare_cli.py``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rewardhub.compare.result import Comparison


def compare(
    a: str | Path | Sequence[str | Path],
    b: str | Path | Sequence[str | Path] | None = None,
    *,
    rewards: Sequence[Any] | str | None = None,
    metrics: Sequence[Any] | str | None = None,
    config: str | Path | dict[str, Any] | None = None,
    by: str | None = None,
    a_value: str | None = None,
    b_value: str | None = None,
    tokenize: str | None = None,
    paired: str = "auto",
    permutations: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
    by_group: bool = False,
    work_dir: str | Path | None = None,
    prompt_field: str | None = None,
    response_field: str | None = None,
    block: Sequence[str] = (),
    log: Callable[[str], None] | None = None,
    bootstrap: int | None = None,
) -> Comparison:
    """Compare side B with side A: every reward's and metric's delta (B - A) with a confidence
    interval (Student's t on a jackknife over prompts: ``docs/compare.md``), plus p-values
    (``permutations`` random sign flips or label shuffles) and win rates for rewards.

    ``a``/``b``: JSONL files (a path, a list, or ``"x.jsonl,y.jsonl"``), scored by ``eval``
    (their rewards are reused) or raw (scored first into ``work_dir``). With ``by``, the rows
    of ``a`` (and ``b``, if given) are split into the sides by that field's value
    (``a_value``/``b_value``, or its two values). ``rewards``, ``metrics``, ``config`` and
    ``tokenize`` mean what they mean for ``rewardhub eval``; ``paired`` is ``auto``, ``yes``
    or ``no``. ``bootstrap`` is the former name of ``permutations``.
    """
    from rewardhub.build import build_metrics
    from rewardhub.compare.analysis import analyse
    from rewardhub.compare.sides import load_sides
    from rewardhub.config import ConfigError
    from rewardhub.evaluation import EvalOptions, resolve_config

    if paired not in ("auto", "yes", "no"):
        raise ConfigError(f"paired must be auto, yes or no, got {paired!r}")
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    if bootstrap is not None:
        permutations = bootstrap
    if permutations < 0:
        raise ConfigError(f"permutations must be a number >= 0, got {permutations}")
    run = resolve_config(
        EvalOptions(rewards=rewards, metrics=metrics, config=config, tokenize=tokenize, block=block)
    ).run
    side_a, side_b, reward_keys, notes = load_sides(
        a,
        b,
        run,
        explicit_rewards=rewards is not None or config is not None,
        by=by,
        a_value=a_value,
        b_value=b_value,
        work_dir=work_dir,
        prompt_field=prompt_field,
        response_field=response_field,
        block=block,
        log=log,
    )
    components = build_metrics(run.metrics, tokenize=run.tokenize, block=block)
    return analyse(
        side_a,
        side_b,
        reward_keys,
        reward_directions(side_a.reward_specs, block, [side_a, side_b]),
        components,
        paired=paired,
        permutations=permutations,
        seed=seed,
        confidence=confidence,
        by_group=by_group,
        notes=notes,
    )


def reward_directions(
    specs: dict[str, dict[str, Any]], block: Sequence[str] = (), sides: Sequence[Any] = ()
) -> dict[str, bool | None]:
    """Whether higher is better for each reward: what the installed reward of that name declares,
    else what every scored file's sidecar recorded for it, else ``None`` (unknown: no direction
    is claimed, no "better" or "worse", no win rate). Tested in ``tests/test_compare_exclusions.py``."""
    from rewardhub import plugins
    from rewardhub.rewards import as_reward

    registry = plugins.registry(block)
    out: dict[str, bool | None] = {}
    for key, spec in specs.items():
        direction = None
        entry = registry.rewards.get(spec.get("name", key))
        if entry is not None:
            obj = entry.obj
            direction = getattr(obj, "higher_is_better", "unread")
            if direction == "unread" or not isinstance(direction, (bool, type(None))):
                try:  # functions and swift-style classes: the adapted reward knows
                    direction = as_reward(obj, **(spec.get("args") or {})).higher_is_better
                except Exception:
                    direction = None
            if not isinstance(direction, (bool, type(None))):
                direction = None
        else:
            direction = _recorded_direction(key, sides)
        out[key] = direction
    return out


def _recorded_direction(key: str, sides: Sequence[Any]) -> bool | None:
    """The direction the sidecars of every scored file recorded for ``key``, if they agree."""
    seen = set()
    for side in sides:
        for document in side.provenance.values():
            summary = ((document or {}).get("summary") or {}).get("rewards") or {}
            value = (summary.get(key) or {}).get("higher_is_better", "unknown")
            seen.add(value if isinstance(value, bool) else None)
    return seen.pop() if len(seen) == 1 else None

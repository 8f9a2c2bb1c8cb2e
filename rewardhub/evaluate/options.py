"""What :func:`rewardhub.evaluate.evaluate_files` takes besides the files, and what it returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rewardhub.io import InputError

CHUNK_SIZE = 512


@dataclass
class EvalOptions:
    """Everything ``rewardhub eval`` takes besides the files.

    ``rewards`` / ``metrics``: a list of names or config entries, or a comma-separated string
    (which may be a preset: ``none``, ``builtin``, ``all``); ``None`` means the default
    (:mod:`rewardhub.config.resolve`). ``backend``: ``local`` or ``ray`` (the ``ray_*`` fields
    are its settings).
    """

    rewards: Sequence[Any] | str | None = None
    metrics: Sequence[Any] | str | None = None
    config: str | Path | dict[str, Any] | None = None
    output: str | Path | None = None
    by_group: bool = False
    resume: bool = False
    skip_invalid: bool = False
    prompt_field: str | None = None
    response_field: str | None = None
    tokenize: str | None = None
    missing: str | None = None
    timeout: float | None = None
    chunk_size: int = CHUNK_SIZE
    sample: int | None = None
    seed: int | None = None
    block: Sequence[str] = ()
    backend: str = "local"
    ray_address: str | None = None
    ray_actors: int = 2
    ray_gpus_per_actor: float = 0.0


@dataclass
class EvalResult:
    """The summary (the ``--json`` document), skipped rows, failed metrics, the output written,
    warnings for people (rewards that cannot be built without args), and the rewards a default
    run left out because they do not apply to the data (``{name: why}``)."""

    summary: dict[str, Any]
    skipped: list[InputError] = field(default_factory=list)
    metric_errors: dict[str, str] = field(default_factory=dict)
    output: Path | None = None
    warnings: list[str] = field(default_factory=list)
    #: Per metric, a line for readers of its values (``Metric.note``), printed under the table.
    metric_notes: dict[str, str] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)

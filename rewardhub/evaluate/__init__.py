"""Scoring input files end to end: what ``rewardhub eval`` does, callable from Python.

:func:`evaluate_files` (:mod:`~rewardhub.evaluate.run`) takes the files and
:class:`EvalOptions`; one row goes through it one way: the plan (:mod:`~rewardhub.evaluate.plan`),
a backend (:mod:`~rewardhub.evaluate.backends`), the row path
(:mod:`~rewardhub.evaluate.row_path`, over the engine), and the sink
(:mod:`~rewardhub.evaluate.sink`: the journal and the summary, :mod:`~rewardhub.evaluate.summary`).

The names below load on first use, so a command that only needs, say, the backends' names
does not import the engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> the module that defines it.
_EXPORTS = {
    "PRESETS": "rewardhub.config.resolve",
    "ResolvedConfig": "rewardhub.config.resolve",
    "resolve_config": "rewardhub.config.resolve",
    "CHUNK_SIZE": "rewardhub.evaluate.options",
    "EvalOptions": "rewardhub.evaluate.options",
    "EvalResult": "rewardhub.evaluate.options",
    "RunPlan": "rewardhub.evaluate.plan",
    "check_inputs": "rewardhub.evaluate.plan",
    "check_tokenizers": "rewardhub.evaluate.plan",
    "plan_run": "rewardhub.evaluate.plan",
    "count_rows": "rewardhub.evaluate.run",
    "evaluate_files": "rewardhub.evaluate.run",
}

if TYPE_CHECKING:
    from rewardhub.config.resolve import PRESETS, ResolvedConfig, resolve_config
    from rewardhub.evaluate.options import CHUNK_SIZE, EvalOptions, EvalResult
    from rewardhub.evaluate.plan import RunPlan, check_inputs, check_tokenizers, plan_run
    from rewardhub.evaluate.run import count_rows, evaluate_files


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rewardhub.evaluate' has no attribute {name!r}")


__all__ = [
    "CHUNK_SIZE",
    "PRESETS",
    "EvalOptions",
    "EvalResult",
    "ResolvedConfig",
    "RunPlan",
    "check_inputs",
    "check_tokenizers",
    "count_rows",
    "evaluate_files",
    "plan_run",
    "resolve_config",
]

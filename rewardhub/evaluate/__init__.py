"""Scoring input files end to end: what ``rewardhub eval`` does, callable from Python.

:func:`evaluate_files` (:mod:`~rewardhub.evaluate.run`) takes the files and
:class:`EvalOptions`; the rest of this package is the one way a row goes through it.
"""

from rewardhub.evaluate.run import (
    CHUNK_SIZE,
    PRESETS,
    EvalOptions,
    EvalResult,
    ResolvedConfig,
    check_inputs,
    check_tokenizers,
    count_rows,
    evaluate_files,
    resolve_config,
)

__all__ = [
    "CHUNK_SIZE",
    "PRESETS",
    "EvalOptions",
    "EvalResult",
    "ResolvedConfig",
    "check_inputs",
    "check_tokenizers",
    "count_rows",
    "evaluate_files",
    "resolve_config",
]

"""Moved to :mod:`rewardhub.evaluate`; this path stays for code written against it.

Every name here is the very object :mod:`rewardhub.evaluate` exports (tested in ``tests/test_moved_paths.py``).
"""

from rewardhub.evaluate import (
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

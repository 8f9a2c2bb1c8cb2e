"""Scoring input files end to end: what ``rewardhub eval`` does, callable from Python.

:func:`evaluate_files` (:mod:`~rewardhub.evaluate.run`) takes the files and
:class:`EvalOptions`; one row goes through it one way: the plan (:mod:`~rewardhub.evaluate.plan`),
a backend (:mod:`~rewardhub.evaluate.backends`), the row path
(:mod:`~rewardhub.evaluate.row_path`, over the engine), and the sink
(:mod:`~rewardhub.evaluate.sink`: the journal and the summary, :mod:`~rewardhub.evaluate.summary`).
"""

from rewardhub.config.resolve import PRESETS, ResolvedConfig, resolve_config
from rewardhub.evaluate.options import CHUNK_SIZE, EvalOptions, EvalResult
from rewardhub.evaluate.plan import RunPlan, check_inputs, check_tokenizers, plan_run
from rewardhub.evaluate.run import count_rows, evaluate_files

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

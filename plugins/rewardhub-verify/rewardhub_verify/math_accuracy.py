"""``math_accuracy``: is the response's final answer equal to ``reference``? (math-verify)

1.0 when it is, 0.0 when it is not (also when the response has no extractable answer),
``Score(None, {"reason": ...})`` when there is no reference, when the reference cannot be
parsed, or when the sample runs past its deadline ("timed out after Ns"). ``info`` holds the
extracted answer, its parsed form, the parsed reference and how the reference was read.

References are read as datasets ship them (:mod:`.math_references`): JSON numbers exactly
(``1e20`` is 10^20, never ``1``), plain LaTeX boxed as verl does, whole plain expressions.
math-verify's options are arguments (:mod:`.math_options`: ``style`` presets, ``extraction``
targets and modes, ``precision``, ``numeric_precision``, ``strict``,
``allow_set_relation_comp``), at math-verify's defaults unless set.

Verification runs in a :class:`~rewardhub_verify.pool.DeadlinePool` (``workers`` processes,
``timeout`` seconds per sample), so it works the same from the main thread, the engine's
threads, a server or a Ray worker. Tested in ``tests/test_math_accuracy.py`` (agreement with
math-verify called directly on a few hundred generated pairs) and
``tests/test_math_references.py`` (dataset-style references, right and wrong answers).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import rewardhub
from rewardhub_verify import math_options
from rewardhub_verify._version import __version__
from rewardhub_verify.math_references import read_reference, reference_text
from rewardhub_verify.pool import DeadlinePool

__all__ = ["MathAccuracy", "read_reference", "reference_text"]


class MathAccuracy(rewardhub.Reward):
    """1.0 when the response's final answer equals ``reference`` (math-verify), else 0.0.

    :param style: the response-extraction preset: ``"math_verify"`` (default: math-verify's
        ``parse`` defaults, LaTeX then plain expressions, ``any_match``), ``"trl"`` (TRL's
        ``accuracy_reward``: the answer must be LaTeX, ``\\boxed{}`` first, ``first_match``) or
        ``"verl"`` (verl's ``compute_score``: expressions then LaTeX).
    :param extraction: response targets overriding the preset's: ``"latex"``, ``"expr"``,
        ``"string"`` or dicts with their fields (see :mod:`.math_options`).
    :param extraction_mode: ``"any_match"`` or ``"first_match"`` (default: the preset's).
    :param fallback_mode: ``"first_match"`` or ``"no_fallback"`` (default: the preset's).
    :param precision: decimal places floats are rounded to before comparing (math-verify's
        ``float_rounding``, default 6).
    :param numeric_precision: significant digits of the numeric check of a symbolic
        difference (default 15).
    :param strict: variables must match and sets differ from tuples (default true).
    :param allow_set_relation_comp: compare a relation with a set either way round (default
        false: only when the prediction is the set).
    :param timeout: seconds per sample; past it the sample is ``None`` ("timed out").
    :param workers: worker processes verifying in parallel.
    :param memory_mb: address space per worker; a sample that needs more is ``None``
        ("MemoryError").
    """

    name = "math_accuracy"
    version = __version__
    description = "1 if the response's final answer equals the reference (math-verify), else 0"
    inputs = ("response", "reference")
    requires = ("reference",)
    batch_size = 256

    def __init__(
        self,
        style: str = "math_verify",
        timeout: float = 10.0,
        workers: int = 2,
        memory_mb: int | None = 4096,
        *,
        extraction: Sequence[Any] | None = None,
        extraction_mode: str | None = None,
        fallback_mode: str | None = None,
        precision: int = 6,
        numeric_precision: int = 15,
        strict: bool = True,
        allow_set_relation_comp: bool = False,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.settings = math_options.resolve(
            style,
            extraction,
            extraction_mode,
            fallback_mode,
            precision,
            numeric_precision,
            strict,
            allow_set_relation_comp,
        )
        self._settings_json = json.dumps(self.settings, sort_keys=True)
        self.style, self.timeout = style, float(timeout)
        memory = int(memory_mb) * 1024 * 1024 if memory_mb else None
        self.pool = DeadlinePool("rewardhub_verify._math_worker", workers, memory_bytes=memory)

    def score(self, samples: Sequence[rewardhub.Sample]) -> list[rewardhub.Score]:
        out: list[rewardhub.Score | None] = [None] * len(samples)
        calls: list[tuple[str, str, str]] = []
        todo: list[int] = []
        for i, sample in enumerate(samples):
            text, reason = read_reference(sample.reference)
            if text is None:
                out[i] = rewardhub.Score(None, {"reason": reason})
            else:
                todo.append(i)
                calls.append((sample.response, text, self._settings_json))
        for i, outcome in zip(todo, self.pool.run(calls, self.timeout)):
            out[i] = (
                rewardhub.Score(None, {"reason": outcome.error})
                if outcome.error
                else rewardhub.Score(outcome.value[0], outcome.value[1])
            )
        return out  # type: ignore[return-value]

    def close(self) -> None:
        """Stop the worker processes (the next score starts new ones)."""
        self.pool.close()

    def __enter__(self) -> MathAccuracy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

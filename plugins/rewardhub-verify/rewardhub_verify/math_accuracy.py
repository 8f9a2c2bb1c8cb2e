"""``math_accuracy``: is the response's final answer equal to ``reference``? (math-verify)

1.0 when it is, 0.0 when it is not (also when the response has no extractable answer),
``Score(None, {"reason": ...})`` when there is no reference, when the reference cannot be
parsed, or when the sample runs past its deadline ("timed out after Ns"). ``info`` holds the
extracted answer, its parsed form and the parsed reference.

Verification runs in a :class:`~rewardhub_verify.pool.DeadlinePool` (``workers`` processes,
``timeout`` seconds per sample), so it works the same from the main thread, the engine's
threads, a server or a Ray worker. Tested in ``tests/test_math_accuracy.py``, including
agreement with math-verify called directly on a few hundred generated pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import rewardhub
from rewardhub_verify import _math_worker
from rewardhub_verify._version import __version__
from rewardhub_verify.pool import DeadlinePool


def reference_text(reference: Any) -> str | None:
    """The reference as math-verify input: strings as they are, numbers written out."""
    if isinstance(reference, bool):
        return None
    if isinstance(reference, (int, float)):
        return str(reference)
    if isinstance(reference, str) and reference.strip():
        return reference
    return None


class MathAccuracy(rewardhub.Reward):
    """1.0 when the response's final answer equals ``reference`` (math-verify), else 0.0.

    :param style: ``"math_verify"`` (math-verify's default extraction: LaTeX or plain
        expressions) or ``"trl"`` (TRL's ``accuracy_reward``: the answer must be LaTeX,
        ``\\boxed{}`` first).
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
        self, style: str = "math_verify", timeout: float = 10.0, workers: int = 2, memory_mb: int | None = 4096
    ) -> None:
        if style not in _math_worker.STYLES:
            raise ValueError(f"style must be one of {_math_worker.STYLES}, got {style!r}")
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.style, self.timeout = style, float(timeout)
        memory = int(memory_mb) * 1024 * 1024 if memory_mb else None
        self.pool = DeadlinePool("rewardhub_verify._math_worker", workers, memory_bytes=memory)

    def score(self, samples: Sequence[rewardhub.Sample]) -> list[rewardhub.Score]:
        out: list[rewardhub.Score | None] = [None] * len(samples)
        todo: list[int] = []
        for i, sample in enumerate(samples):
            if reference_text(sample.reference) is None:
                out[i] = rewardhub.Score(None, {"reason": _no_reference(sample.reference)})
            else:
                todo.append(i)
        calls = [(samples[i].response, reference_text(samples[i].reference), self.style) for i in todo]
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


def _no_reference(reference: Any) -> str:
    if reference is None or (isinstance(reference, str) and not reference.strip()):
        return "no reference"
    return f"reference must be a string or a number, got {type(reference).__name__}"

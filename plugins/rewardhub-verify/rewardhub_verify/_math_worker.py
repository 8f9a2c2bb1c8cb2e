"""The side of ``math_accuracy`` that runs inside the pool's worker processes.

Everything slow or unbounded (parsing LaTeX, sympy comparison, even ``str()`` of a huge
expression) happens here, under the pool's deadline, so math-verify's own ``signal.alarm``
timeouts are switched off: they would turn a slow comparison into a silent ``False``.

Two extraction styles, both math-verify's, named after who uses them:

- ``math_verify``: ``parse(text)`` with math-verify's defaults (LaTeX and plain expressions,
  ``any_match``), for the response and the reference alike;
- ``trl``: TRL's ``accuracy_reward``: the response must give its answer in LaTeX (``\\boxed{}``
  tried first, units normalized, no anchor-free extraction, ``first_match``).

In both, the reference is parsed with math-verify's defaults (cached per worker, within a
bound on count and size: a GRPO group shares one reference), and ``verify(gold, answer)`` decides.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

STYLES = ("math_verify", "trl")


def initialize() -> None:
    """Import math-verify once per worker and quiet its "timeout is disabled" warnings."""
    import math_verify  # noqa: F401

    for name in ("math_verify", "math_verify.parser", "math_verify.grader", "math_verify.utils"):
        logging.getLogger(name).setLevel(logging.ERROR)


@lru_cache(maxsize=1)
def _response_config(style: str) -> dict[str, Any]:
    from latex2sympy2_extended import NormalizationConfig
    from math_verify import LatexExtractionConfig

    if style == "trl":
        latex = LatexExtractionConfig(
            normalization_config=NormalizationConfig(units=True),
            boxed_match_priority=0,
            try_extract_without_anchor=False,
        )
        return {"extraction_config": [latex], "extraction_mode": "first_match"}
    return {}


#: References of at most this many characters are remembered, the last 256 of them: bounded
#: by size as well as count (a long reference is parsed each time it comes).
CACHED_REFERENCE_CHARS = 2000


def _parse_reference(reference: str) -> list[Any]:
    if len(reference) > CACHED_REFERENCE_CHARS:
        return _parse(reference)
    return _parse_short(reference)


def _parse(reference: str) -> list[Any]:
    from math_verify import parse

    return parse(reference, parsing_timeout=None)


_parse_short = lru_cache(maxsize=256)(_parse)


def _text(parsed: list[Any]) -> tuple[str | None, str | None]:
    """(the extracted text, the parsed expression as text) of a math-verify ``parse`` result."""
    if not parsed:
        return None, None
    extracted = parsed[-1] if isinstance(parsed[-1], str) else None
    expression = parsed[0] if len(parsed) > 1 or not isinstance(parsed[0], str) else None
    return extracted, None if expression is None else str(expression)


def check(response: str, reference: str, style: str) -> tuple[float | None, dict[str, Any]]:
    """``(1.0 or 0.0, info)``, or ``(None, {"reason": ...})`` when the reference does not parse."""
    from math_verify import parse, verify

    gold = _parse_reference(reference)
    if not gold:
        return None, {"reason": "reference could not be parsed", "reference": reference}
    answer = parse(response, parsing_timeout=None, **_response_config(style))
    correct = verify(gold, answer, timeout_seconds=None)
    extracted, parsed = _text(answer)
    return 1.0 if correct else 0.0, {
        "answer": extracted,
        "answer_parsed": parsed,
        "reference_parsed": _text(gold)[1] or _text(gold)[0],
    }


if __name__ == "__main__":
    from rewardhub_verify.pool import serve

    serve(check, initialize)

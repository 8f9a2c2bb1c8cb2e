"""The side of ``math_accuracy`` that runs inside the pool's worker processes.

Everything slow or unbounded (parsing LaTeX, sympy comparison, even ``str()`` of a huge
expression) happens here, under the pool's deadline, so math-verify's own ``signal.alarm``
timeouts are switched off: they would turn a slow comparison into a silent ``False``.

The reference is read by :func:`parse_reference` (the rule is in :mod:`.math_references`:
boxed as verl does unless it has delimiters; a whole plain expression where the boxed reading
finds none), cached per worker within a bound on count and size (a GRPO group shares one
reference). The response is parsed with the settings of :mod:`.math_options` (a preset ``style`` and overrides), and
``verify(gold, answer, ...)`` decides with its comparison options.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Any

from rewardhub_verify.math_references import has_delimiters, reads_whole


def initialize() -> None:
    """Import math-verify once per worker and quiet its "timeout is disabled" warnings."""
    import math_verify  # noqa: F401

    for name in ("math_verify", "math_verify.parser", "math_verify.grader", "math_verify.utils"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _target(spec: dict[str, Any]) -> Any:
    from latex2sympy2_extended import NormalizationConfig
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, StringExtractionConfig

    fields = {k: v for k, v in spec.items() if k != "type"}
    if spec["type"] == "latex":
        normalization = NormalizationConfig(**fields.pop("normalization"))
        return LatexExtractionConfig(normalization_config=normalization, **fields)
    if spec["type"] == "string":
        return StringExtractionConfig(**{**fields, "strings": tuple(fields["strings"])})
    return ExprExtractionConfig(**fields)


@lru_cache(maxsize=16)
def _settings(settings_json: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(``parse`` kwargs for the response, ``verify`` kwargs) from the resolved settings."""
    settings = json.loads(settings_json)
    parse_kwargs = {
        "extraction_config": [_target(t) for t in settings["extraction"]],
        "extraction_mode": settings["extraction_mode"],
        "fallback_mode": settings["fallback_mode"],
    }
    verify_kwargs = {
        "float_rounding": settings["precision"],
        "numeric_precision": settings["numeric_precision"],
        "strict": settings["strict"],
        "allow_set_relation_comp": settings["allow_set_relation_comp"],
    }
    return parse_kwargs, verify_kwargs


def _has_expression(parsed: list[Any]) -> bool:
    return any(not isinstance(p, str) for p in parsed)


#: References of at most this many characters are remembered, the last 256 of them: bounded
#: by size as well as count (a long reference is parsed each time it comes).
CACHED_REFERENCE_CHARS = 2000


def parse_reference(reference: str) -> tuple[list[Any], str]:
    """``(math-verify's parse of the reference, how it was read)``; the list has no expression
    when the reference could not be parsed. How: ``"as written"`` (it has math delimiters),
    ``"boxed"`` (verl's ``\\boxed{reference}`` as LaTeX) or ``"plain expression"``."""
    if len(reference) > CACHED_REFERENCE_CHARS:
        return _read_reference(reference)
    return _read_short_reference(reference)


def _read_reference(reference: str) -> tuple[list[Any], str]:
    from math_verify import LatexExtractionConfig, parse

    if has_delimiters(reference):
        return parse(reference, parsing_timeout=None), "as written"
    boxed = parse("\\boxed{" + reference + "}", [LatexExtractionConfig()], parsing_timeout=None)
    if _has_expression(boxed):
        return boxed, "boxed"
    plain = parse(reference, parsing_timeout=None)
    if _has_expression(plain) and isinstance(plain[-1], str) and reads_whole(plain[-1], reference):
        # the boxed reading's text (if any) stays a candidate: "10\%" answered "\boxed{10\%}"
        return plain + [p for p in boxed if isinstance(p, str)], "plain expression"
    return [], "unparsed"


_read_short_reference = lru_cache(maxsize=256)(_read_reference)


def _text(parsed: list[Any]) -> tuple[str | None, str | None]:
    """(the extracted text, the parsed expression as text) of a math-verify ``parse`` result."""
    if not parsed:
        return None, None
    extracted = parsed[-1] if isinstance(parsed[-1], str) else None
    expression = next((p for p in parsed if not isinstance(p, str)), None)
    return extracted, None if expression is None else str(expression)


def check(response: str, reference: str, settings_json: str) -> tuple[float | None, dict[str, Any]]:
    """``(1.0 or 0.0, info)``, or ``(None, {"reason": ...})`` when the reference does not parse."""
    from math_verify import StringExtractionConfig, parse, verify

    parse_kwargs, verify_kwargs = _settings(settings_json)
    gold, how = parse_reference(reference)
    choices = [t for t in parse_kwargs["extraction_config"] if isinstance(t, StringExtractionConfig)]
    if choices:  # multiple choice: the reference's letter, read as the response's will be
        letters = [g for g in parse(reference, choices, parsing_timeout=None) if g not in gold]
        gold, how = gold + letters, how if gold or not letters else "choice"
    if not gold:
        return None, {"reason": "reference could not be parsed", "reference": reference}
    answer = parse(response, parsing_timeout=None, **parse_kwargs)
    correct = verify(gold, answer, timeout_seconds=None, **verify_kwargs)
    extracted, parsed = _text(answer)
    return 1.0 if correct else 0.0, {
        "answer": extracted,
        "answer_parsed": parsed,
        "reference_parsed": _text(gold)[1],
        "reference_read_as": how,
    }


if __name__ == "__main__":
    from rewardhub_verify.pool import serve

    serve(check, initialize)

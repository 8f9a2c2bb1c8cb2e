"""math-verify's options for ``math_accuracy``: presets (``style``), overrides, validation.

Everything here is plain data, checked in the calling process without importing math-verify
(it loads in the workers, :mod:`._math_worker`, which builds math-verify's config objects from
the resolved settings). The settings travel to the workers as one JSON string.

Response extraction (what math-verify's ``parse`` looks for in the response):

- ``extraction``: a list of targets, each ``"latex"``, ``"expr"`` or ``"string"`` (math-verify's
  ``LatexExtractionConfig``, ``ExprExtractionConfig``, ``StringExtractionConfig`` at their
  defaults), or a dict ``{"type": "latex", ...fields}`` with the fields to change:
  ``latex``: ``try_extract_without_anchor`` (default true), ``boxed_match_priority`` (50; 0 tries
  ``\\boxed{}`` first, -1 never), ``normalization`` (a dict of latex2sympy2's
  ``NormalizationConfig`` fields: ``basic_latex``, ``units``, ``malformed_operators``, ``nits``
  (default true each), ``boxed`` (``"all"``), ``equations`` (false));
  ``expr``: ``try_extract_without_anchor`` (true);
  ``string``: ``strings`` (``["A", "B", "C", "D"]``), ``try_extract_without_anchor`` (true),
  ``lowercase`` (true);
- ``extraction_mode``: ``"any_match"`` (try every match until one parses) or ``"first_match"``;
- ``fallback_mode``: ``"first_match"`` (also keep the first matched text, compared as text) or
  ``"no_fallback"``.

Presets (``style``), each math-verify's or a trainer's settings for the response:

- ``math_verify`` (default): ``parse`` at its defaults: ``["latex", "expr"]``, ``any_match``,
  ``first_match`` fallback;
- ``trl``: TRL's ``accuracy_reward``: LaTeX only, ``\\boxed{}`` first (priority 0), no anchor-
  free extraction, units normalized (``NormalizationConfig(units=True)``), ``first_match``;
- ``verl``: verl's ``math_verify.compute_score``: ``["expr", "latex"]``, ``any_match``.

Comparison (math-verify's ``verify``): ``precision`` (its ``float_rounding``: decimal places a
float is rounded to before comparing, default 6), ``numeric_precision`` (significant digits of
a symbolic difference's numeric check, 15), ``strict`` (true: variables must match and sets
differ from tuples), ``allow_set_relation_comp`` (false: ``1 < x < 2`` equals ``(1, 2)`` only
when the prediction is the set).

Tested in ``tests/test_math_references.py``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

STYLES = ("math_verify", "trl", "verl")
EXTRACTION_MODES = ("any_match", "first_match")
FALLBACK_MODES = ("first_match", "no_fallback")

#: latex2sympy2's normalization as math-verify's ``LatexExtractionConfig`` sets it by default.
LATEX_NORMALIZATION = {
    "basic_latex": True,
    "units": True,
    "malformed_operators": True,
    "nits": True,
    "boxed": "all",
    "equations": False,
}
#: Every field of each target, at math-verify's defaults.
TARGET_DEFAULTS: dict[str, dict[str, Any]] = {
    "latex": {"try_extract_without_anchor": True, "boxed_match_priority": 50, "normalization": LATEX_NORMALIZATION},
    "expr": {"try_extract_without_anchor": True},
    "string": {"strings": ["A", "B", "C", "D"], "try_extract_without_anchor": True, "lowercase": True},
}
#: ``NormalizationConfig(units=True)``: the other fields at that class's own defaults.
_TRL_NORMALIZATION = {**LATEX_NORMALIZATION, "malformed_operators": False, "nits": False}
PRESETS: dict[str, dict[str, Any]] = {
    "math_verify": {"extraction": ["latex", "expr"], "extraction_mode": "any_match", "fallback_mode": "first_match"},
    "trl": {
        "extraction": [
            {
                "type": "latex",
                "boxed_match_priority": 0,
                "try_extract_without_anchor": False,
                "normalization": _TRL_NORMALIZATION,
            }
        ],
        "extraction_mode": "first_match",
        "fallback_mode": "first_match",
    },
    "verl": {"extraction": ["expr", "latex"], "extraction_mode": "any_match", "fallback_mode": "first_match"},
}


def _target(spec: Any) -> dict[str, Any]:
    """One extraction target, every field filled in (see the module doc)."""
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict) or spec.get("type") not in TARGET_DEFAULTS:
        raise ValueError(f"an extraction target is 'latex', 'expr', 'string' or a dict with that 'type', got {spec!r}")
    kind = spec["type"]
    defaults = TARGET_DEFAULTS[kind]
    unknown = sorted(set(spec) - set(defaults) - {"type"})
    if unknown:
        raise ValueError(f"unknown field(s) {unknown} of a {kind!r} target: use {sorted(defaults)}")
    target = {"type": kind, **json.loads(json.dumps(defaults))}
    for field, value in spec.items():
        if field == "type":
            continue
        if field == "normalization":
            target[field] = _normalization(value)
        elif field == "strings":
            if not (isinstance(value, (list, tuple)) and value and all(isinstance(s, str) and s for s in value)):
                raise ValueError(f"'strings' must be a non-empty list of non-empty strings, got {value!r}")
            target[field] = list(value)
        elif field == "boxed_match_priority":
            if isinstance(value, bool) or not isinstance(value, int) or value < -1:
                raise ValueError(f"'boxed_match_priority' must be an integer >= -1, got {value!r}")
            target[field] = value
        else:
            target[field] = _flag(field, value)
    return target


def _normalization(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"'normalization' must be a dict of {sorted(LATEX_NORMALIZATION)}, got {value!r}")
    unknown = sorted(set(value) - set(LATEX_NORMALIZATION))
    if unknown:
        raise ValueError(f"unknown normalization field(s) {unknown}: use {sorted(LATEX_NORMALIZATION)}")
    out = dict(LATEX_NORMALIZATION)
    for field, flag in value.items():
        if field == "boxed":
            if flag not in ("all", "last", "none"):
                raise ValueError(f"normalization 'boxed' must be 'all', 'last' or 'none', got {flag!r}")
            out[field] = flag
        else:
            out[field] = _flag(f"normalization {field!r}", flag)
    return out


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def _choice(name: str, value: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def _count(name: str, value: Any, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    return value


def resolve(
    style: str = "math_verify",
    extraction: Sequence[Any] | None = None,
    extraction_mode: str | None = None,
    fallback_mode: str | None = None,
    precision: int = 6,
    numeric_precision: int = 15,
    strict: bool = True,
    allow_set_relation_comp: bool = False,
) -> dict[str, Any]:
    """The full settings: the ``style`` preset, with every argument given overriding it."""
    preset = PRESETS[_choice("style", style, STYLES)]
    targets = preset["extraction"] if extraction is None else extraction
    if isinstance(targets, (str, dict)):
        targets = [targets]
    if not targets:
        raise ValueError("extraction needs at least one target ('latex', 'expr' or 'string')")
    return {
        "extraction": [_target(t) for t in targets],
        "extraction_mode": _choice("extraction_mode", extraction_mode or preset["extraction_mode"], EXTRACTION_MODES),
        "fallback_mode": _choice("fallback_mode", fallback_mode or preset["fallback_mode"], FALLBACK_MODES),
        "precision": _count("precision", precision, 0),
        "numeric_precision": _count("numeric_precision", numeric_precision, 1),
        "strict": _flag("strict", strict),
        "allow_set_relation_comp": _flag("allow_set_relation_comp", allow_set_relation_comp),
    }

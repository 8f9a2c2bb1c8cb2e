"""References as datasets ship them, read exactly: :func:`read_reference`.

A gold answer arrives as a JSON number or as text, and math-verify's ``parse``, made to find an
answer *in a response*, misreads both when given them as they are:

- a number written in exponent form (``str(1e20)`` is ``"1e+20"``) reads as ``1``: the answer
  ``\\boxed{1}`` would score 1.0 and the right one 0.0. So every number is written out exactly
  in positional notation: an integer's digits (any size); a float's shortest repr, expanded
  (``1e20`` -> ``100000000000000000000``, ``1e-05`` -> ``0.00001``); a fraction as
  ``\\frac{p}{q}``. A string that is nothing but a number in exponent form (``"2.5e-3"``) is read
  the same way. ``True``/``False`` are not numbers here (``bool`` is an ``int`` in Python);
  NaN and infinities are no answer;
- plain LaTeX without delimiters, as MATH, DAPO-Math and most RL sets store answers, is mostly
  not found at all (``\\sqrt{2}``, ``\\{1,2\\}``, ``x^2+2x+1``), or worse, a piece of it is:
  ``(0, 1]`` reads as ``1``, ``2\\sqrt{3}`` as ``2``, ``3x+2`` as ``3``. verl wraps the gold
  answer in ``\\boxed{}`` and parses that as LaTeX; so does the worker
  (:func:`rewardhub_verify._math_worker.parse_reference`), for every reference without math
  delimiters (``$``, ``\\(``, ``\\[``, ``\\boxed``). A reference with delimiters is parsed as
  written, like an answer (``"The answer is $\\frac{1}{2}$"``). Where the boxed reading finds no
  expression (``10%``, ``2**10``), math-verify's plain-expression reading is taken, but only
  when what it extracted is the whole reference, never a piece of it.

A reference that still gives no expression is ``None`` ("reference could not be parsed"):
math-verify could only compare it as raw text. Tested in ``tests/test_math_references.py``.
"""

from __future__ import annotations

import numbers
import re
from decimal import Decimal, InvalidOperation
from typing import Any

#: A number in exponent form and nothing else: ``1e20``, ``-2.5E-3``, ``.5e+2``.
EXPONENT_FORM = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+")
#: Math delimiters: a reference holding one is parsed as written, like an answer.
DELIMITERS = ("$", "\\(", "\\[", "\\boxed", "\\fbox")


def _positional(value: Decimal) -> str:
    return format(abs(value) if value.is_zero() else value, "f")  # no "-0"


def read_reference(reference: Any) -> tuple[str | None, str | None]:
    """``(text, None)``: the reference as the text the worker parses; or ``(None, reason)``."""
    if reference is None:
        return None, "no reference"
    if isinstance(reference, str):
        text = reference.strip()
        if not text:
            return None, "no reference"
        if EXPONENT_FORM.fullmatch(text):
            return _positional(Decimal(text)), None
        return text, None
    if type(reference).__name__ in ("bool", "bool_"):  # also numpy's, which is no int subclass
        return None, f"reference must be a string or a number, got {type(reference).__name__}"
    if isinstance(reference, numbers.Integral):
        try:
            return str(int(reference)), None
        except ValueError:  # more digits than int -> str allows (sys.set_int_max_str_digits)
            return None, "reference has more digits than Python writes out"
    if isinstance(reference, numbers.Rational):  # a Fraction that is not an integer
        sign = "-" if reference < 0 else ""
        return f"{sign}\\frac{{{abs(reference.numerator)}}}{{{reference.denominator}}}", None
    if isinstance(reference, (numbers.Real, Decimal)):
        try:
            value = Decimal(str(reference))  # the shortest repr: what the dataset's JSON said
        except InvalidOperation:
            return None, f"reference must be a string or a number, got {reference!r}"
        if not value.is_finite():
            return None, f"reference is not a finite number ({reference})"
        return _positional(value), None
    return None, f"reference must be a string or a number, got {type(reference).__name__}"


def reference_text(reference: Any) -> str | None:
    """The reference as math-verify input (:func:`read_reference`), or ``None``."""
    return read_reference(reference)[0]


def has_delimiters(text: str) -> bool:
    """Whether ``text`` holds math delimiters (then it is parsed as written)."""
    return any(d in text for d in DELIMITERS)


def reads_whole(extracted: str, reference: str) -> bool:
    """Whether a plain-expression reading ``extracted`` is the whole ``reference`` (spaces,
    dollar signs and percent signs aside), not a piece of it."""

    def bare(text: str) -> str:
        return re.sub(r"\s+|\$|\\?%", "", text)

    return bool(extracted) and bare(extracted) == bare(reference)

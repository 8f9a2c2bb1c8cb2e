"""Reading a judge's reply: the verdict, the explanation, or why there is none.

The reply is read, in order:

1. **JSON**: the first JSON object in the reply (alone, in a code fence, or inside other text)
   that has the verdict's key: ``score`` (pointwise; ``rating`` is accepted too) or
   ``winner`` (pairwise); its ``explanation`` (or ``reason``) is the explanation. A score is a
   number or a numeric string; a winner is ``A``, ``B`` or ``tie`` (any case).
2. **MT-Bench's pattern**, for judges prompted or trained that way: the first ``[[8]]``
   (``[[7.5]]``) in the reply is the score, ``[[A]]``, ``[[B]]`` or ``[[C]]`` (a tie;
   ``[[tie]]`` too) the winner; the reply without it is the explanation.

Nothing else is read: a "7/10" or a "yes" somewhere in free text is *not* a verdict (ROLL's
substring match counts "yes" inside "eyes"), so such a reply is ``None`` with the reason
``judge: unparseable verdict``, or ``judge: unparseable verdict (cut at max_tokens)`` when the
endpoint stopped it at ``max_tokens`` (raise it), or ``judge: refused`` when the endpoint says
it refused (an OpenAI ``refusal`` field, ``finish_reason: content_filter``) or the reply opens
like a refusal ("I'm sorry", "I cannot", "As an AI"...). A score outside the rubric's scale
is ``judge: verdict out of scale``. Tested in ``tests/test_judge_verdicts.py``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

UNPARSEABLE = "judge: unparseable verdict"
CUT = "judge: unparseable verdict (cut at max_tokens)"
REFUSED = "judge: refused"
OUT_OF_SCALE = "judge: verdict out of scale"

SCORE_KEYS = ("score", "rating")
EXPLANATION_KEYS = ("explanation", "reason", "reasoning")
SCORE_PATTERN = re.compile(r"\[\[\s*([-+]?\d+(?:\.\d+)?)\s*\]\]")
WINNER_PATTERN = re.compile(r"\[\[\s*(A|B|C|tie)\s*\]\]", re.IGNORECASE)
REFUSAL_OPENINGS = re.compile(
    r"^\s*(i['’]m sorry|i am sorry|sorry, (but )?i|i cannot|i can['’]t|i can not|i won['’]t|i will not|"
    r"i['’]m (not able|unable)|i am (not able|unable)|as an ai\b|i must decline|i apologi[sz]e)",
    re.IGNORECASE,
)
WINNERS = {"a": "A", "b": "B", "tie": "tie", "c": "tie", "draw": "tie"}


@dataclass(frozen=True)
class Verdict:
    """A reply read: the ``value`` (a score, or ``"A"``/``"B"``/``"tie"``), the explanation,
    how it was read (``json`` or ``pattern``), or ``reason`` when there is no verdict."""

    value: Any = None
    explanation: str | None = None
    read: str | None = None
    reason: str | None = None


def read_score(content: str, finish_reason: str | None, scale: tuple[float, float]) -> Verdict:
    """The pointwise verdict in ``content`` (see the module doc)."""
    found = _json_with(content, SCORE_KEYS)
    if found is not None:
        obj, key = found
        score = _as_number(obj[key])
        if score is None:
            return Verdict(reason=_none_reason(content, finish_reason))
        return _in_scale(score, _explanation(obj), "json", scale)
    match = SCORE_PATTERN.search(content)
    if match:
        rest = (content[: match.start()] + content[match.end() :]).strip()
        return _in_scale(float(match.group(1)), rest or None, "pattern", scale)
    return Verdict(reason=_none_reason(content, finish_reason))


def read_winner(content: str, finish_reason: str | None) -> Verdict:
    """The pairwise verdict (``"A"``, ``"B"`` or ``"tie"``) in ``content``."""
    found = _json_with(content, ("winner", "verdict"))
    if found is not None:
        obj, key = found
        winner = WINNERS.get(str(obj[key]).strip().lower()) if isinstance(obj[key], str) else None
        if winner is None:
            return Verdict(reason=_none_reason(content, finish_reason))
        return Verdict(winner, _explanation(obj), "json")
    match = WINNER_PATTERN.search(content)
    if match:
        rest = (content[: match.start()] + content[match.end() :]).strip()
        return Verdict(WINNERS[match.group(1).lower()], rest or None, "pattern")
    return Verdict(reason=_none_reason(content, finish_reason))


def refused(refusal: Any, finish_reason: str | None) -> bool:
    """Whether the endpoint itself says the judge refused."""
    return bool(isinstance(refusal, str) and refusal.strip()) or finish_reason == "content_filter"


def _none_reason(content: str, finish_reason: str | None) -> str:
    if REFUSAL_OPENINGS.match(content or ""):
        return REFUSED
    return CUT if finish_reason == "length" else UNPARSEABLE


def _in_scale(score: float, explanation: str | None, read: str, scale: tuple[float, float]) -> Verdict:
    if not (scale[0] <= score <= scale[1]):
        return Verdict(score, explanation, read, OUT_OF_SCALE)
    return Verdict(score, explanation, read)


def _json_with(content: str, keys: tuple[str, ...]) -> tuple[dict[str, Any], str] | None:
    """The first JSON object in ``content`` holding one of ``keys``, and that key."""
    decoder = json.JSONDecoder()
    start = content.find("{")
    while start != -1:
        try:
            obj, _ = decoder.raw_decode(content, start)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            lowered = {str(k).lower(): k for k in obj}
            for key in keys:
                if key in lowered:
                    return obj, lowered[key]
        start = content.find("{", start + 1)
    return None


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _explanation(obj: dict[str, Any]) -> str | None:
    lowered = {str(k).lower(): v for k, v in obj.items()}
    for key in EXPLANATION_KEYS:
        value = lowered.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None

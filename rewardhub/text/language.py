"""Is a text in a language a model can read? For models that read only some languages.

An English bag-of-words model (the offline profanity model) or an English-only sentence
encoder (all-MiniLM-L6-v2) gives confident numbers on Chinese text that mean nothing. Such a
model asks :func:`uncovered` which texts it cannot read and gives those ``None`` with a reason.

The rule, in order (each step is cheap; only the first :data:`SAMPLE_CHARS` characters are read):

1. a text with no letters (numbers, punctuation, an empty answer) is covered: nothing in it is
   language-specific;
2. a text with at least a quarter of its letters (:data:`NON_LATIN_SHARE`) outside the Latin
   script (Han, Kana, Hangul, Cyrillic, Arabic, Devanagari...) is in the language that script
   says (``zh``, ``ja``, ``ko``, ``ru``..., refined by the identifier below when installed; a
   quarter, not a half, because Chinese maths answers are full of Latin variable names);
3. a Latin-script text is covered unless the language identifier ``py3langid`` (a maintained
   fork of ``langid.py``: 4.5 MB, numpy only, offline, about 0.2 ms per text) is confident
   (probability >= :data:`MIN_CONFIDENCE`, 0.9) that it is another language. Short texts ("News
   & Buzz", "ok", code) are ambiguous to any identifier and stay covered, rather than losing
   their score to a guess; so does an English list the identifier calls Nigerian Pidgin at 0.74
   (seen on alpaca_eval), while French, German, Spanish and Italian sentences score 0.91-1.0.
   Without ``py3langid`` only the script rule applies.

Tested in ``tests/test_language.py``; the memo's bytes in ``tests/test_memo_bytes.py``.
"""

from __future__ import annotations

import sys
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from rewardhub.memo import ENTRY_OVERHEAD, MiB, RecentMemo, budget

#: Characters of a text that the rule reads (enough to tell; bounds the cost of long texts).
SAMPLE_CHARS = 2000
#: How sure the identifier must be that a Latin-script text is another language.
MIN_CONFIDENCE = 0.9
#: The share of a text's letters outside the Latin script from which the script decides.
NON_LATIN_SHARE = 0.25

#: First word of a letter's Unicode name -> the language a text mostly in that script is in.
SCRIPT_LANGUAGES = {
    "CJK": "zh",
    "HIRAGANA": "ja",
    "KATAKANA": "ja",
    "HANGUL": "ko",
    "CYRILLIC": "ru",
    "GREEK": "el",
    "ARABIC": "ar",
    "HEBREW": "he",
    "DEVANAGARI": "hi",
    "BENGALI": "bn",
    "THAI": "th",
    "TAMIL": "ta",
    "GEORGIAN": "ka",
    "ARMENIAN": "hy",
}


def _is_latin(char: str) -> bool:
    code = ord(char)
    return code < 0x250 or 0x1E00 <= code <= 0x1EFF or 0xFF21 <= code <= 0xFF5A


def script_language(text: str) -> str | None:
    """The language of a text with at least :data:`NON_LATIN_SHARE` of its letters outside the
    Latin script, from the script (``"zh"`` for Han, ``"ja"`` when Kana appear...); ``None`` for
    a Latin-script text or one without letters."""
    letters = [c for c in text[:SAMPLE_CHARS] if c.isalpha()]
    other = [c for c in letters if not _is_latin(c)]
    if not letters or len(other) < NON_LATIN_SHARE * len(letters):
        return None
    counts: dict[str, int] = {}
    for c in other:
        script = unicodedata.name(c, "UNKNOWN").split(" ", 1)[0]
        counts[script] = counts.get(script, 0) + 1
    script = max(counts, key=counts.__getitem__)
    if script in ("CJK", "HIRAGANA", "KATAKANA") and counts.get("HIRAGANA", 0) + counts.get("KATAKANA", 0):
        return "ja"  # Japanese mixes Kana with Han
    return SCRIPT_LANGUAGES.get(script, script.lower())


class _Identifier:
    """py3langid's model with normalized probabilities, loaded once per process (about 1 s)."""

    _instance: Any = None
    _lock = threading.Lock()

    @classmethod
    def get(cls) -> Any:
        with cls._lock:
            if cls._instance is None:
                try:
                    from py3langid.langid import MODEL_FILE, LanguageIdentifier
                except ImportError:
                    cls._instance = False
                else:
                    cls._instance = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            return cls._instance


def identifier_available() -> bool:
    """Whether ``py3langid`` is installed (else only the script rule applies)."""
    return bool(_Identifier.get())


#: The bytes the memo of recent texts' languages may hold (``REWARDHUB_LANGUAGE_MEMO_MB``):
#: mostly its keys, the texts (a text of a run is usually alive anyway, in its chunk).
LANGUAGE_MEMO_BYTES = budget("language_memo", 16 * MiB)
#: A remembered ``(language, confidence)``: the tuple and the float (the language strings are
#: the identifier's own, shared).
_VALUE_BYTES = sys.getsizeof(("xx", 0.5)) + sys.getsizeof(0.5)
_recent: RecentMemo[str, tuple[str | None, float]] = RecentMemo(2048, max_bytes=LANGUAGE_MEMO_BYTES)


def language_of(text: str) -> tuple[str | None, float]:
    """``(language, confidence)``: the script's language for non-Latin text (confidence 1), the
    identifier's best guess for Latin text; ``(None, 0.0)`` without letters, or for Latin text
    without ``py3langid``. Remembered for the run's recent texts (every model-backed reward
    and metric of a run asks about the same responses), within :data:`LANGUAGE_MEMO_BYTES`."""
    found = _recent.get(text)
    if found is None:
        found = _identify(text[:SAMPLE_CHARS])
        _recent.put(text, found, sys.getsizeof(text) + _VALUE_BYTES + ENTRY_OVERHEAD)
    return found


def _identify(sample: str) -> tuple[str | None, float]:
    if not any(c.isalpha() for c in sample):
        return None, 0.0
    by_script = script_language(sample)
    identifier = _Identifier.get()
    if by_script is not None:
        if identifier and by_script in SCRIPT_FAMILIES:  # Ukrainian vs Russian, Persian vs Arabic
            guess = str(identifier.classify(sample)[0])
            if guess in SCRIPT_FAMILIES[by_script]:
                return guess, 1.0
        return by_script, 1.0
    if not identifier:
        return None, 0.0
    language, confidence = identifier.classify(sample)
    return str(language), float(confidence)


#: Identifier labels that refine a script's language (the script alone says "ru" or "ar").
#: Not for Han: py3langid calls much standard written Chinese Wu ("wuu"), so Han stays "zh".
SCRIPT_FAMILIES = {
    "ru": ("ru", "uk", "bg", "be", "mk", "sr", "kk", "mn", "ky", "tg"),
    "ar": ("ar", "fa", "ur", "ps"),
    "hi": ("hi", "mr", "ne"),
}


def uncovered(texts: Sequence[str], languages: Iterable[str]) -> list[str | None]:
    """For each text, ``None`` when a model reading ``languages`` can read it, else the text's
    language (the rule in the module doc)."""
    wanted = set(languages)
    out: list[str | None] = []
    for text in texts:
        language, confidence = language_of(text)
        readable = language is None or language in wanted or confidence < MIN_CONFIDENCE
        out.append(None if readable else language)
    return out


def not_covered_reason(model: str, language: str) -> str:
    """The ``reason`` of a score left out because ``model`` does not read ``language``."""
    return f"language not covered by {model}: {language}"

"""sacrebleu's ``13a`` tokenizer, exact, without sacrebleu's four whole-text regular expressions.

sacrebleu runs four regular expressions over the whole text: rule 1 pads every character of
``RULE1`` with spaces; rules 2 to 4 (``([^0-9])([.,])``, ``([.,])([^0-9])``, ``([0-9])(-)``)
split ``.``, ``,`` and ``-`` from their neighbours. Every one of them only ever matches one or
two adjacent characters, and a match involves whitespace only as the *first* character of
rule 2 or the *second* of rule 3, both of which a lone piece padded with one space on each
side also sees. So after 13a's text-level replacements (``<skipped>``, ``-\\n``, newlines, the
four HTML entities), the tokens of the whole text are the tokens of each whitespace-separated
word on its own, and within a word, after rule 1, the tokens of each piece between two
``RULE1`` characters on its own. That makes it a few dictionary lookups per word:

- a word of letters and digits only (``str.isalnum``) is its own single token (most words);
- a word of letters and digits with one ``RULE1`` character, ``.`` or ``,`` at one end
  (``"word,"``, ``"(word"``) is those two tokens;
- any other word is split at its ``RULE1`` characters (each its own token), and each piece
  between them that holds ``.``, ``,`` or ``-`` goes through rules 2 to 4. The rules see a
  piece's *core* (what is left after stripping ``.,-`` from both ends, when it holds none of
  them itself) only through whether its first and last characters are ASCII digits, and never
  split it, so such pieces are tokenized by *shape* (``"word,"`` and ``"other,"`` share one
  pass of the rules); a piece with dashes but no ``.`` or ``,`` (``"well-known"``) is one token
  unless a digit comes right before a dash (rule 4); only pieces like ``"e.g."`` or ``"3.14"``
  are scanned in full, as plain character scans that match exactly as the regex engine does
  (leftmost, non-overlapping);
- words and pieces are remembered (they repeat): memos of at most :data:`_MEMO_SIZE` entries
  each and :data:`WORD_MEMO_BYTES` together (an entry's bytes bounded from above in O(1); a
  100,000-character "word" of minified code counts as such), all cleared when either is full.

How much faster on real answers is measured by ``benchmarks/bench_scale.py``. Property-tested against
sacrebleu on random text and word shapes, and checked on real text, in ``tests/test_tokenizers.py``;
the memos' bytes in ``tests/test_memo_bytes.py``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

from rewardhub.memo import ENTRY_OVERHEAD, MiB, budget

_MEMO_SIZE = 1 << 17
#: The bytes the word, piece and shape memos may hold together (``REWARDHUB_WORD_MEMO_MB``).
WORD_MEMO_BYTES = budget("word_memo", 64 * MiB)
#: The most bytes one str takes beyond its characters, and per character.
_STR_HEADER, _CHAR = sys.getsizeof("\U0001f600") - 4, 4

#: sacrebleu's first rule, ``([\{-\~\[-\` -\&\(-\+\:-\@\/])`` -> `` \1 ``, as a set of characters.
RULE1 = frozenset('{|}~[\\]^_` !"#$%&()*+:;<=>?@/')
DIGITS = frozenset("0123456789")
PERIOD_COMMA = frozenset(".,")
#: The characters rules 2 to 4 act on.
RULES_2_TO_4 = ".,-"
#: Characters any of the four rules can act on (besides whitespace and digits, which matter
#: only next to ``.``, ``,`` or ``-``).
SPECIAL = "".join(sorted(RULE1 - {" "} | set(RULES_2_TO_4)))

_RULE1_SPLIT = re.compile("([" + re.escape("".join(sorted(RULE1 - {" "}))) + "])")
_DIGIT_DASH = re.compile("[0-9]-")

_words: dict[str, list[str]] = {}
_pieces: dict[str, list[str]] = {}
#: (leading .,-, trailing .,-, placeholder core) -> (tokens before, left, right, tokens after)
_shapes: dict[tuple[str, str, str], tuple[list[str], str, str, list[str]]] = {}
_held = 0  # bytes the three memos hold, as accounted when each entry went in
#: An entry's bytes, from above, for a key of ASCII text and for any other: per character of the
#: key (the key and its tokens together have at most twice its characters), per token (a str
#: header and a list slot), and per entry (the list or tuple, one more str, the dict slot).
_ASCII_COST = (2, sys.getsizeof("") + 8, sys.getsizeof("") + 56 + 64 + ENTRY_OVERHEAD)
_OTHER_COST = (2 * _CHAR, _STR_HEADER + 8, 2 * (_STR_HEADER + 8) + 64 + ENTRY_OVERHEAD)
_, _ASCII_PER_TOKEN, _ASCII_PER_ENTRY = _ASCII_COST


def _remember(memo: dict, key: Any, value: Any, chars: int, tokens: int, ascii: bool = False) -> None:
    """``memo[key] = value``, for an entry of ``chars`` characters in its key in ``tokens``
    strings: the memos are emptied first when it would take them past :data:`_MEMO_SIZE`
    entries or :data:`WORD_MEMO_BYTES` (an entry bigger than that is not kept)."""
    global _held
    per_char, per_token, per_entry = _ASCII_COST if ascii else _OTHER_COST
    cost = per_char * chars + per_token * tokens + per_entry
    held = _held + cost
    if held > WORD_MEMO_BYTES or len(memo) >= _MEMO_SIZE:
        _words.clear()
        _pieces.clear()
        _shapes.clear()
        _held = held = 0
        if cost > WORD_MEMO_BYTES:
            return
        held = cost
    memo[key] = value
    _held = held


def _pairs(line: str, first: Callable[[str], bool], second: Callable[[str], bool], replace) -> str:
    """``re.sub`` of a two-character pattern ``(first)(second)``, scanning left to right and
    resuming after each match, exactly as the regex engine does."""
    out, i, n = [], 0, len(line)
    while i < n:
        if i + 1 < n and first(line[i]) and second(line[i + 1]):
            out.append(replace(line[i], line[i + 1]))
            i += 2
        else:
            out.append(line[i])
            i += 1
    return "".join(out)


def _not_digit(c: str) -> bool:
    return c not in DIGITS


def _period_comma(c: str) -> bool:
    return c in PERIOD_COMMA


def _digit(c: str) -> bool:
    return c in DIGITS


def _dash(c: str) -> bool:
    return c == "-"


def rules_2_to_4(piece: str) -> list[str]:
    """The tokens of rules 2 to 4 applied, in order, to ``" piece "``."""
    line = f" {piece} "
    line = _pairs(line, _not_digit, _period_comma, lambda a, b: f"{a} {b} ")
    line = _pairs(line, _period_comma, _not_digit, lambda a, b: f" {a} {b}")
    line = _pairs(line, _digit, _dash, lambda a, b: f"{a} {b} ")
    return line.split()


def _shape(lead: str, placeholder: str, trail: str) -> tuple[list[str], str, str, list[str]]:
    """Rules 2 to 4 on ``lead + placeholder + trail``, as the tokens before the one holding
    the placeholder, what that one has left and right of it, and the tokens after."""
    tokens = rules_2_to_4(lead + placeholder + trail)
    at = next(i for i, t in enumerate(tokens) if placeholder in t)
    left, right = tokens[at].split(placeholder)
    return tokens[:at], left, right, tokens[at + 1 :]


def _piece(piece: str) -> list[str]:
    """The tokens of a piece holding ``.``, ``,`` or ``-`` (no whitespace, no RULE1 character),
    remembered, by shape where its core holds none of them."""
    tokens = _pieces.get(piece)
    if tokens is None:
        core = piece.strip(RULES_2_TO_4)
        if core and "." not in core and "," not in core and "-" not in core:
            start = len(piece) - len(piece.lstrip(RULES_2_TO_4))
            lead, trail = piece[:start], piece[start + len(core) :]
            if len(core) == 1:
                placeholder = "0" if core in DIGITS else "a"
            else:
                placeholder = ("0" if core[0] in DIGITS else "a") + ("0" if core[-1] in DIGITS else "a")
            key = (lead, trail, placeholder)
            shape = _shapes.get(key)
            if shape is None:
                shape = _shape(lead, placeholder, trail)
                _remember(_shapes, key, shape, len(lead) + len(trail) + 2, len(shape[0]) + len(shape[3]) + 5)
            before, left, right, after = shape
            tokens = [*before, left + core + right, *after]
        elif "." not in piece and "," not in piece and _DIGIT_DASH.search(piece) is None:
            tokens = [piece]  # only rule 4 could act, and no digit comes before a dash
        else:
            tokens = rules_2_to_4(piece)
        _remember(_pieces, piece, tokens, len(piece), len(tokens), piece.isascii())
    return tokens


#: A last or first character that always stands alone when the rest of the word is letters
#: and digits: a RULE1 character, or ``.`` and ``,`` (rules 2 and 3 split them off whether the
#: neighbour is a digit or not). Not ``-``: only a digit before it splits it off.
_ALONE_AT_AN_END = RULE1 | PERIOD_COMMA


def _word(word: str) -> list[str]:
    """The tokens of a word that is not all letters and digits, remembered."""
    if word[-1] in _ALONE_AT_AN_END and word[:-1].isalnum():  # "word," "word." "word:" (most)
        tokens = [word[:-1], word[-1]]
    elif word[0] in _ALONE_AT_AN_END and word[1:].isalnum():  # "(word" '"word'
        tokens = [word[0], word[1:]]
    else:
        tokens = []
        for i, part in enumerate(_RULE1_SPLIT.split(word)):  # pieces at even places, RULE1 characters at odd
            if i & 1:
                tokens.append(part)
            elif "." in part or "," in part or "-" in part:  # (three C scans beat one regex call)
                tokens.extend(_piece(part))
            elif part:
                tokens.append(part)
    global _held  # _remember(_words, ...) inlined for ASCII words: this is the hot path
    held = _held + 2 * len(word) + _ASCII_PER_TOKEN * len(tokens) + _ASCII_PER_ENTRY
    if word.isascii() and held <= WORD_MEMO_BYTES and len(_words) < _MEMO_SIZE:
        _words[word] = tokens
        _held = held
    else:
        _remember(_words, word, tokens, len(word), len(tokens), word.isascii())
    return tokens


def tokenize_13a(text: str) -> list[str]:
    """The tokens sacrebleu's ``Tokenizer13a()(text).split()`` gives, computed word by word."""
    line = text.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    out: list[str] = []
    append, extend, remembered = out.append, out.extend, _words.get
    for word in line.split():
        if word.isalnum():
            append(word)
        else:
            extend(remembered(word) or _word(word))  # a word always has at least one token
    return out


_REPLACED = ("<skipped>", "&quot;", "&amp;", "&lt;", "&gt;")


def lowercase_safe(text: str) -> bool:
    """Whether the 13a tokens of ``text.lower()`` are the 13a tokens of ``text``, lowercased.
    True unless lowercasing creates an occurrence of what 13a replaces (``&QUOT;`` becoming
    ``&quot;``, say), or the text has a capital sigma, whose lowercase depends on the next
    word (final sigma)."""
    if "\u03a3" in text:
        return False
    if "&" not in text and "<" not in text:
        return True
    lower = text.lower()
    return all(lower.count(p) == text.count(p) for p in _REPLACED)

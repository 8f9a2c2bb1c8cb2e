"""Regular expressions that cannot hang a reward: :class:`BoundedRegex`.

Python's ``re`` backtracks: open-r1's format pattern (``^<think>\\n.*?\\n</think>\\n<answer>\\n.*?
\\n</answer>$``) takes time quadratic in the response when the response repeats its middle tags
(a degenerate policy does), 1.2 s on 76 KB, and a 285 KB response froze a server. So a pattern
runs on one of two engines, chosen once, at construction:

- ``re2`` (google-re2): linear time in the text whatever the pattern. Used where the pattern
  can be written for RE2 *with the same meaning*: :func:`to_re2` reads Python's own parse of the
  pattern and writes it out for RE2 node by node, and gives up (``None``) on anything whose
  meaning differs between the two engines or that RE2 lacks: ``\\d``, ``\\w``, ``\\s``, ``\\b``
  (Unicode-aware in Python, ASCII in RE2), lookarounds, backreferences, possessive and atomic
  groups, ``$`` without MULTILINE (Python's also matches before a final newline), case-
  insensitive and verbose matching, counted repeats over 1000;
- ``regex`` (the ``regex`` package, ``re``'s syntax and meaning): backtracking, but with a
  deadline of its own per text (``timeout`` seconds); a text that runs past it gives no
  verdict: :meth:`BoundedRegex.test` returns ``None`` and :attr:`BoundedRegex.deadline_reason`
  says why (the reward turns it into ``None`` with that reason, never a 0).

``engine="auto"`` (the default) takes RE2 where it can and ``regex`` otherwise; ``"re2"``
refuses a pattern RE2 cannot run with the same meaning; ``"regex"`` always uses the deadline.
Verdicts are those of Python's ``re`` on every text that finishes (tests compare them).
Tested in ``tests/test_regex_deadline.py``; timings in ``benchmarks/bench_regex.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

try:  # Python 3.11+; the same parser was public as sre_parse before
    from re import _constants as _c
    from re import _parser
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _parser  # type: ignore[no-redef]

ENGINES = ("auto", "re2", "regex")
MODES = ("match", "fullmatch", "search")
#: Seconds one text may take on the backtracking engine before it is given up.
DEFAULT_TIMEOUT = 1.0
#: Flags whose meaning RE2 shares (UNICODE is the default for str patterns in Python 3).
_RE2_FLAGS = re.DOTALL | re.MULTILINE | re.UNICODE
_RE2_MAX_REPEAT = 1000  # RE2 refuses counted repeats above this


def regex_flags(names: Sequence[str] | str) -> re.RegexFlag:
    """``re`` flags from names such as ``DOTALL``, ``MULTILINE`` (a list, or one string
    separated by spaces, commas or ``|``)."""
    if isinstance(names, str):
        names = [n for n in re.split(r"[\s,|]+", names) if n]
    flags = re.RegexFlag(0)
    for name in names:
        flag = getattr(re.RegexFlag, str(name).upper(), None)
        if not isinstance(flag, re.RegexFlag):
            raise ValueError(f"unknown regex flag {name!r}: use names like DOTALL, MULTILINE, IGNORECASE")
        flags |= flag
    return flags


class _NotForRe2(Exception):
    """The pattern uses something RE2 does not have, or has with another meaning."""


def _char(code: int) -> str:
    return chr(code) if chr(code).isalnum() and code < 128 else f"\\x{{{code:x}}}"


def _class_item(op, av) -> str:
    if op is _c.LITERAL:
        return _char(av)
    if op is _c.RANGE:
        return f"{_char(av[0])}-{_char(av[1])}"
    raise _NotForRe2(f"{op} in a character class")


def _emit(nodes, multiline: bool) -> str:
    out = []
    for op, av in nodes:
        if op is _c.LITERAL:
            out.append(_char(av))
        elif op is _c.NOT_LITERAL:
            out.append(f"[^{_char(av)}]")
        elif op is _c.ANY:
            out.append(".")
        elif op is _c.IN:
            negate = bool(av) and av[0][0] is _c.NEGATE
            items = "".join(_class_item(o, a) for o, a in (av[1:] if negate else av))
            out.append(f"[{'^' if negate else ''}{items}]")
        elif op is _c.BRANCH:
            out.append("(?:" + "|".join(_emit(branch, multiline) for branch in av[1]) + ")")
        elif op is _c.SUBPATTERN:
            _group, add_flags, del_flags, inner = av
            if add_flags or del_flags:
                raise _NotForRe2("scoped inline flags")
            out.append(f"(?:{_emit(inner, multiline)})")
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            low, high, inner = av
            if low > _RE2_MAX_REPEAT or (high is not _c.MAXREPEAT and high > _RE2_MAX_REPEAT):
                raise _NotForRe2("a counted repeat over 1000")
            bound = f"{{{low},}}" if high is _c.MAXREPEAT else f"{{{low},{high}}}"
            out.append(f"(?:{_emit(inner, multiline)}){bound}{'?' if op is _c.MIN_REPEAT else ''}")
        elif op is _c.AT and av is _c.AT_BEGINNING:
            out.append("^")  # start of text, and of every line with MULTILINE: the same in both
        elif op is _c.AT and av is _c.AT_BEGINNING_STRING:
            out.append("\\A")
        elif op is _c.AT and av is _c.AT_END_STRING:
            out.append("\\z")  # Python's \Z is the very end of the text: RE2's \z
        elif op is _c.AT and av is _c.AT_END and multiline:
            out.append("$")  # before every newline and at the end: the same in both
        else:
            raise _NotForRe2(f"{op} {av}" if av is not None else str(op))
    return "".join(out)


def to_re2(pattern: str, flags: int = 0) -> str | None:
    """An RE2 pattern that matches exactly the texts ``pattern`` (Python syntax, ``flags``)
    matches, or ``None`` where there is none this function can vouch for (see the module doc)."""
    try:
        parsed = _parser.parse(pattern, flags)
        used = int(parsed.state.flags)
        if used & ~_RE2_FLAGS:
            return None
        body = _emit(parsed.data, multiline=bool(used & re.MULTILINE))
    except (_NotForRe2, re.error, RecursionError):
        return None
    return ("(?s)" if used & re.DOTALL else "") + ("(?m)" if used & re.MULTILINE else "") + body


def _as_regex_flags(flags: int) -> int:
    """``re`` flags as the ``regex`` package numbers them (ASCII, for one, differs)."""
    import regex

    chosen = [f.name for f in re.RegexFlag if f.value and flags & f.value]
    return sum(int(getattr(regex, name)) for name in chosen if hasattr(regex, name))


def _load_re2():
    try:
        import re2
    except ImportError:
        return None
    return re2


class BoundedRegex:
    """``pattern`` (Python syntax) with ``flags``, tested on texts in ``mode`` (``match``,
    ``fullmatch`` or ``search``) on a linear engine or under a deadline (see the module doc).

    :attr:`engine` is the engine actually used (``"re2"`` or ``"regex"``)."""

    def __init__(
        self,
        pattern: str,
        flags: int = 0,
        mode: str = "match",
        engine: str = "auto",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        try:
            re.compile(pattern, flags)  # Python's syntax is the contract, whatever runs it
        except re.error as exc:
            raise ValueError(f"bad pattern {pattern!r}: {exc}") from None
        self.pattern, self.flags, self.mode, self.timeout = pattern, flags, mode, float(timeout)
        re2 = _load_re2() if engine in ("auto", "re2") else None
        translated = to_re2(pattern, flags) if re2 is not None else None
        compiled = None
        if translated is not None:
            try:
                compiled = re2.compile(translated)
            except Exception:  # RE2's own limits (program size): the deadline engine takes it
                compiled = None
        if compiled is not None:
            self.engine = "re2"
            self._test = getattr(compiled, mode)
        elif engine == "re2":
            why = "google-re2 is not installed" if re2 is None else "it uses what RE2 lacks or reads differently"
            raise ValueError(f"pattern {pattern!r} cannot run on RE2: {why} (use engine='auto' or 'regex')")
        else:
            import regex

            self.engine = "regex"
            self._test = getattr(regex.compile(pattern, _as_regex_flags(flags)), mode)

    @property
    def deadline_reason(self) -> str:
        """Why :meth:`test` gave no verdict (only the backtracking engine has a deadline)."""
        return f"regex timed out after {self.timeout:g}s (the pattern backtracks on this text)"

    def test(self, text: str) -> bool | None:
        """Whether the pattern matches ``text`` in :attr:`mode`; ``None`` past the deadline."""
        if self.engine == "re2":
            return self._test(text) is not None
        try:
            return self._test(text, timeout=self.timeout) is not None
        except TimeoutError:
            return None

    @property
    def provenance(self) -> dict[str, object]:
        out: dict[str, object] = {"engine": self.engine}
        if self.engine == "regex":
            out["timeout_s"] = self.timeout
        return out

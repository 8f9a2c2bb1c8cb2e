"""The regex rewards cannot hang: RE2 (linear) where the pattern means the same there, else a
deadline per response with ``None`` and the reason. Outcomes are asserted, never timings (the
timings are in ``benchmarks/bench_regex.py``)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rewardhub_verify import RegexFormat, ThinkFormat
from rewardhub_verify.formats import OPEN_R1_FORMAT, THINK_PATTERN
from rewardhub_verify.regex_engine import BoundedRegex, to_re2

from rewardhub import Sample, Scorer

pytest.importorskip("re2")

#: A degenerate policy's output: the middle tags again and again, never closing the answer.
#: Python's re needs time quadratic in its length on open-r1's pattern (minutes at 300 KB).
ADVERSARIAL = "<think>\n" + "\n</think>\n<answer>\n" * 16_000  # 304 KB
#: Exponential on any backtracking engine, and not RE2 syntax (a lookahead).
CATASTROPHIC = r"^(a|aa)+(?!x)$"


def test_open_r1s_pattern_runs_on_re2_and_scores_300_kb_of_repeated_tags():
    assert len(ADVERSARIAL) > 300_000
    reward = RegexFormat()  # the default: open-r1's pattern
    assert reward.regex.engine == "re2" and reward.provenance == {"engine": "re2"}
    ok = "<think>\nreasoning\n</think>\n<answer>\n42\n</answer>"
    assert reward.score([Sample(ADVERSARIAL), Sample(ok), Sample(ADVERSARIAL + "x\n</answer>")]) == [0.0, 1.0, 1.0]


def test_a_backtracking_pattern_past_its_deadline_is_none_with_the_reason():
    reward = RegexFormat(CATASTROPHIC, timeout=0.05)
    assert reward.regex.engine == "regex" and reward.provenance == {"engine": "regex", "timeout_s": 0.05}
    stuck, fine = reward.score([Sample("a" * 300_000 + "b"), Sample("aaaa")])
    assert stuck.value is None and stuck.info["reason"] == (
        "regex timed out after 0.05s (the pattern backtracks on this text)"
    )
    assert fine == 1.0


def test_through_the_engine_the_deadline_is_a_missing_value_never_a_zero():
    config = {"rewards": [{"name": "regex_format", "args": {"pattern": CATASTROPHIC, "timeout": 0.05}}]}
    with Scorer.from_config(config) as scorer:
        batch = scorer.score([Sample("a" * 100_000 + "b"), Sample("aa")])
    assert batch.components["regex_format"] == [None, 1.0]
    assert "timed out" in batch.infos["regex_format"][0]["reason"]


def test_think_format_stays_trls_verdict_on_a_300_kb_response():
    long_think = "<think>\n" + "step\n" * 60_000 + "</think>\nanswer"
    nested = long_think.replace("step", "<think>", 1)
    texts = [long_think, nested, ADVERSARIAL]  # the last opens once and closes (many times): TRL says 1
    expected = [float(bool(re.match(THINK_PATTERN, t, re.S | re.M))) for t in texts]  # linear for re too
    assert ThinkFormat().score([Sample(t) for t in texts]) == expected == [1.0, 0.0, 1.0]


def test_engine_choice_and_refusals():
    assert BoundedRegex(OPEN_R1_FORMAT, re.S | re.M).engine == "re2"
    for pattern, flags in [
        (r"\d+", 0),  # Unicode digits in Python, ASCII in RE2
        (r"\w\s\b", 0),
        (r"a$", 0),  # Python's $ also matches before a final newline
        (r"(?i)straße", 0),
        (r"(a)\1", 0),
        (r"x(?=y)", 0),
        (r"a{2000}", 0),
        (r"abc", re.IGNORECASE),
        (r"a b", re.VERBOSE),
    ]:
        assert to_re2(pattern, flags) is None, pattern
        assert BoundedRegex(pattern, flags).engine == "regex"
    with pytest.raises(ValueError, match="cannot run on RE2"):
        RegexFormat(r"\d+", engine="re2")
    assert RegexFormat(OPEN_R1_FORMAT, engine="regex").regex.engine == "regex"
    with pytest.raises(ValueError, match="engine"):
        RegexFormat(engine="pcre")
    with pytest.raises(ValueError, match="timeout"):
        RegexFormat(timeout=0)


# -- RE2 gives Python's verdict: random patterns of the constructs it is given --------------

ATOMS = ["a", "b", "\\n", ".", "[ab]", "[^a]", "[a-c\\n]", "é", "\\.", "[.$^]", "x"]


def _pattern(draw, depth: int = 0) -> str:
    pieces = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["atom", "atom", "group", "alt"] if depth < 2 else ["atom"]))
        if kind == "atom":
            piece = draw(st.sampled_from(ATOMS))
        elif kind == "group":
            piece = "(" + _pattern(draw, depth + 1) + ")"
        else:
            piece = "(?:" + _pattern(draw, depth + 1) + "|" + _pattern(draw, depth + 1) + ")"
        piece += draw(st.sampled_from(["", "", "*", "+", "?", "*?", "+?", "??", "{1,2}", "{,2}", "{2}", "{1,}?"]))
        pieces.append(piece)
    return "".join(pieces)


@st.composite
def patterns(draw) -> str:
    start = draw(st.sampled_from(["", "^", "\\A"]))
    end = draw(st.sampled_from(["", "$", "\\Z"]))
    return start + _pattern(draw) + end


@settings(max_examples=400, deadline=None)
@given(
    pattern=patterns(),
    flags=st.sampled_from([re.M, re.S | re.M, re.S, 0]),
    mode=st.sampled_from(["match", "fullmatch", "search"]),
    texts=st.lists(st.text(alphabet="ab\né.x$", max_size=12), min_size=1, max_size=6),
)
def test_re2_verdicts_equal_pythons(pattern, flags, mode, texts):
    bounded = BoundedRegex(pattern, flags, mode)
    python = getattr(re.compile(pattern, flags), mode)
    if "$" in pattern.replace("[.$^]", "") and not flags & re.M:
        assert bounded.engine == "regex"  # Python's $ differs without MULTILINE: not given to RE2
    else:
        assert bounded.engine == "re2", (pattern, to_re2(pattern, flags))
    for text in texts:
        assert bounded.test(text) == (python(text) is not None), (pattern, flags, mode, text)

"""math_accuracy reads references as datasets ship them: JSON numbers exactly (no reward hack on
``1e20``), plain LaTeX as verl does (boxed), whole plain expressions; and math-verify's options
are arguments with math-verify's defaults."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import pytest
from rewardhub_verify import MathAccuracy

from rewardhub import Sample

pytest.importorskip("math_verify")

#: (reference as the dataset stores it, a right answer, a wrong answer). The wrong answers are
#: what math-verify's plain reading of the reference gives (``(0, 1]`` -> 1, ``1e+20`` -> 1):
#: each of them scored 1.0 before.
TABLE = [
    # MATH-style LaTeX without delimiters
    (r"\frac{1}{2}", r"so $\boxed{\frac12}$", r"\boxed{\frac{1}{3}}"),
    (r"\frac{1}{2}", r"The answer is $0.5$", r"\boxed{2}"),
    (r"\dfrac{3}{4}", r"\boxed{0.75}", r"\boxed{3}"),
    (r"\sqrt{2}", r"\boxed{\sqrt{2}}", r"\boxed{2}"),
    (r"2\sqrt{3}", r"\boxed{2\sqrt{3}}", r"\boxed{2}"),
    (r"\frac{\sqrt{3}}{2}", r"\boxed{\frac{\sqrt3}{2}}", r"\boxed{3}"),
    (r"\{1,2\}", r"\boxed{\{2, 1\}}", r"\boxed{\{1\}}"),
    (r"(0, 1]", r"\boxed{(0,1]}", r"\boxed{1}"),
    (r"[-1, 2)", r"\boxed{[-1,2)}", r"\boxed{2}"),
    (r"(-\infty, 3)", r"\boxed{(-\infty,3)}", r"\boxed{3}"),
    (r"x^2+2x+1", r"\boxed{(x+1)^2}", r"\boxed{x^2+1}"),
    (r"3x+2", r"\boxed{2+3x}", r"\boxed{3}"),
    (r"2^{10}", r"\boxed{1024}", r"\boxed{2}"),
    (r"\pi", r"\boxed{\pi}", r"\boxed{3}"),
    (r"x=5", r"\boxed{5}", r"\boxed{x=6}"),
    (r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", r"\boxed{\begin{pmatrix} 1 \\ 2 \end{pmatrix}}", r"\boxed{2}"),
    (r"12{,}000", r"\boxed{12000}", r"\boxed{12}"),
    (r"90^\circ", r"\boxed{90}", r"\boxed{45}"),
    (r"\text{(B)}", r"\boxed{B}", r"\boxed{C}"),
    # JSON numbers, every type
    (1e20, r"\boxed{10^{20}}", r"\boxed{1}"),
    (0.00001, r"\boxed{10^{-5}}", r"\boxed{1}"),
    (0.00001, r"\boxed{0.00001}", r"\boxed{0}"),
    (2.5e-3, r"\boxed{0.0025}", r"\boxed{2.5}"),
    (-3, r"\boxed{-3}", r"\boxed{3}"),
    (42, "The answer is 42", "The answer is 41"),
    (3.0, r"\boxed{3}", r"\boxed{4}"),
    (10**30 + 1, r"\boxed{1000000000000000000000000000001}", r"\boxed{10^{30}}"),
    # numbers as text, plain expressions, delimiters
    ("2.5e-3", r"\boxed{\frac{1}{400}}", r"\boxed{2.5}"),
    ("-1E+3", r"\boxed{-1000}", r"\boxed{-1}"),
    ("-3", r"\boxed{-3}", r"\boxed{3}"),
    ("10\\%", r"\boxed{10\%}", r"\boxed{20\%}"),
    ("10%", "10%", "20%"),
    ("2**10", r"\boxed{1024}", r"\boxed{2}"),
    ("The answer is $\\frac{1}{2}$.", r"\boxed{1/2}", r"\boxed{1}"),
]


@pytest.fixture(scope="module")
def reward():
    r = MathAccuracy(workers=2, timeout=60)
    yield r
    r.close()


def test_dataset_references_take_the_right_answer_and_refuse_the_wrong_one(reward):
    samples = [Sample(answer, reference=ref) for ref, right, wrong in TABLE for answer in (right, wrong)]
    scores = reward.score(samples)
    got = [(scores[2 * k].value, scores[2 * k + 1].value) for k in range(len(TABLE))]
    failures = [(row[0], pair) for row, pair in zip(TABLE, got) if pair != (1.0, 0.0)]
    assert not failures


def test_exponent_forms_are_not_a_reward_hack(reward):
    """``str(1e20)`` is ``"1e+20"``, which math-verify reads as 1."""
    hack, right = reward.score([Sample(r"\boxed{1}", reference=1e20), Sample(r"\boxed{10^{20}}", reference=1e20)])
    assert hack.value == 0.0 and right.value == 1.0
    assert right.info["reference_parsed"] == "100000000000000000000"
    for text in ('{"answer": 1e20}', '{"answer": 0.00001}', '{"answer": 1E-5}'):
        reference = json.loads(text)["answer"]
        assert reward.score([Sample(r"\boxed{1}", reference=reference)])[0].value == 0.0, text


def test_numbers_are_written_out_exactly():
    from rewardhub_verify.math_references import read_reference

    assert read_reference(1e20) == ("100000000000000000000", None)
    assert read_reference(0.00001) == ("0.00001", None)
    assert read_reference(-2.5e-3) == ("-0.0025", None)
    assert read_reference(1.5e300)[0] == "15" + "0" * 299
    assert read_reference(10**40) == ("1" + "0" * 40, None)
    assert read_reference(-0.0) == ("0.0", None)
    assert read_reference(Fraction(-3, 4)) == ("-\\frac{3}{4}", None)
    assert read_reference(Decimal("1.50")) == ("1.50", None)
    assert read_reference("  6.02e23 ") == ("602000000000000000000000", None)
    assert read_reference("\\frac{1}{2}") == ("\\frac{1}{2}", None)
    assert read_reference(True) == (None, "reference must be a string or a number, got bool")
    assert read_reference(float("nan")) == (None, "reference is not a finite number (nan)")
    assert read_reference(float("inf"))[1] == "reference is not a finite number (inf)"
    assert read_reference(None) == (None, "no reference")


def test_how_the_reference_was_read_is_in_the_info(reward):
    boxed, written, plain, broken, boolean = reward.score(
        [
            Sample("1", reference=r"(0, 1]"),
            Sample("1", reference="so $x = 1$"),
            Sample("1", reference="10%"),
            Sample("1", reference=r"\frac{"),
            Sample("1", reference=False),
        ]
    )
    assert boxed.info["reference_read_as"] == "boxed" and boxed.info["reference_parsed"] == "Interval.Lopen(0, 1)"
    assert written.info["reference_read_as"] == "as written"
    assert plain.info["reference_read_as"] == "plain expression"
    assert broken.value is None and broken.info["reason"] == "reference could not be parsed"
    assert boolean.value is None and "got bool" in boolean.info["reason"]


def test_math_verify_options_reach_verify():
    def value(args: dict, response: str, reference: str) -> float | None:
        with MathAccuracy(workers=1, timeout=60, **args) as r:
            return r.score([Sample(response, reference=reference)])[0].value

    third = r"\boxed{\frac{1}{3}}"
    assert value({}, third, "0.333333") == 1.0 and value({"precision": 8}, third, "0.333333") == 0.0
    assert value({}, r"\boxed{y+1}", "x+1") == 0.0 and value({"strict": False}, r"\boxed{y+1}", "x+1") == 1.0
    relation = r"\boxed{1<x<2}"
    assert value({}, relation, "(1,2)") == 0.0
    assert value({"allow_set_relation_comp": True}, relation, "(1,2)") == 1.0
    assert value({}, "The answer is B.", "B") == 0.0  # B read as a symbol, the response has none
    assert value({"extraction": ["string"]}, "The answer is B.", "B") == 1.0
    assert value({"extraction": ["string"]}, "The answer is C.", "B") == 0.0
    assert value({"style": "trl"}, "The answer is 4", "4") == 0.0  # TRL wants LaTeX
    assert value({"style": "verl"}, "The answer is 4", "4") == 1.0


def test_presets_and_overrides_resolve_with_the_defaults_stated():
    from rewardhub_verify.math_options import resolve

    default = resolve()
    assert [t["type"] for t in default["extraction"]] == ["latex", "expr"]
    assert default["extraction"][0]["boxed_match_priority"] == 50
    assert default["extraction_mode"] == "any_match" and default["fallback_mode"] == "first_match"
    assert (default["precision"], default["numeric_precision"], default["strict"]) == (6, 15, True)
    assert default["allow_set_relation_comp"] is False
    trl = resolve("trl")["extraction"][0]
    assert (trl["boxed_match_priority"], trl["try_extract_without_anchor"]) == (0, False)
    assert trl["normalization"]["units"] is True and trl["normalization"]["nits"] is False
    custom = resolve(extraction=[{"type": "latex", "boxed_match_priority": 0, "normalization": {"units": False}}])
    assert custom["extraction"][0]["normalization"] == {**default["extraction"][0]["normalization"], "units": False}
    for bad, match in [
        ({"style": "nope"}, "style"),
        ({"extraction": ["latexx"]}, "extraction target"),
        ({"extraction": [{"type": "latex", "boxed": 1}]}, "unknown field"),
        ({"extraction": [{"type": "latex", "normalization": {"boxed": "first"}}]}, "boxed"),
        ({"extraction": [{"type": "string", "strings": []}]}, "strings"),
        ({"extraction_mode": "all"}, "extraction_mode"),
        ({"precision": -1}, "precision"),
        ({"strict": "yes"}, "strict"),
    ]:
        with pytest.raises(ValueError, match=match):
            MathAccuracy(**bad)

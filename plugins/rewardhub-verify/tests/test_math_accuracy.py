"""math_accuracy: agreement with math-verify called directly (the reference read as documented:
boxed unless it has delimiters, see ``test_math_references.py``), the deadline, None with reasons."""

from __future__ import annotations

import logging
import random
import threading

import pytest
from rewardhub_verify import MathAccuracy

from rewardhub import Sample, Scorer

math_verify = pytest.importorskip("math_verify")

RESPONSE_TEMPLATES = [
    "The answer is {a}.",
    "After simplifying we get $\\boxed{{{a}}}$",
    "Therefore, the final answer is ${a}$. I hope it is correct.",
    "{a}",
    "We compute step by step: 1 + 1 = 2, and so the result is \\({a}\\)",
    "<think>\nwork it out\n</think>\n\\boxed{{{a}}}",
    "Answer: {a}",
]


def _values(rng: random.Random) -> list[tuple[str, str, str]]:
    """(reference, an equal answer, a different answer) in varied formats."""
    out = []
    for _ in range(7):
        n = rng.randint(-50, 500)
        out.append((str(n), str(n), str(n + rng.choice([1, -1, 7]))))
        p, q = rng.randint(1, 9), rng.choice([2, 4, 5, 8])
        out.append((f"\\frac{{{p}}}{{{q}}}", f"{p / q:g}", f"\\frac{{{p + 1}}}{{{q}}}"))
        out.append((f"{p}/{q}", f"\\frac{{{p}}}{{{q}}}", f"{p}/{q + 1}"))
        out.append((f"{p / q:g}", f"\\dfrac{{{p}}}{{{q}}}", f"{p / q + 0.1:g}"))
        a, b = sorted(rng.sample(range(-9, 20), 2))
        out.append((f"$[{a}, {b})$", f"[{a},{b})", f"[{a}, {b}]"))
        out.append((f"$({a}, \\infty)$", f"({a}, \\infty)", f"[{a}, \\infty)"))
        s = sorted(rng.sample(range(1, 30), 3))
        out.append((f"$\\{{{s[0]}, {s[1]}, {s[2]}\\}}$", f"\\{{{s[2]}, {s[0]}, {s[1]}\\}}", f"\\{{{s[0]}, {s[1]}\\}}"))
        out.append((f"{p}\\sqrt{{{q}}}", f"{p}\\sqrt{{{q}}}", f"{p}\\sqrt{{{q + 1}}}"))
    return out


def generated_pairs(seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pairs = []
    for reference, same, other in _values(rng):
        for template in rng.sample(RESPONSE_TEMPLATES, 3):
            pairs.append((template.format(a=same), reference))
            pairs.append((template.format(a=other), reference))
    pairs += [("The answer is 3", "\\frac{"), ("no answer here", "12"), ("", "7")]
    return pairs


def gold_as_documented(reference: str) -> str:
    """The reference as math_accuracy reads it (``math_references``): as written when it has
    math delimiters, else boxed, as verl does. (The generated references never need the
    plain-expression reading; ``test_math_references.py`` covers that one.)"""
    return reference if "$" in reference else "\\boxed{" + reference + "}"


def direct(response: str, reference: str) -> float | None:
    """math-verify called directly, in the main thread, with its own defaults for the response
    and the reference read as documented (a boxed reference as LaTeX, as verl parses it)."""
    if "$" in reference:
        gold = math_verify.parse(reference)
    else:
        gold = math_verify.parse(gold_as_documented(reference), [math_verify.LatexExtractionConfig()])
    if all(isinstance(g, str) for g in gold):
        return None
    return float(math_verify.verify(gold, math_verify.parse(response)))


@pytest.fixture(scope="module")
def reward():
    r = MathAccuracy(timeout=30, workers=2)
    yield r
    r.close()


@pytest.mark.slow
def test_agrees_with_math_verify_called_directly_on_generated_pairs(reward):
    pairs = generated_pairs()
    assert len(pairs) >= 300
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    expected = [direct(response, reference) for response, reference in pairs]
    scores = reward.score([Sample(response, reference=reference) for response, reference in pairs])
    got = [s.value for s in scores]
    disagreements = [(p, e, g) for p, e, g in zip(pairs, expected, got) if e != g]
    assert not disagreements, disagreements[:5]
    # The set covers right, wrong and unscorable answers.
    assert got.count(1.0) > 100 and got.count(0.0) > 100 and got.count(None) >= 1


@pytest.mark.slow
def test_trl_style_agrees_with_trl_accuracy_reward(tmp_path):
    rewards = pytest.importorskip("trl.rewards")
    pairs = generated_pairs(seed=1)[::4]
    completions = [[{"role": "assistant", "content": response}] for response, _ in pairs]
    expected = rewards.accuracy_reward(completions, [gold_as_documented(reference) for _, reference in pairs])
    # A reference math-verify reads only as raw text (no expression; TRL compares the text) is None here.
    expected = [None if direct(r, ref) is None else e for (r, ref), e in zip(pairs, expected)]
    assert expected.count(None) == 1
    with MathAccuracy(style="trl", workers=2) as reward:
        got = [s.value for s in reward.score([Sample(r, reference=ref) for r, ref in pairs])]
    assert got == expected


def test_info_holds_the_extracted_answer_and_the_parsed_reference(reward):
    right, wrong = reward.score(
        [
            Sample("so $\\boxed{\\frac{1}{2}}$", reference="0.5"),
            Sample("The answer is 41", reference=42),
        ]
    )
    assert right.value == 1.0 and right.info["answer"] == "\\frac{1}{2}" and right.info["answer_parsed"] == "1/2"
    assert wrong.value == 0.0 and wrong.info["answer"] == "41" and wrong.info["reference_parsed"] == "42"


def test_no_reference_or_an_unparseable_one_is_none_with_the_reason(reward):
    none, empty, listed, broken = reward.score(
        [Sample("42"), Sample("42", reference="  "), Sample("42", reference=[42]), Sample("42", reference="\\frac{")]
    )
    assert none.value is None and none.info["reason"] == "no reference"
    assert empty.value is None and empty.info["reason"] == "no reference"
    assert listed.value is None and "string or a number" in listed.info["reason"]
    assert broken.value is None and broken.info["reason"] == "reference could not be parsed"


def test_a_pathological_answer_costs_the_deadline_and_is_none_not_zero():
    with MathAccuracy(timeout=1, workers=1) as reward:
        stuck, after = reward.score(
            [Sample("$9^{9^{9^{9}}}$", reference="1"), Sample("The answer is $\\frac{3}{4}$", reference="0.75")]
        )
        assert stuck.value is None and stuck.info["reason"] == "timed out after 1s"
        assert after.value == 1.0  # the stuck worker was killed and replaced
        old = reward.pool._all[0].proc
        assert reward.score([Sample("$2^{2^{2}}$", reference="16")])[0].value == 1.0
        assert reward.pool._all[0].proc is old  # a healthy worker is reused, not restarted


def test_works_from_threads_and_through_the_engine(reward):
    results: dict[int, list] = {}

    def score(k: int) -> None:
        results[k] = [s.value for s in reward.score([Sample(f"{k}", reference=str(k)), Sample("0", reference="1")])]

    threads = [threading.Thread(target=score, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[k] == [1.0, 0.0] for k in range(4))

    # The engine's timeout runs rewards in a worker thread, where signal.alarm cannot work.
    samples = [Sample("$\\boxed{4}$", reference="4", prompt="2+2?")] * 3 + [Sample("5", reference="4", prompt="2+2?")]
    with Scorer(
        [{"name": "math_accuracy", "weight": 2.0}, {"name": "think_format", "weight": 0.5}], timeout=60
    ) as scorer:
        batch = scorer.score(samples)
    assert batch.components["math_accuracy"] == [1.0, 1.0, 1.0, 0.0]
    assert batch.totals == [2.0, 2.0, 2.0, 0.0]
    assert batch.infos["math_accuracy"][0]["answer"] == "4"

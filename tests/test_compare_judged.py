"""``rewardhub compare A B --judge judge.yaml``: a pairwise judge found through the registry (here
one registered by the test; the LLM judge's own tests are in plugins/rewardhub-judge), the
judged win rate with its jackknife interval (= Student's paired t for one pair a prompt), and
alpaca_eval 2's length-controlled win rate, checked against scikit-learn fitted as alpaca_eval
fits it."""

from __future__ import annotations

import json
import math
import random
import warnings

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardhub
from rewardhub.cli import cli
from rewardhub.compare import compare
from rewardhub.compare import lc_winrate as lc


def verdict(prompt: str, a: str, b: str) -> float:
    """A length-biased judge that sees no other difference: B is preferred with probability
    sigmoid((len B - len A) / 100), the coin fixed by the prompt (so every run agrees)."""
    coin = random.Random(prompt).random()
    return 1.0 if coin < 1 / (1 + math.exp(-(len(b) - len(a)) / 100)) else 0.0


class LengthLoverJudge(rewardhub.Reward):
    """:func:`verdict` for the response against meta.baseline; no verdict where the prompt
    says "skip"."""

    name = "length_lover_judge"
    inputs = ("prompt", "response", "meta")
    pairwise = True

    def score(self, samples):
        out = []
        for s in samples:
            if "skip" in s.prompt_text:
                out.append(rewardhub.Score(None, {"reason": "judge: unparseable verdict"}))
            else:
                out.append(
                    rewardhub.Score(verdict(s.prompt_text, s.meta["baseline"], s.response), {"consistent": True})
                )
        return out


class NotPairwise(rewardhub.Reward):
    name = "plain_reward_for_judging"

    def score(self, samples):
        return [1.0 for _ in samples]


class Plugin:
    @rewardhub.hookimpl
    def register_rewards(register):
        register(LengthLoverJudge)
        register(NotPairwise)


def write_sides(folder, n: int) -> tuple:
    rng = np.random.default_rng(3)
    a, b = folder / "a.jsonl", folder / "b.jsonl"
    with open(a, "w") as fa, open(b, "w") as fb:
        for i in range(n):
            prompt = f"question {i}" + (" skip" if i in (5, 17) else "")
            fa.write(json.dumps({"prompt": prompt, "response": "x" * int(rng.integers(50, 400))}) + "\n")
            fb.write(json.dumps({"prompt": prompt, "response": "y" * int(rng.integers(80, 600))}) + "\n")
    return a, b


@pytest.fixture
def sides(tmp_path, register_plugin):
    register_plugin(Plugin, "judged-test-plugin")
    a, b = write_sides(tmp_path, 40)
    judge = tmp_path / "judge.yaml"
    judge.write_text("name: length_lover_judge\n")
    return a, b, judge, tmp_path


def test_compare_judge_gives_win_rates_with_intervals(sides):
    a, b, judge, tmp = sides
    result = compare(a, b, rewards="none", metrics="none", judge=judge, work_dir=tmp / "w")
    j = result.judged
    assert (j.pairs, j.verdicts, j.prompts) == (40, 38, 38)
    assert j.missing == {"judge: unparseable verdict": 2}
    rows = {side: [json.loads(line) for line in path.read_text().splitlines()] for side, path in (("a", a), ("b", b))}
    wins = [
        verdict(ra["prompt"], ra["response"], rb["response"])
        for ra, rb in zip(rows["a"], rows["b"])
        if "skip" not in ra["prompt"]
    ]
    assert j.win_rate == pytest.approx(np.mean(wins))
    assert (j.b_better, j.a_better, j.ties) == (wins.count(1.0), wins.count(0.0), 0)
    # the jackknife of a mean over one pair a prompt is Student's t interval on the 38 verdicts
    from scipy import stats

    half = stats.t.ppf(0.975, 37) * np.std(wins, ddof=1) / math.sqrt(38)
    assert j.ci == pytest.approx((max(0, np.mean(wins) - half), min(1, np.mean(wins) + half)))
    assert j.lc_ci[0] <= j.lc_win_rate <= j.lc_ci[1]
    assert j.mean_chars["b"] > j.mean_chars["a"]


def test_a_judge_swayed_only_by_length_wins_raw_but_not_length_controlled(tmp_path, register_plugin):
    register_plugin(Plugin, "judged-test-plugin")
    a, b = write_sides(tmp_path, 300)
    j = compare(
        a, b, rewards="none", metrics="none", judge={"name": "length_lover_judge"}, work_dir=tmp_path / "w"
    ).judged
    assert j.ci[0] > 0.6  # B's answers are longer, and this judge likes that
    assert j.lc_ci[0] < 0.5 < j.lc_ci[1]  # at equal length it has no preference
    assert j.lc_model["w_length"] < 0  # (the feature is len A - len B)


def test_the_table_json_and_report_carry_the_judged_section(sides):
    a, b, judge, tmp = sides
    args = ["compare", str(a), str(b), "--rewards", "none", "--metrics", "none", "--work-dir", str(tmp / "w")]
    runner = CliRunner()
    table = runner.invoke(cli, [*args, "--judge", str(judge)])
    assert table.exit_code == 0, table.output
    assert "win rate of B:" in table.output and "length-controlled win rate of B:" in table.output
    assert "no verdict on 2 of 40 pairs: judge: unparseable verdict" in table.output
    document = json.loads(runner.invoke(cli, [*args, "--judge", str(judge), "--json", "-q"]).output)["judged"]
    assert document["pairs"] == 40 and document["verdicts"] == 38
    assert len(document["ci"]) == 2 and len(document["length_controlled_ci"]) == 2
    assert document["judge"]["name"] == "length_lover_judge"
    assert "judged" not in json.loads(runner.invoke(cli, [*args, "--json", "-q"]).output)  # only when asked
    page = tmp / "r.html"
    report = runner.invoke(
        cli,
        ["report", "--compare", str(a), str(b), "--rewards", "none", "--metrics", "none", "--work-dir", str(tmp / "w"),
         "--judge", str(judge), "-o", str(page)],
    )  # fmt: skip
    assert report.exit_code == 0, report.output
    assert "<h3>Judged</h3>" in page.read_text() and "length-controlled win rate of B" in page.read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name: plain_reward_for_judging\n", "is not a pairwise judge"),
        ("name: no_such_judge\n", "no_such_judge"),
        ("name: length_lover_judge\nweight: 2\n", "unknown field(s) ['weight']"),
        ("- a list\n", "must be a mapping"),
        ("name: length_lover_judge\nargs: {surprise: 1}\n", "bad args"),
    ],
)
def test_a_bad_judge_file_is_a_one_line_error_before_any_work(sides, content, message):
    a, b, judge, tmp = sides
    judge.write_text(content)
    result = CliRunner().invoke(cli, ["compare", str(a), str(b), "--judge", str(judge), "--work-dir", str(tmp / "w")])
    assert result.exit_code == 2
    assert message in result.output and str(judge) in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp / "w").exists()  # nothing was scored first


def test_a_missing_judge_file_and_report_without_a_comparison(sides):
    a, b, judge, tmp = sides
    missing = CliRunner().invoke(cli, ["compare", str(a), str(b), "--judge", str(tmp / "nope.yaml")])
    assert missing.exit_code == 2 and "nope.yaml" in missing.output
    lone = CliRunner().invoke(cli, ["report", str(a), "--judge", str(judge), "-o", str(tmp / "r.html")])
    assert lone.exit_code == 2 and "--judge judges a comparison" in lone.output


def test_sides_without_shared_prompts_have_nothing_to_judge(sides):
    a, _, judge, tmp = sides
    other = tmp / "other.jsonl"
    other.write_text("".join(json.dumps({"prompt": f"another {i}", "response": "z"}) + "\n" for i in range(5)))
    j = compare(a, other, rewards="none", metrics="none", judge=judge, work_dir=tmp / "w").judged
    assert j.pairs == 0 and j.win_rate is None and j.ci is None and j.lc_win_rate is None
    assert "the sides share no prompt: there is nothing to judge" in j.notes


# -- the length-controlled win rate against scikit-learn --------------------------------------


def sklearn_l1(x: np.ndarray, p: np.ndarray, c: float) -> np.ndarray:
    """alpaca_eval's fit: each pair twice (label 1 weight p, label 0 weight 1 - p), L1,
    liblinear, no intercept (the constant column is w_0)."""
    sklearn = pytest.importorskip("sklearn.linear_model")
    duplicated = np.vstack([x, x])
    labels = np.r_[np.ones(len(p)), np.zeros(len(p))]
    weights = np.r_[p, 1 - p]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'penalty' is deprecated from scikit-learn 1.8 on
        model = sklearn.LogisticRegression(
            C=c, penalty="l1", solver="liblinear", fit_intercept=False, tol=1e-12, max_iter=100_000
        )
        model.fit(duplicated, labels, sample_weight=weights)
    return model.coef_[0]


def data(seed: int, n: int, effect: float, tie_share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    len_a = rng.integers(50, 3000, n).astype(float)
    len_b = len_a + rng.normal(200, 600, n)
    p = (rng.random(n) < 1 / (1 + np.exp(-effect * (len_b - len_a) / 600))).astype(float)
    p[rng.random(n) < tie_share] = 0.5
    return len_a, len_b, p


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(10, 300),
    effect=st.floats(-2, 3),
    tie_share=st.floats(0, 0.4),
    c=st.sampled_from(list(lc.CS)),
)
def test_the_l1_fit_is_liblinears(seed, n, effect, tie_share, c):
    len_a, len_b, p = data(seed, n, effect, tie_share)
    x = lc.design(len_a, len_b)
    ours, theirs = lc.fit(x, p, c), sklearn_l1(x, p, c)
    # ours is the exact minimizer: never worse than liblinear's, and the same point
    assert lc.penalized(ours, x, p, c) <= lc.penalized(theirs, x, p, c) + 1e-9 * (1 + c * n)
    assert ours == pytest.approx(theirs, abs=1e-4)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(20, 200), effect=st.floats(-2, 3), tie_share=st.floats(0, 0.4))
def test_the_length_controlled_rate_is_alpaca_evals_cross_validated_glm(seed, n, effect, tie_share):
    len_a, len_b, p = data(seed, n, effect, tie_share)
    unit = np.arange(n)
    result = lc.length_controlled(len_a, len_b, p, unit, 0.95)
    # scikit-learn's solver through the same 5 grouped folds, the same grid and criterion
    x, fold = lc.design(len_a, len_b), lc.folds(unit)
    scores = []
    for c in lc.CS:
        losses = []
        for f in range(lc.N_SPLITS):
            w = sklearn_l1(x[fold != f], p[fold != f], c)
            losses.append(lc.soft_log_loss(x[fold == f], p[fold == f], w))
        scores.append(np.mean(losses))
    best = int(np.argmin(scores))
    if abs(sorted(scores)[0] - sorted(scores)[1]) > 1e-7:  # (a near-tie may pick either grid point)
        assert result.c == lc.CS[best]
    expected = lc.sigmoid(sklearn_l1(x, p, result.c)[0])
    assert result.value == pytest.approx(expected, abs=1e-4)
    assert result.ci[0] <= result.value <= result.ci[1]


def test_length_controlled_needs_five_prompts_and_varying_lengths():
    short = lc.length_controlled(np.arange(4.0), np.arange(4.0) + [1, 2, 3, 4], np.ones(4), np.arange(4), 0.95)
    assert short.value is None and "at least 5 prompts" in short.note
    same = lc.length_controlled(np.arange(8.0), np.arange(8.0) + 10, np.ones(8), np.arange(8), 0.95)
    assert same.value is None and "same amount" in same.note

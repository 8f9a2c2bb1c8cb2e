"""The statistics of ``rewardhub compare``: a side compared with itself changes nothing, a known
effect is covered at the stated rate, and the intervals agree with the t test on normal data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from rewardhub.compare import stats
from rewardhub.compare.analysis import analyse
from rewardhub.compare.sides import ScoredRow, Side
from rewardhub.types import Sample


def side(label: str, values, prompts=None) -> Side:
    prompts = prompts if prompts is not None else [f"prompt {i}" for i in range(len(values))]
    rows = [
        ScoredRow(Sample(response=f"answer {i}", prompt=p), {"r": float(v)}, {})
        for i, (v, p) in enumerate(zip(values, prompts))
    ]
    return Side(label, [f"{label}.jsonl"], rows)


def run(a, b, **kw):
    return analyse(side("a", a), side("b", b), ["r"], {"r": True}, [], **kw).rewards["r"]


@pytest.mark.parametrize("paired", ["yes", "no"])
def test_a_side_compared_with_itself_has_delta_0_and_intervals_around_0(paired):
    values = np.random.default_rng(0).normal(size=300)
    result = run(values, values, paired=paired, permutations=500)
    assert result.delta == 0
    assert result.ci[0] <= 0 <= result.ci[1]
    assert result.p == 1.0 and result.win_rate == 0.5


def test_paired_interval_agrees_with_the_paired_t_test():
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, 400)
    b = a + rng.normal(0.2, 0.5, 400)
    result = run(a, b, paired="yes", permutations=10_000, seed=3)
    t = scipy_stats.ttest_rel(b, a).confidence_interval(0.95)
    half = (t.high - t.low) / 2
    assert result.delta == pytest.approx(np.mean(b - a))
    assert abs(result.ci[0] - t.low) < 0.04 * half and abs(result.ci[1] - t.high) < 0.04 * half


def test_unpaired_interval_agrees_with_welchs_t_test():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, 500), rng.normal(0.3, 1.5, 400)
    result = analyse(
        side("a", a),
        side("b", b, [f"other {i}" for i in range(400)]),
        ["r"],
        {"r": True},
        [],
        paired="auto",
        permutations=10_000,
        seed=4,
    )
    reward = result.rewards["r"]
    t = scipy_stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    half = (t.high - t.low) / 2
    assert not result.paired  # no prompt in common: auto does not pair
    assert abs(reward.ci[0] - t.low) < 0.04 * half and abs(reward.ci[1] - t.high) < 0.04 * half


@pytest.mark.slow
@pytest.mark.parametrize("paired", ["yes", "no"])
def test_a_known_effect_is_covered_about_95_percent_of_the_time(paired):
    covered = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        a = rng.normal(0, 1, 150)
        b = (0.6 * a if paired == "yes" else rng.normal(0, 1, 150)) + rng.normal(0.25, 1, 150)
        result = run(a, b, paired=paired, permutations=1000, seed=seed)
        covered += result.ci[0] <= 0.25 <= result.ci[1]
    assert 0.90 <= covered / 200 <= 0.985


def test_p_value_and_win_rate():
    a = np.zeros(50)
    b = np.concatenate([np.ones(30), np.zeros(10), -np.ones(10)])
    result = run(a, b, paired="yes", permutations=2000)
    assert result.win_rate == pytest.approx((30 + 0.5 * 10) / 50)
    assert result.p < 0.01
    lower_is_better = analyse(side("a", a), side("b", b), ["r"], {"r": False}, [], paired="yes").rewards["r"]
    assert lower_is_better.win_rate == pytest.approx((10 + 0.5 * 10) / 50)


def test_superiority_is_the_mann_whitney_u():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=60), rng.normal(0.5, size=70)
    u = scipy_stats.mannwhitneyu(b, a).statistic
    assert stats.superiority(a, b, True) == pytest.approx(u / (60 * 70))


def test_leave_out_weights_drop_one_group_each_and_groups_are_balanced():
    from rewardhub.compare import jackknife

    rng = np.random.default_rng(0)
    small = jackknife.Grouping(11, rng)
    [w] = list(small.leave_out_weights())
    assert w.shape == (11, 11) and (w == 1 - np.eye(11)).all()  # delete-1 up to MAX_GROUPS units
    big = jackknife.Grouping(2503, rng, max_groups=100)
    sizes = np.bincount(big.of_unit)
    assert big.groups == 100 and sizes.min() == 25 and sizes.max() == 26
    chunks = list(big.leave_out_weights())
    columns = np.concatenate(chunks, axis=1)
    assert columns.shape == (2503, 100)
    assert (columns.sum(axis=0) == 2503 - sizes).all()  # column g leaves group g out, and only it


def test_exact_sign_flips_on_few_prompts():
    rng = np.random.default_rng(0)
    assert stats.sign_flip_p(np.array([1.0, 2.0, 3.0]), 2000, rng) == 2 / 8  # all same sign: 2 of 8 patterns
    assert stats.sign_flip_p(np.array([0.5]), 2000, rng) == 1.0  # one prompt can never be significant
    d = np.array([1.0, -0.2, 0.7, 0.3, 0.9, 0.4])
    exact = stats.sign_flip_p(d, 2000, rng)
    signs = np.array(np.meshgrid(*[[-1, 1]] * 6)).reshape(6, -1).T
    assert exact == np.mean(np.abs(signs @ d) >= abs(d.sum()) - 1e-12)


def test_auto_pairs_when_half_the_prompts_match():
    a = side("a", np.arange(10.0))
    most = side("b", np.arange(10.0), [f"prompt {i}" for i in range(7)] + [f"new {i}" for i in range(3)])
    fewer = side("b", np.arange(10.0), [f"prompt {i}" for i in range(5)] + [f"new {i}" for i in range(5)])
    partly = analyse(a, most, ["r"], {"r": True}, [], permutations=10)  # 7 of 13 distinct prompts
    assert partly.paired and partly.pairs == 7 and partly.a.n == 7
    assert not analyse(a, fewer, ["r"], {"r": True}, [], permutations=10).paired  # 5 of 15
    same = side("b", np.arange(10.0) + 1, [f"prompt {i}" for i in range(10)])
    result = analyse(a, same, ["r"], {"r": True}, [], permutations=10)
    assert result.paired and result.pairs == 10 and result.rewards["r"].delta == pytest.approx(1.0)
    assert not analyse(a, fewer, ["r"], {"r": True}, [], permutations=10).paired


def test_metrics_without_a_resampling_path_or_that_fail_are_reported_not_fatal():
    from rewardhub.build import build_metrics
    from rewardhub.metrics import Distinct
    from rewardhub.rewards import Metric

    class MeanLength(Metric):
        name = "mean_length"

        def compute(self, samples):
            return {"mean_length": float(np.mean([len(s.response) for s in samples]))}

    class Broken(Metric):
        name = "broken"

        def compute(self, samples):
            raise RuntimeError("boom")

    a, b = side("a", np.arange(20.0)), side("b", np.arange(20.0))
    b.rows = [ScoredRow(Sample(r.sample.response + "!", prompt=r.sample.prompt), r.rewards, {}) for r in b.rows]
    result = analyse(a, b, ["r"], {"r": True}, build_metrics([MeanLength(), Broken(), Distinct(n=1)]), permutations=100)
    assert result.metrics["mean_length"].delta == pytest.approx(1.0) and result.metrics["mean_length"].ci is None
    assert "no resampling path" in result.metrics["mean_length"].note
    assert result.metrics["distinct_1"].ci is not None
    assert any("'broken' failed: RuntimeError: boom" in note for note in result.notes)
    assert result.to_dict()["metrics"]["mean_length"]["ci"] is None


def test_each_metric_without_a_resampling_path_keeps_its_own_direction():
    """Two such metrics in a row: the second must not claim the first one's keys (a bug once
    turned every ``ead`` key 'lower is better' when ``compression_ratio`` came after it)."""
    from rewardhub.build import build_metrics
    from rewardhub.rewards import Metric

    class Up(Metric):
        name, higher_is_better = "up", True

        def compute(self, samples):
            return {"up": float(len(samples))}

    class Down(Metric):
        name, higher_is_better = "down", False

        def compute(self, samples):
            return {"down": float(len(samples))}

    a, b = side("a", np.arange(10.0)), side("b", np.arange(10.0))
    for order in ([Up(), Down()], [Down(), Up()]):
        result = analyse(a, b, ["r"], {"r": True}, build_metrics(order), permutations=50)
        assert result.metrics["up"].higher_is_better is True
        assert result.metrics["down"].higher_is_better is False


def test_self_bleu_left_out_is_self_bleu_of_the_responses_kept():
    from rewardhub.compare.corpus import SideCorpus
    from rewardhub.compare.metric_deltas import ExactSelfBleu
    from rewardhub.metrics import SelfBleu, self_bleu_scores

    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(30)]
    texts = [" ".join(rng.choice(words, rng.integers(0, 25))) for _ in range(60)]
    metric = SelfBleu(n=(2, 4))
    unit_of = np.arange(60) % 12
    exact = ExactSelfBleu(metric, SideCorpus(texts, unit_of, 12), "")
    tokens = metric.token_lists(texts)
    for left_out in (0, 5, 11):
        keep = unit_of != left_out
        expected = self_bleu_scores([t for t, k in zip(tokens, keep) if k], (2, 4))
        got = exact.scores(keep)
        for k in (2, 4):
            np.testing.assert_allclose(got[k], expected[k], rtol=0, atol=1e-15)

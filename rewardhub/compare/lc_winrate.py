"""alpaca_eval 2's length-controlled win rate, reimplemented (numpy and scipy; no scikit-learn).

Read from tatsu-lab/alpaca_eval, ``src/alpaca_eval/metrics/glm_winrate.py`` (commit cd543a1:
``get_length_controlled_winrate``, ``_get_featurized_data``, ``fit_LogisticRegressionCV``).
There, a judge's preference for the model over the baseline (``p`` in [0, 1], a tie 0.5) is
regressed on the answers' length difference with a logistic GLM::

    P(model preferred) = sigmoid(w_0 + w_len * tanh(delta / sd(delta)) + w_diff * difficulty)

``delta`` = baseline length - model length in characters, ``sd`` its standard deviation
over the pairs (ddof 1), ``w_0`` the coefficient of a constant column (their
``not_gamed_baseline``; no other intercept). It is fitted to the soft labels (each pair once as
"preferred" with weight ``p`` and once as "not" with weight ``1 - p``) with an L1 penalty,
liblinear's objective ``|w|_1 + C * sum(weighted log loss)``, ``C`` chosen among
``logspace(-4, 4, 10)`` by 5-fold cross-validation grouped by pair, on the held-out soft log
loss, then refitted on every pair. The length-controlled win rate is the mean prediction with
the length difference set to 0.

Here: the same features, penalty, grid, folds and criterion, except ``difficulty`` (a
per-instruction difficulty alpaca_eval estimated on its own 805 instructions and downloads
from the hub, which means nothing for other prompts): what remains is alpaca_eval's
``length_controlled_minimal`` GLM, whose prediction at a length difference of 0 is
``sigmoid(w_0)``. alpaca_eval's default (``length_controlled_v1``) also regularizes towards
gamed baselines downloaded with it; neither is reproduced. The fit is exact (Newton's method
on each face of the orthants, :func:`fit`), where liblinear stops at a tolerance; the folds
group pairs by prompt (prompt ``g`` in fold ``g mod 5``).

Its interval: Student's t on the jackknife over prompts (:mod:`rewardhub.compare.jackknife`),
each prompt left out in turn and the GLM refitted (features restandardized) at the ``C``
chosen on all pairs. It needs 5 prompts (the folds) and a length difference that varies;
otherwise it is ``None`` with the reason. Checked against scikit-learn's
``LogisticRegressionCV`` set up as alpaca_eval sets it up, in ``tests/test_compare_judged.py``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from rewardhub.compare.jackknife import Grouping, interval, too_few, variance

#: alpaca_eval's grid: scikit-learn's default ``Cs=10``, ``logspace(-4, 4, 10)``.
CS = np.logspace(-4, 4, 10)
N_SPLITS = 5
EPSILON = 1e-15  # the clipping of alpaca_eval's log loss


@dataclass
class LengthControlled:
    """The length-controlled win rate, its interval, the chosen ``C`` and the coefficients
    (``w_0``, ``w_len``), or ``None`` values and ``note`` saying why."""

    value: float | None
    ci: tuple[float, float] | None
    c: float | None = None
    coef: tuple[float, float] | None = None
    note: str | None = None


def sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return np.exp(-np.logaddexp(0, -x))


def design(len_a: np.ndarray, len_b: np.ndarray) -> np.ndarray | None:
    """Columns ``[1, tanh(delta / sd(delta))]`` with ``delta = len_a - len_b`` (A the baseline),
    or ``None`` when the difference does not vary."""
    delta = np.asarray(len_a, float) - np.asarray(len_b, float)
    if len(delta) < 2:
        return None
    sd = float(np.std(delta, ddof=1))
    if not np.isfinite(sd) or sd == 0:
        return None
    return np.column_stack([np.ones(len(delta)), np.tanh(delta / sd)])


def penalized(w: np.ndarray, x: np.ndarray, p: np.ndarray, c: float) -> float:
    """liblinear's L1 objective ``|w|_1 + c * sum(p log(1 + e^-xw) + (1 - p) log(1 + e^xw))``."""
    z = x @ w
    return float(np.sum(np.abs(w)) + c * np.sum(p * np.logaddexp(0, -z) + (1 - p) * np.logaddexp(0, z)))


def fit(x: np.ndarray, p: np.ndarray, c: float) -> np.ndarray:
    """The minimizer of :func:`penalized`: liblinear's L1 logistic regression on the soft
    labels ``p``, solved exactly. The minimizer lies inside one face of the orthants (a set
    of nonzero coefficients with their signs), where the objective is smooth and convex; so
    each face is solved by Newton's method, a solution whose signs do not fit its face is
    dropped, and the best of the rest is the answer (``x`` has few columns: 9 faces for 2)."""
    with np.errstate(all="ignore"):  # a face without a minimum overflows: it is dropped, not reported
        return _fit(x, p, c)


def _fit(x: np.ndarray, p: np.ndarray, c: float) -> np.ndarray:
    k = x.shape[1]
    best, best_value = np.zeros(k), penalized(np.zeros(k), x, p, c)
    for support in itertools.chain.from_iterable(itertools.combinations(range(k), r) for r in range(1, k + 1)):
        cols = list(support)
        for signs in itertools.product((1.0, -1.0), repeat=len(cols)):
            v = _newton(x[:, cols], p, c, np.array(signs))
            if v is None or np.any(v * np.array(signs) <= 0):
                continue
            w = np.zeros(k)
            w[cols] = v
            value = penalized(w, x, p, c)
            if value < best_value:
                best, best_value = w, value
    return best


def _newton(x: np.ndarray, p: np.ndarray, c: float, signs: np.ndarray, steps: int = 100) -> np.ndarray | None:
    """``argmin signs.v + c * log loss(x v)`` by damped Newton steps, or ``None`` when it has no
    minimum (the loss keeps falling along the face: then the face holds no solution)."""
    v = np.zeros(x.shape[1])

    def value(v: np.ndarray) -> float:
        z = x @ v
        return float(signs @ v + c * np.sum(p * np.logaddexp(0, -z) + (1 - p) * np.logaddexp(0, z)))

    current = value(v)
    for _ in range(steps):
        q = sigmoid(x @ v)
        grad = signs + c * (x.T @ (q - p))
        hess = c * (x.T * (q * (1 - q))) @ x
        hess += np.eye(len(v)) * (1e-12 * (np.trace(hess) + 1e-300))
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return None
        t = 1.0
        while True:  # backtracking (Armijo) on the convex objective
            candidate = v - t * step
            new = value(candidate)
            if new <= current - 1e-4 * t * float(grad @ step) or t < 1e-10:
                break
            t /= 2
        if not np.all(np.isfinite(candidate)) or np.max(np.abs(candidate)) > 1e6:
            return None
        moved = float(np.max(np.abs(candidate - v)))
        v, current = candidate, new
        if moved <= 1e-12 * (1 + float(np.max(np.abs(v)))):
            return v
    return v if float(np.max(np.abs(signs + c * (x.T @ (sigmoid(x @ v) - p))))) < 1e-6 * (1 + c * len(p)) else None


def soft_log_loss(x: np.ndarray, p: np.ndarray, w: np.ndarray) -> float:
    """alpaca_eval's held-out criterion: the mean log loss of the predictions on soft labels."""
    q = np.clip(sigmoid(x @ w), EPSILON, 1 - EPSILON)
    return float(-np.mean(p * np.log(q) + (1 - p) * np.log(1 - q)))


def folds(unit: np.ndarray) -> np.ndarray:
    """The fold of each pair: its prompt's number mod 5 (a prompt's pairs stay together)."""
    return np.asarray(unit) % N_SPLITS


def choose_c(x: np.ndarray, p: np.ndarray, fold: np.ndarray) -> float:
    """The ``C`` of :data:`CS` with the lowest mean held-out soft log loss over the folds (the
    first of equals, as scikit-learn picks)."""
    scores = []
    for c in CS:
        losses = []
        for f in range(N_SPLITS):
            train, test = fold != f, fold == f
            losses.append(soft_log_loss(x[test], p[test], fit(x[train], p[train], c)))
        scores.append(np.mean(losses))
    return float(CS[int(np.argmin(scores))])


def length_controlled(
    len_a: np.ndarray, len_b: np.ndarray, preference: np.ndarray, unit: np.ndarray, confidence: float, seed: int = 0
) -> LengthControlled:
    """The length-controlled win rate of B over A: ``preference`` of B per pair (1 B better,
    0 A better, 0.5 tie), the answers' lengths, and the prompt (``unit``, 0..G-1) of each pair."""
    len_a, len_b = np.asarray(len_a, float), np.asarray(len_b, float)
    p, unit = np.asarray(preference, float), np.asarray(unit)
    units = int(unit.max()) + 1 if len(unit) else 0
    if units < N_SPLITS:
        return LengthControlled(None, None, note=f"needs at least {N_SPLITS} prompts (its {N_SPLITS}-fold choice of C)")
    x = design(len_a, len_b)
    if x is None:
        return LengthControlled(
            None, None, note="the two sides' answers differ in length by the same amount everywhere"
        )
    c = choose_c(x, p, folds(unit))
    w = fit(x, p, c)
    value = float(sigmoid(w[0]))
    ci, note = _jackknife(len_a, len_b, p, unit, units, c, value, confidence, seed)
    return LengthControlled(value, ci, c, (float(w[0]), float(w[1])), note)


def _jackknife(
    len_a, len_b, p, unit, units, c, value, confidence, seed
) -> tuple[tuple[float, float] | None, str | None]:
    why = too_few(units, "prompts")
    if why:
        return None, why
    grouping = Grouping(units, np.random.default_rng(seed))
    of_pair = grouping.of_unit[unit]
    leave_out = np.empty(grouping.groups)
    for g in range(grouping.groups):
        kept = of_pair != g
        x = design(len_a[kept], len_b[kept])
        leave_out[g] = np.nan if x is None else float(sigmoid(fit(x, p[kept], c)[0]))
    var = variance(leave_out)
    ci = interval(value, var, grouping.groups - 1, confidence)
    if ci is None:
        return None, "the length-controlled rate could not be refitted with some prompt left out"
    return (max(0.0, ci[0]), min(1.0, ci[1])), None

"""Judged comparisons: ``rewardhub compare A B --judge judge.yaml``.

For each prompt both sides answered, a *pairwise judge* says whether B's answer is better than
A's. The host never imports a judge plugin: the judge is a reward found through the registry
by the name ``judge.yaml`` gives, and it has to declare itself pairwise. **The interface**
(users' page: ``docs/judges.md``):

- ``judge.yaml`` is one config entry: ``{name: llm_pairwise_judge, args: {...}}`` (``name``
  defaults to ``llm_pairwise_judge``, from ``rewardhub-judge``);
- the reward has a true ``pairwise`` attribute and scores samples whose ``response`` is B's
  answer and whose ``meta["baseline"]`` is A's answer to the same ``prompt``, giving 1.0
  when B's is better, 0.0 when A's is, 0.5 for a tie (its ``info["consistent"]`` false when
  the tie comes from verdicts that changed with the answers' order), ``None`` with the
  reason when it cannot tell. Asking both orders is the judge's job;
- it runs through :class:`~rewardhub.Scorer` like any reward (batching, duplicates once, a
  failure is ``None`` with the error for the samples it hit); its :meth:`run_stats` (requests,
  tokens, cache hits) and provenance are reported.

A prompt with several answers per side gives pairs in order (first with first...), up to the
shorter side. The statistics, over the prompts with at least one verdict:

- the **win rate of B**: the mean preference over the judged pairs (ties count half), with
  Student's t on the jackknife over prompts (:mod:`rewardhub.compare.jackknife`: the same
  interval as every other row of ``compare``), clipped to [0, 1];
- the **length-controlled win rate** (:mod:`rewardhub.compare.lc_winrate`, alpaca_eval 2's
  GLM on the length difference), with its interval;
- counts: pairs asked, verdicts, B better, A better, ties, inconsistent ties, and the missing
  verdicts by reason.

Tested in ``tests/test_compare_judged.py`` (a pairwise judge registered by the test) and
``plugins/rewardhub-judge/tests/test_judge_compare.py`` (the LLM judge on real endpoints).
"""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rewardhub.config import ComponentConfig, ConfigError

DEFAULT_JUDGE = "llm_pairwise_judge"
BASELINE_FIELD = "baseline"
JUDGE_FIELDS = ("name", "args", "as")


@dataclass
class JudgedComparison:
    """The judged section of a comparison (``judged`` in ``--json``)."""

    judge: dict[str, Any]
    pairs: int
    prompts: int
    verdicts: int
    b_better: int
    a_better: int
    ties: int
    inconsistent: int
    win_rate: float | None
    ci: tuple[float, float] | None
    lc_win_rate: float | None
    lc_ci: tuple[float, float] | None
    confidence: float
    missing: dict[str, int] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    mean_chars: dict[str, float | None] = field(default_factory=dict)
    lc_model: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "judge": self.judge,
            "pairs": self.pairs,
            "prompts": self.prompts,
            "verdicts": self.verdicts,
            "b_better": self.b_better,
            "a_better": self.a_better,
            "ties": self.ties,
            "inconsistent": self.inconsistent,
            "win_rate": _num(self.win_rate),
            "ci": _pair(self.ci),
            "length_controlled_win_rate": _num(self.lc_win_rate),
            "length_controlled_ci": _pair(self.lc_ci),
            "length_controlled_model": self.lc_model,
            "interval_method": "Student's t on a jackknife over prompts (each left out in turn, or 1,000 groups)",
            "mean_chars": self.mean_chars,
            "missing": dict(self.missing),
            "stats": dict(self.stats),
            "notes": list(self.notes),
        }

    # -- for people ------------------------------------------------------------------------

    def lines(self) -> list[str]:
        """The judged section as lines of text (the table's and the report's words)."""
        level = f"{self.confidence:.0%}"
        name = self.judge.get("as") or self.judge.get("name")
        model = (self.judge.get("resolved") or {}).get("model")
        out = [
            f"judged by {name}" + (f" ({model})" if model else "") + f": {self.pairs} pairs on shared prompts, "
            f"{self.verdicts} with a verdict, over {self.prompts} prompts",
            f"win rate of B: {_pct(self.win_rate)}, {level} interval {_interval(self.ci)}",
            f"length-controlled win rate of B: {_pct(self.lc_win_rate)}, {level} interval {_interval(self.lc_ci)}",
            f"B better {self.b_better}, A better {self.a_better}, ties {self.ties}"
            + (f" ({self.inconsistent} of them verdicts that changed with the order)" if self.inconsistent else ""),
        ]
        for reason, count in self.missing.items():
            out.append(f"no verdict on {count} of {self.pairs} pairs: {reason}")
        said = {k: v for k, v in self.stats.items() if v}
        if said:
            out.append(
                "judge: " + ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v:g}" for k, v in said.items())
            )
        out += [f"note: {n}" for n in self.notes]
        return out

    def render(self, console: Any) -> None:
        """Print the judged section under ``compare``'s tables."""
        console.print()
        for line in self.lines():
            console.print(line, highlight=False, markup=False)

    def html(self) -> str:
        """The judged section of ``report``."""
        items = "".join(f"<li>{html.escape(line)}</li>" for line in self.lines()[1:])
        return (
            f"<h3>Judged</h3><p>{html.escape(self.lines()[0])}</p><ul>{items}</ul>"
            "<p class='muted'>Each pair is asked in both orders; verdicts that change with the order count as "
            "ties. The win rate counts ties half; the length-controlled win rate is alpaca_eval 2's (a logistic "
            "regression on the length difference, read at equal length). Intervals: Student's t on a jackknife "
            "over prompts.</p>"
        )


def load_judge(spec: str | Path | dict[str, Any]) -> ComponentConfig:
    """The judge's config entry from ``judge.yaml`` (or a dict of the same shape)."""
    from rewardhub.config import parse_component, read_yaml

    where = "--judge"
    if isinstance(spec, (str, Path)):
        where = str(spec)
        data = read_yaml(spec)
    else:
        data = spec
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the judge file must be a mapping: {{name: {DEFAULT_JUDGE}, args: {{...}}}}")
    unknown = set(data) - set(JUDGE_FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(map(str, unknown))} (allowed: {', '.join(JUDGE_FIELDS)})")
    return parse_component({"name": DEFAULT_JUDGE, **data}, where)


def check_judge(config: ComponentConfig, where: str, block: Sequence[str] = ()) -> None:
    """Build the judge once before any work: bad args, an unknown name or a reward that is not
    a pairwise judge are one-line errors now, not after the sides were scored."""
    from rewardhub.config.build import build_rewards
    from rewardhub.host import registry as plugins

    try:
        (component,) = build_rewards([config], block=block)
    except (plugins.PluginError, ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    try:
        if getattr(component.reward, "pairwise", False) is not True:
            raise ConfigError(
                f"{where}: {config.name!r} is not a pairwise judge (it does not declare pairwise = True); "
                f"use {DEFAULT_JUDGE} (pip install rewardhub-judge) or a reward that judges a response "
                f"against meta.{BASELINE_FIELD}"
            )
    finally:
        getattr(component.reward, "close", lambda: None)()


def judge_sides(
    side_a: Any,
    side_b: Any,
    config: ComponentConfig,
    *,
    confidence: float = 0.95,
    seed: int = 0,
    block: Sequence[str] = (),
    log: Callable[[str], None] | None = None,
) -> JudgedComparison:
    """Judge B's answers against A's on the shared prompts (see the module doc)."""
    from rewardhub.compare.analysis import prompt_key
    from rewardhub.engine import Scorer
    from rewardhub.evaluate.summary import missing_reason, run_stats
    from rewardhub.types import Sample

    answers_a: dict[Any, list[Any]] = {}
    for row in side_a.rows:
        answers_a.setdefault(prompt_key(row), []).append(row)
    answers_b: dict[Any, list[Any]] = {}
    for row in side_b.rows:
        answers_b.setdefault(prompt_key(row), []).append(row)
    shared = [k for k in answers_a if k is not None and k in answers_b]
    samples, unit, len_a, len_b = [], [], [], []
    for u, key in enumerate(shared):
        for row_a, row_b in zip(answers_a[key], answers_b[key]):
            sample = row_b.sample
            samples.append(
                Sample(
                    response=sample.response,
                    prompt=sample.prompt,
                    id=f"{len(samples)}",
                    meta={BASELINE_FIELD: row_a.sample.response},
                )
            )
            unit.append(u)
            len_a.append(len(row_a.sample.response))
            len_b.append(len(sample.response))
    notes: list[str] = []
    if not samples:
        notes.append("the sides share no prompt: there is nothing to judge")
    if log and samples:
        log(f"judging {len(samples)} pairs of answers with {config.key}")
    with Scorer([config], block=block) as scorer:
        batch = scorer.score(samples) if samples else None
        described = scorer.describe()[0]
        stats = run_stats(scorer.components).get(config.key, {})
    values: list[float | None] = [] if batch is None else list(batch.components[config.key])
    infos = [] if batch is None else batch.infos[config.key]
    missing: Counter = Counter()
    inconsistent = 0
    for i, value in enumerate(values):
        info = infos[i] if i < len(infos) else {}
        if value is None:
            missing[missing_reason(info, batch.errors[i].get(config.key) if batch else None)] += 1
        elif isinstance(info, dict) and info.get("consistent") is False:
            inconsistent += 1
    return _statistics(
        values, np.asarray(unit), np.asarray(len_a, float), np.asarray(len_b, float), described, stats,
        dict(missing.most_common()), inconsistent, notes, confidence, seed,
    )  # fmt: skip


def _statistics(
    values: list[float | None],
    unit: np.ndarray,
    len_a: np.ndarray,
    len_b: np.ndarray,
    described: dict[str, Any],
    stats: dict[str, Any],
    missing: dict[str, int],
    inconsistent: int,
    notes: list[str],
    confidence: float,
    seed: int,
) -> JudgedComparison:
    from rewardhub.compare.jackknife import Grouping, interval, means_leave_out, too_few, variance
    from rewardhub.compare.lc_winrate import length_controlled

    judged = np.array([v is not None and math.isfinite(v) for v in values], dtype=bool)
    p = np.array([v if j else np.nan for v, j in zip(values, judged)], dtype=float)[judged]
    kept_unit = unit[judged] if len(unit) else unit
    # renumber the prompts with a verdict 0..G-1: they are the jackknife's units
    prompts, dense = np.unique(kept_unit, return_inverse=True) if len(kept_unit) else (np.array([]), kept_unit)
    g = len(prompts)
    win_rate = ci = None
    if g:
        sums = np.bincount(dense, weights=p, minlength=g)
        counts = np.bincount(dense, minlength=g).astype(float)
        win_rate = float(sums.sum() / counts.sum())
        why = too_few(g, "prompts with a verdict")
        if why:
            notes.append(f"win rate: {why}")
        else:
            grouping = Grouping(g, np.random.default_rng(seed))
            var = variance(means_leave_out(sums, counts, grouping))
            found = interval(win_rate, var, grouping.groups - 1, confidence)
            ci = None if found is None else (max(0.0, found[0]), min(1.0, found[1]))
    lc = length_controlled(len_a[judged], len_b[judged], p, dense, confidence, seed) if g else None
    if lc is not None and lc.note:
        notes.append(f"length-controlled win rate: {lc.note}")
    lc_model = {}
    if lc is not None and lc.coef is not None:
        lc_model = {
            "C": lc.c,
            "w_0": lc.coef[0],
            "w_length": lc.coef[1],
            "model": "P(B better) = sigmoid(w_0 + w_length * tanh((len_A - len_B) / sd)), read at len_A = len_B",
        }
    return JudgedComparison(
        judge=described,
        pairs=len(values),
        prompts=g,
        verdicts=int(judged.sum()),
        b_better=int(np.sum(p > 0.5)),
        a_better=int(np.sum(p < 0.5)),
        ties=int(np.sum(p == 0.5)),
        inconsistent=inconsistent,
        win_rate=win_rate,
        ci=ci,
        lc_win_rate=None if lc is None else lc.value,
        lc_ci=None if lc is None else lc.ci,
        confidence=confidence,
        missing=missing,
        stats=stats,
        mean_chars={
            "a": float(len_a.mean()) if len(len_a) else None,
            "b": float(len_b.mean()) if len(len_b) else None,
        },
        lc_model=lc_model,
        notes=notes,
    )


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _pair(ci: tuple[float, float] | None) -> list[float] | None:
    return None if ci is None else [float(ci[0]), float(ci[1])]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _interval(ci: tuple[float, float] | None) -> str:
    return "-" if ci is None else f"{ci[0]:.1%} .. {ci[1]:.1%}"

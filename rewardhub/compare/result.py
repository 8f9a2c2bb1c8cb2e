"""What a comparison returns: :class:`Comparison`, with ``to_dict()`` (exactly the ``--json``
document) and ``to_pandas()`` (one row per reward and metric). The exact ``--json`` shape is
tested in ``tests/test_compare_cli.py``, the exclusion counts and the tokenizer field in
``tests/test_compare_exclusions.py``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

P_VALUE_METHOD = {
    True: "two-sided paired permutation test (sign flips of the per-prompt differences; all of them when there are "
    "at most as many patterns as permutations)",
    False: "two-sided permutation test (samples randomly reassigned to the two sides)",
}
INTERVAL_METHOD = (
    "Student's t on a jackknife standard error: the statistic recomputed with each prompt (paired) or sample "
    "(unpaired) left out in turn, or with each of 1,000 random groups of them on larger runs (self-BLEU: 20 groups, "
    "hypotheses and references both left out); unpaired, the two sides' variances add (Welch's degrees of freedom). "
    "An interval needs at least 2 prompts (paired) or 2 samples a side (unpaired)"
)
#: why a value a row holds is not used: the keys of ``excluded`` in the ``--json`` document
EXCLUSION_KINDS = ("null", "nan", "infinite", "not_a_number", "no_pair")


@dataclass
class SideSummary:
    label: str
    files: list[str]
    n: int


@dataclass
class RewardDelta:
    """One reward on both sides: means, delta B - A, interval, p-value, win rate of B (None
    without a direction: "better" is undefined), and what was used and left out."""

    a: float | None
    b: float | None
    delta: float | None
    ci: tuple[float, float] | None
    p: float | None
    win_rate: float | None
    higher_is_better: bool | None
    n: int  # prompts (paired) or samples (unpaired, the smaller side) with a value on both sides
    #: rows whose value was used, per side
    used: dict[str, int] = field(default_factory=dict)
    #: per side, rows left out by reason (:data:`EXCLUSION_KINDS`)
    excluded: dict[str, dict[str, int]] = field(default_factory=dict)
    #: why ``ci`` (or another number) is None, when it is
    note: str | None = None

    def significant(self) -> bool:
        return self.ci is not None and (self.ci[0] > 0 or self.ci[1] < 0)

    def excluded_total(self, side: str) -> int:
        return sum(self.excluded.get(side, {}).values())


@dataclass
class MetricDelta:
    """One corpus metric on both sides: values, delta B - A, interval (None: see ``note``)."""

    a: float | None
    b: float | None
    delta: float | None
    ci: tuple[float, float] | None
    higher_is_better: bool | None
    note: str | None = None

    def significant(self) -> bool:
        return self.ci is not None and (self.ci[0] > 0 or self.ci[1] < 0)


@dataclass
class Comparison:
    """The result of :func:`rewardhub.compare.compare`."""

    a: SideSummary
    b: SideSummary
    paired: bool
    pairs: int
    rewards: dict[str, RewardDelta]
    metrics: dict[str, MetricDelta]
    permutations: int
    seed: int
    confidence: float
    notes: list[str] = field(default_factory=list)
    #: the run-wide ``--tokenize`` of each side's scored files, and whether they differ
    tokenize: dict[str, Any] = field(default_factory=dict)
    #: the two sides' rows and provenance (what ``report`` draws); not part of ``to_dict``
    sides: tuple[Any, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def p_value_method(self) -> str:
        return P_VALUE_METHOD[self.paired]

    @property
    def bootstrap(self) -> int:
        """The former name of :attr:`permutations`."""
        return self.permutations

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document (NaN as null); its shape is documented in ``docs/compare.md``."""
        return {
            "a": {"files": list(self.a.files), "n": self.a.n},
            "b": {"files": list(self.b.files), "n": self.b.n},
            "paired": self.paired,
            "pairs": self.pairs,
            "tokenize": {
                "a": list(self.tokenize.get("a", [])),
                "b": list(self.tokenize.get("b", [])),
                "mismatch": bool(self.tokenize.get("mismatch", False)),
            },
            "rewards": {
                name: {
                    "a": _num(r.a),
                    "b": _num(r.b),
                    "delta": _num(r.delta),
                    "ci": _interval(r.ci),
                    "p": _num(r.p),
                    "win_rate": _num(r.win_rate),
                    "higher_is_better": r.higher_is_better,
                    "n": {
                        "a": r.used.get("a", 0),
                        "b": r.used.get("b", 0),
                        "pairs": r.n if self.paired else None,
                    },
                    "excluded": {
                        side: {kind: r.excluded.get(side, {}).get(kind, 0) for kind in EXCLUSION_KINDS}
                        for side in ("a", "b")
                    },
                    "note": r.note,
                }
                for name, r in self.rewards.items()
            },
            "metrics": {
                name: {
                    "a": _num(m.a),
                    "b": _num(m.b),
                    "delta": _num(m.delta),
                    "ci": _interval(m.ci),
                    "higher_is_better": m.higher_is_better,
                    "note": m.note,
                }
                for name, m in self.metrics.items()
            },
            "notes": list(self.notes),
        }

    def to_pandas(self) -> Any:
        """One row per reward and metric: kind, name, a, b, delta, ci_low, ci_high, p,
        win_rate, higher_is_better, significant, note."""
        import pandas as pd

        rows = []
        for kind, items in (("reward", self.rewards), ("metric", self.metrics)):
            for name, item in items.items():
                rows.append(
                    {
                        "kind": kind,
                        "name": name,
                        "a": _num(item.a),
                        "b": _num(item.b),
                        "delta": _num(item.delta),
                        "ci_low": item.ci[0] if item.ci else None,
                        "ci_high": item.ci[1] if item.ci else None,
                        "p": _num(getattr(item, "p", None)),
                        "win_rate": _num(getattr(item, "win_rate", None)),
                        "higher_is_better": item.higher_is_better,
                        "significant": item.significant(),
                        "note": getattr(item, "note", None),
                    }
                )
        return pd.DataFrame(rows)


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _interval(ci: tuple[float, float] | None) -> list[float] | None:
    return None if ci is None else [float(ci[0]), float(ci[1])]

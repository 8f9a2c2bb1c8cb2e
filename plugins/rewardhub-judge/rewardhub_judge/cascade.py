"""``cascade``: a rule decides where it can; a judge scores only the rest (OpenCompass's cascade).

::

    rewards:
      - name: cascade
        as: math_or_judge
        args:
          first: math_accuracy                     # any reward: a name or {name, args}
          then: {name: llm_judge, args: {base_url: http://localhost:8000/v1, model: judge, rubric: correctness}}
          judge_zero: false                        # true: the judge also re-scores the rule's 0s

The two inner rewards are built through the host's registry (:func:`rewardhub.config.build.build_rewards`),
as any config entry is: the cascade imports neither plugin. Promises (tested in
``tests/test_judge_cascade.py`` with ``math_accuracy`` and a real endpoint):

- a sample the rule scores (a number; with ``judge_zero``, a number other than 0) keeps the
  rule's value, and the judge is not asked; every other one (the rule's ``None``, or its error)
  gets the judge's value, or the judge's ``None`` with its reason;
- ``info["decided_by"]`` is ``rule`` or ``judge``, with the deciding reward's info under
  ``info["info"]`` and, for a judged sample, why the rule passed (``rule_reason``);
- the run's counts (:meth:`Cascade.run_stats`): ``by_rule``, ``to_judge`` and the judge's own
  counts prefixed ``judge_``; the sidecar records both inner rewards as they resolved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import rewardhub
from rewardhub_judge._version import __version__


class Cascade(rewardhub.Reward):
    """The rule's value where it has one, else the judge's.

    :param first: the rule: a reward name or ``{name, args}`` entry.
    :param then: the judge (or any reward): a name or ``{name, args}`` entry.
    :param judge_zero: also send the samples the rule scores 0 to the judge.
    """

    name = "cascade"
    version = __version__
    description = "A rule's value where it decides; an LLM judge's (or another reward's) where it does not"
    batch_size = 256

    def __init__(self, first: Any, then: Any, judge_zero: bool = False):
        from rewardhub.config.build import build_rewards

        if not isinstance(judge_zero, bool):
            raise ValueError(f"cascade: judge_zero must be true or false, got {judge_zero!r}")
        self.judge_zero = judge_zero
        try:
            (self._first,) = build_rewards([first])
            (self._then,) = build_rewards([then])
        except Exception as exc:
            raise ValueError(f"cascade: {exc}") from exc
        self.rule, self.judge = self._first.reward, self._then.reward
        self.higher_is_better = getattr(self.judge, "higher_is_better", True)  # type: ignore[misc]
        self.by_rule = 0
        self.to_judge = 0
        self._scored = False

    def score(self, samples: Sequence[rewardhub.Sample]) -> list[Any]:
        from rewardhub.engine import normalize

        samples = list(samples)
        self._scored = True
        ruled = _call(self.rule, samples, normalize)
        out: list[Any] = [None] * len(samples)
        pending: list[int] = []
        for i, (score, _error) in enumerate(ruled):
            decided = score is not None and score.value is not None
            if decided and self.judge_zero and score.value == 0:
                decided = False
            if decided:
                out[i] = rewardhub.Score(score.value, {"decided_by": "rule", "info": dict(score.info)})
            else:
                pending.append(i)
        self.by_rule += len(samples) - len(pending)
        self.to_judge += len(pending)
        if pending:
            judged = _call(self.judge, [samples[i] for i in pending], normalize)
            for i, (score, error) in zip(pending, judged):
                rule_score, rule_error = ruled[i]
                info: dict[str, Any] = {"decided_by": "judge", "rule_reason": _why(rule_score, rule_error)}
                if score is None or score.value is None:
                    info["info"] = {} if score is None else dict(score.info)
                    info["reason"] = (score.info.get("reason") if score is not None else None) or error or "no value"
                    out[i] = rewardhub.Score(None, info)
                else:
                    info["info"] = dict(score.info)
                    out[i] = rewardhub.Score(score.value, info)
        return out

    def missing_input(self, samples: Sequence[rewardhub.Sample]) -> str | None:
        check = getattr(self.judge, "missing_input", None)
        return check(samples) if callable(check) else None

    def run_stats(self) -> dict[str, int | float] | None:
        if not self._scored:
            return None
        stats: dict[str, int | float] = {"by_rule": self.by_rule, "to_judge": self.to_judge}
        inner = getattr(self.judge, "run_stats", None)
        judge_stats = inner() if callable(inner) else None
        for key, value in (judge_stats or {}).items():
            stats[f"judge_{key}"] = value
        return stats

    @property
    def provenance(self) -> dict[str, Any] | None:  # type: ignore[override]
        if not self._scored:
            return None
        return {
            "first": self._first.describe(),
            "then": self._then.describe(),
            "judge_zero": self.judge_zero,
            "by_rule": self.by_rule,
            "to_judge": self.to_judge,
        }

    def close(self) -> None:
        for reward in (self.rule, self.judge):
            getattr(reward, "close", lambda: None)()


def _call(reward: Any, samples: list[rewardhub.Sample], normalize: Any) -> list[tuple[Any, str | None]]:
    """``(Score or None, error)`` per sample: a reward's output made uniform, its failures
    (of the whole call, or of one sample) kept as errors, in batches of its ``batch_size``."""
    out: list[tuple[Any, str | None]] = []
    size = max(1, int(getattr(reward, "batch_size", 64) or 64))
    for start in range(0, len(samples), size):
        batch = samples[start : start + size]
        try:
            raw = list(reward.score(batch))
            if len(raw) != len(batch):
                raise ValueError(f"score() returned {len(raw)} values for {len(batch)} samples")
        except Exception as exc:
            out.extend((None, f"{type(exc).__name__}: {exc}") for _ in batch)
            continue
        for value in raw:
            try:
                out.append((normalize(value), None))
            except Exception as exc:
                out.append((None, str(exc)))
    return out


def _why(score: Any, error: str | None) -> str:
    if error:
        return f"error: {error}"
    if score is None:
        return "no value"
    if score.value is None:
        return str(score.info.get("reason") or "no value")
    return f"scored {score.value:g}"

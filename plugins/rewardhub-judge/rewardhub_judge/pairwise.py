"""``llm_pairwise_judge``: which of two answers to one prompt is better, asked in both orders.

The pairwise judge ``rewardhub compare --judge`` uses (its interface: ``docs/judges.md`` and
:mod:`rewardhub.compare.judged`): each sample's ``response`` is the candidate (side B's
answer), its ``meta["baseline"]`` the baseline (side A's answer) to the same ``prompt``.
The judge is asked twice, once with the baseline shown first and once with the candidate
first (position swap, as EvalScope and MT-Bench do, since judges favour a position):

- both orders prefer the candidate: 1.0; both prefer the baseline: 0.0; both say tie: 0.5;
- the orders disagree (the judge followed the position, not the answer): a tie, 0.5, with
  ``info["consistent"]`` false;
- either order has no verdict (a failed call, a refusal, an unreadable reply): ``None`` with
  that order's reason: a verdict in one order only is not position-debiased.

``info`` holds each order's verdict in terms of the sides (``baseline``, ``candidate``,
``tie``) and explanation. Tested in ``tests/test_judge_pairwise.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import rewardhub
from rewardhub.rewards import lacking_fields
from rewardhub_judge._version import __version__
from rewardhub_judge.base import JudgeReward
from rewardhub_judge.rubrics import resolve, text_of
from rewardhub_judge.verdicts import REFUSED, Verdict, read_winner, refused
from rewardhub_judge.wire import Answer

BASELINE_FIELD = "baseline"
NO_BASELINE = "judge: no baseline answer (meta.baseline)"
#: A verdict's position letter in terms of the sides, for each order (baseline first or second).
SIDES = {
    "baseline_first": {"A": "baseline", "B": "candidate", "tie": "tie"},
    "candidate_first": {"A": "candidate", "B": "baseline", "tie": "tie"},
}
VALUES = {"candidate": 1.0, "baseline": 0.0, "tie": 0.5}


class PairwiseJudge(JudgeReward):
    """P(candidate better than baseline) from an LLM asked in both orders: 1, 0, 0.5 or None.

    Takes :class:`~rewardhub_judge.pointwise.LLMJudge`'s endpoint args (``base_url``,
    ``model``, ``api_key_env``, limits, ``cache``...); ``rubric`` is ``helpfulness`` or a
    template with ``{prompt}``, ``{answer_a}`` and ``{answer_b}`` whose reply names a
    ``winner``: ``A``, ``B`` or ``tie``.
    """

    name = "llm_pairwise_judge"
    version = __version__
    description = "Which of two answers an LLM prefers, asked in both orders (1: the response, 0: meta.baseline)"
    inputs = ("prompt", "response", "meta")
    requires = (BASELINE_FIELD,)
    #: What ``rewardhub compare --judge`` checks: this reward judges a response against a baseline.
    pairwise = True

    def __init__(self, base_url: str, model: str, rubric: str = "helpfulness", **endpoint: Any):
        super().__init__(base_url, model, **endpoint)
        self.rubric = resolve(rubric, pairwise=True, who=self.name)

    def missing_input(self, samples: Sequence[rewardhub.Sample]) -> str | None:
        return lacking_fields((BASELINE_FIELD,), samples)

    async def judge_one(self, sample: rewardhub.Sample) -> rewardhub.Score:
        baseline = (sample.meta or {}).get(BASELINE_FIELD)
        if baseline is None:
            return rewardhub.Score(None, {"reason": NO_BASELINE})
        prompt, candidate, baseline = sample.prompt_text, sample.response, text_of(baseline)
        orders = {
            "baseline_first": self.rubric.messages(prompt=prompt, answer_a=baseline, answer_b=candidate),
            "candidate_first": self.rubric.messages(prompt=prompt, answer_a=candidate, answer_b=baseline),
        }
        client = self.client()
        replies = await asyncio.gather(
            *(
                client.complete(
                    messages,
                    temperature=self.temperature,
                    max_tokens=self.max_tokens,
                    schema=self.rubric.json_schema(),
                    key_parts={"rubric": self.rubric.name, "rubric_version": self.rubric.version, "pairwise": True},
                )
                for messages in orders.values()
            )
        )
        info: dict[str, Any] = {"cached": all(isinstance(r, Answer) and r.cached for r in replies)}
        picks: dict[str, str] = {}
        for order, reply in zip(orders, replies):
            verdict = _verdict(reply)
            info[order] = {
                "verdict": SIDES[order].get(verdict.value) if verdict.reason is None else None,
                "explanation": verdict.explanation,
            }
            if verdict.reason is not None:
                info[order]["reason"] = verdict.reason
                info.setdefault("reason", verdict.reason)
            else:
                picks[order] = SIDES[order][verdict.value]
        if "reason" in info:
            return rewardhub.Score(None, info)
        first, second = picks["baseline_first"], picks["candidate_first"]
        info["consistent"] = first == second
        return rewardhub.Score(VALUES[first] if first == second else 0.5, info)


def _verdict(reply: Any) -> Verdict:
    if not isinstance(reply, Answer):
        return Verdict(reason=reply.reason, explanation=reply.detail or None)
    if refused(reply.refusal, reply.finish_reason):
        return Verdict(reason=REFUSED, explanation=reply.refusal or None)
    verdict = read_winner(reply.content, reply.finish_reason)
    if verdict.reason is not None and verdict.explanation is None:
        text = (reply.content or "").strip()
        return Verdict(reason=verdict.reason, explanation=text[:300] or None)
    return verdict

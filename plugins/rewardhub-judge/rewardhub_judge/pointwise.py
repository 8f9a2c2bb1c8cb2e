"""``llm_judge``: an LLM grades each response on a rubric; the grade, scaled to 0..1, is the reward.

::

    rewards:
      - name: llm_judge
        args: {base_url: http://localhost:8000/v1, model: Qwen/Qwen2.5-7B-Instruct, rubric: helpfulness}

Promises (tests in ``tests/test_judge_pointwise.py``, ``tests/test_judge_endpoint.py``):

- the value is ``(verdict - lo) / (hi - lo)`` on the rubric's scale (:mod:`.rubrics`), so 0..1;
  ``info`` holds the raw ``verdict``, the judge's ``explanation``, how the reply was read
  (``read``: ``json`` or ``pattern``), whether it came from the cache, and with ``samples``
  > 1 every repeat's verdict (``verdicts``);
- a call that fails, a refusal, a reply with no readable verdict or one outside the scale is
  ``Score(None, {"reason": ...})`` with a short, stable reason (:mod:`.verdicts`,
  :mod:`.client`), never 0: ``eval``'s summary counts them apart in ``missing_reasons``;
- ``samples`` repeats (at ``temperature`` > 0: repeats at 0 would repeat one verdict) are
  combined by ``aggregate``: ``mean``, ``median`` or ``majority`` (the most frequent verdict;
  a tie between verdicts is ``judge: no majority``); fewer than ``min_valid`` readable
  verdicts is ``None``, with the most frequent failure's reason;
- a response whose rubric needs a reference it lacks is ``judge: no reference`` (no call).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

import rewardhub
from rewardhub.rewards import has_field, lacking_fields
from rewardhub_judge._version import __version__
from rewardhub_judge.base import JudgeReward
from rewardhub_judge.rubrics import resolve, text_of
from rewardhub_judge.verdicts import REFUSED, Verdict, read_score, refused
from rewardhub_judge.wire import Answer

AGGREGATES = ("mean", "median", "majority")
NO_REFERENCE = "judge: no reference"
NO_MAJORITY = "judge: no majority"


class LLMJudge(JudgeReward):
    """An LLM's grade of each response on a rubric, scaled to 0..1.

    :param base_url: the OpenAI-compatible endpoint (``http://host:8000/v1``: vLLM, SGLang,
        ``transformers serve``, a hosted API).
    :param model: the model name the endpoint serves.
    :param api_key_env: the name of the environment variable holding the API key (the key itself
        is never an arg, never logged, never written).
    :param rubric: ``helpfulness`` (1-10), ``correctness`` (0/1, against ``reference``),
        ``safety`` (0/1), or a template with ``{prompt}``, ``{response}``, ``{reference}``.
    :param scale: ``[lo, hi]`` of a template's verdict (default ``[1, 10]``).
    :param samples: verdicts per response (repeats), combined by ``aggregate``.
    :param aggregate: ``mean``, ``median`` or ``majority``.
    :param min_valid: readable verdicts needed among the repeats (default 1).
    :param temperature: sampling temperature (0: greedy).
    :param max_tokens: the most tokens of one reply (explanation and verdict).
    :param timeout: seconds one request may take, retries included.
    :param max_concurrency: requests in flight at once.
    :param requests_per_minute: request rate limit (``None``: none).
    :param tokens_per_minute: token rate limit (``None``: none).
    :param max_total_tokens: token budget of this reward in this process (``None``: none).
    :param retries: further tries of a request that failed with 429, 5xx or a connection error.
    :param backoff: first retry delay bound in seconds (doubles per try, with jitter).
    :param cache: the SQLite cache file (default: in the user's cache directory); ``false``: none.
    :param structured: ``auto``, ``json_schema``, ``json_object`` or ``none`` (see the client).
    :param extra_body: more fields for every request (e.g. ``chat_template_kwargs``).
    """

    name = "llm_judge"
    version = __version__
    description = "An LLM's grade of the response on a rubric (helpfulness, correctness, safety, or yours), 0..1"
    inputs = ("prompt", "response", "reference")

    def __init__(
        self,
        base_url: str,
        model: str,
        rubric: str = "helpfulness",
        scale: Sequence[float] | None = None,
        samples: int = 1,
        aggregate: str = "mean",
        min_valid: int = 1,
        **endpoint: Any,
    ):
        super().__init__(base_url, model, **endpoint)
        who = self.name
        self.rubric = resolve(rubric, scale, who=who)
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise ValueError(f"{who}: samples must be an integer >= 1, got {samples!r}")
        if samples > 1 and self.temperature == 0:
            raise ValueError(f"{who}: samples {samples} at temperature 0 repeat one verdict: set temperature > 0")
        if aggregate not in AGGREGATES:
            raise ValueError(f"{who}: aggregate must be one of {', '.join(AGGREGATES)}, got {aggregate!r}")
        if isinstance(min_valid, bool) or not isinstance(min_valid, int) or not 1 <= min_valid <= samples:
            raise ValueError(f"{who}: min_valid must be an integer from 1 to samples ({samples}), got {min_valid!r}")
        self.samples, self.aggregate, self.min_valid = samples, aggregate, min_valid

    def missing_input(self, samples: Sequence[rewardhub.Sample]) -> str | None:
        """``needs 'reference'`` when the rubric reads one and no sample has it."""
        if not self.rubric.needs_reference:
            return None
        return lacking_fields(("reference",), samples)

    async def judge_one(self, sample: rewardhub.Sample) -> rewardhub.Score:
        if self.rubric.needs_reference and not has_field(sample, "reference"):
            return rewardhub.Score(None, {"reason": NO_REFERENCE})
        messages = self.rubric.messages(
            prompt=sample.prompt_text, response=sample.response, reference=text_of(sample.reference)
        )
        import asyncio

        client = self.client()
        replies = await asyncio.gather(
            *(
                client.complete(
                    messages,
                    temperature=self.temperature,
                    max_tokens=self.max_tokens,
                    schema=self.rubric.json_schema(),
                    key_parts={"rubric": self.rubric.name, "rubric_version": self.rubric.version, "repeat": r},
                )
                for r in range(self.samples)
            )
        )
        verdicts = [self._verdict(reply) for reply in replies]
        cached = all(isinstance(r, Answer) and r.cached for r in replies)
        return self._combine(verdicts, cached)

    def _verdict(self, reply: Any) -> Verdict:
        if not isinstance(reply, Answer):
            return Verdict(reason=reply.reason, explanation=reply.detail or None)
        if refused(reply.refusal, reply.finish_reason):
            return Verdict(reason=REFUSED, explanation=reply.refusal or None)
        verdict = read_score(reply.content, reply.finish_reason, self.rubric.scale)
        if verdict.reason is not None and verdict.explanation is None:
            return Verdict(verdict.value, _clip(reply.content), verdict.read, verdict.reason)
        return verdict

    def _combine(self, verdicts: list[Verdict], cached: bool) -> rewardhub.Score:
        lo, hi = self.rubric.scale
        valid = [v for v in verdicts if v.reason is None]
        info: dict[str, Any] = {"cached": cached}
        if self.samples > 1:
            info["verdicts"] = [v.value if v.reason is None else None for v in verdicts]
            info["reasons"] = [v.reason for v in verdicts]
        if len(valid) < self.min_valid:
            reasons = Counter(v.reason for v in verdicts if v.reason is not None)
            reason = reasons.most_common(1)[0][0]
            first = next(v for v in verdicts if v.reason == reason)
            info.update(reason=reason, verdict=first.value, explanation=first.explanation)
            return rewardhub.Score(None, info)
        values = [float(v.value) for v in valid]
        if self.aggregate == "mean":
            verdict = statistics.fmean(values)
        elif self.aggregate == "median":
            verdict = statistics.median(values)
        else:
            counts = Counter(values).most_common()
            if len(counts) > 1 and counts[0][1] == counts[1][1]:
                info.update(reason=NO_MAJORITY, explanation=valid[0].explanation)
                return rewardhub.Score(None, info)
            verdict = counts[0][0]
        chosen = valid[0]
        info.update(verdict=verdict, explanation=chosen.explanation, read=chosen.read)
        return rewardhub.Score((verdict - lo) / (hi - lo), info)


def _clip(text: str, limit: int = 300) -> str | None:
    text = (text or "").strip()
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 3] + "..."

"""rewardhub rewards as verl's custom reward function.

Per sample (verl's ``naive`` reward manager and its reward loop)::

    reward:
      custom_reward_function:
        path: pkg://rewardhub.adapters.verl      # verl imports it by module name
        name: compute_score
        reward_kwargs:
          rewardhub_config: /path/to/rewards.yaml   # or: rewards: [entropy, "repetition_penalty:0.5"]

For the ``batch`` reward manager use ``name: compute_score_batch``: it scores the whole batch in
one call, so group-aware rewards (``diversity_bonus``) see every response to a prompt. Without
``reward_kwargs`` the rewards come from the ``REWARDHUB_CONFIG`` environment variable (a config
path, or comma-separated names). Scorers are built once per config and kept.

Remote: ``reward_kwargs: {rewardhub_url: http://reward-host:8000}`` (or ``REWARDHUB_URL``) scores
on a running ``rewardhub serve``; calls from verl's threads then run concurrently and the
server batches them. ``name: compute_score_async`` gives verl's reward loop an async function.

Both return, per sample, ``{"score": total, <component>: value, ..., "rewardhub_missing": n}``:
verl needs a float everywhere and the same keys in every row, so a value that is missing (a
component, or the total) is filled under ``reward_kwargs: {missing_fill: ...}`` (else the
``REWARDHUB_MISSING_FILL`` variable): ``0.0`` by default, another number, ``group_mean`` (the
mean of the responses to the same prompt, with ``compute_score_batch``) or ``raise`` (the step
fails, naming the samples and why); filled components are counted in ``rewardhub_missing``,
and the policy in force is printed once at the first call (:mod:`rewardhub.adapters.fill`).
The total follows the config's ``missing`` policy. Tested in ``tests/test_adapters_verl.py``
and ``tests/test_adapters_fill.py``.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from typing import Any

from rewardhub.adapters._common import CONFIG_ENV, URL_ENV, ScorerCache, as_list, float_rows, scoring_lock
from rewardhub.adapters.fill import announce, fill_policy
from rewardhub.types import Sample

_scorers = ScorerCache()
_lock = threading.Lock()  # verl calls compute_score from executor threads; rewards need not be reentrant

#: ``extra_info`` fields read as the prompt, in order (verl's examples store ``question``).
PROMPT_FIELDS = ("prompt", "question", "query", "instruction")


def scorer_for(kwargs: dict[str, Any]) -> Any:
    """The scorer named by ``reward_kwargs``: ``rewardhub_url`` (a ``rewardhub serve``, with
    ``rewards`` picking some of its rewards), ``rewardhub_config`` (a path or dict) or
    ``rewards`` (names or entries), else the ``REWARDHUB_URL`` or ``REWARDHUB_CONFIG``
    environment variable."""
    missing = kwargs.get("missing")
    if kwargs.get("rewardhub_url"):
        return _scorers.get(kwargs.get("rewards"), None, url=kwargs["rewardhub_url"])
    if kwargs.get("rewardhub_config") is not None:
        return _scorers.get(kwargs["rewardhub_config"], missing)
    if kwargs.get("rewards") is not None:
        return _scorers.get(kwargs["rewards"], missing)
    if os.environ.get(URL_ENV):
        return _scorers.get(os.environ.get(CONFIG_ENV) or None, None, url=os.environ[URL_ENV])
    if os.environ.get(CONFIG_ENV):
        return _scorers.get(os.environ[CONFIG_ENV], missing)
    raise ValueError(
        "rewardhub: no rewards configured for verl: set custom_reward_function.reward_kwargs.rewardhub_config "
        f"(a config file), reward_kwargs.rewards (names), reward_kwargs.rewardhub_url (a rewardhub serve), "
        f"or the {CONFIG_ENV} or {URL_ENV} environment variable"
    )


def to_sample(data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any, group: Any = None) -> Sample:
    """A verl sample: the decoded response, ``ground_truth`` as the reference, the prompt from
    ``extra_info`` when it has one, and ``data_source`` plus ``extra_info`` as ``meta``."""
    info = dict(extra_info) if isinstance(extra_info, dict) else {}
    prompt = next((info[f] for f in PROMPT_FIELDS if isinstance(info.get(f), (str, list))), None)
    info.pop("rollout_reward_scores", None)  # verl's bookkeeping, not the dataset's
    return Sample(
        response=solution_str,
        prompt=prompt,
        group=group,
        reference=ground_truth,
        meta={"data_source": data_source, **info},
    )


def compute_score(
    data_source: Any, solution_str: str, ground_truth: Any, extra_info: dict[str, Any] | None = None, **kwargs: Any
) -> dict[str, float]:
    """verl's per-sample ``compute_score``: ``{"score": total, <component>: value, ...}``."""
    fill = fill_policy(kwargs.get("missing_fill"))
    note = "; compute_score sees one sample per call, so group_mean reads 0.0: use compute_score_batch"
    announce("verl compute_score", fill, note if fill == "group_mean" else "")
    scorer = scorer_for(kwargs)
    sample = to_sample(data_source, solution_str, ground_truth, extra_info)
    with scoring_lock(scorer, _lock):
        batch = scorer.score([sample])
    return float_rows(batch, fill)[0]


async def compute_score_async(
    data_source: Any, solution_str: str, ground_truth: Any, extra_info: dict[str, Any] | None = None, **kwargs: Any
) -> dict[str, float]:
    """:func:`compute_score` for verl's reward loop, which awaits an async ``compute_score``
    (``name: compute_score_async``): the event loop is not blocked, and with ``rewardhub_url``
    many samples are in flight at once, batched by the server."""
    return await asyncio.to_thread(compute_score, data_source, solution_str, ground_truth, extra_info, **kwargs)


def _group(data_source: Any, info: Any, sample: Sample, position: int) -> Any:
    """The responses to one prompt: same dataset ``index``, else same prompt, else alone."""
    if isinstance(info, dict) and info.get("index") is not None:
        return f"{data_source}:{info['index']}"
    if sample.prompt is not None:
        return sample.group_key
    return f"verl-sample-{position}"


def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Any] | None = None,
    **kwargs: Any,
) -> list[dict[str, float]]:
    """verl's ``BatchRewardManager`` form: one scoring pass over the whole batch, one dict per
    sample. The responses to one prompt (same ``extra_info["index"]``, else same prompt) form
    a group."""
    fill = fill_policy(kwargs.get("missing_fill"))
    announce("verl compute_score_batch", fill)
    n = len(solution_strs)
    sources, truths, infos = as_list(data_sources, n), as_list(ground_truths, n), as_list(extra_infos, n)
    samples = []
    for i in range(n):
        sample = to_sample(sources[i], solution_strs[i], truths[i], infos[i])
        sample.group = _group(sources[i], infos[i], sample, i)
        samples.append(sample)
    scorer = scorer_for(kwargs)
    with scoring_lock(scorer, _lock):
        batch = scorer.score(samples)
    return float_rows(batch, fill)

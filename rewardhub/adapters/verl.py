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
path, or comma-separated names): the precedence every adapter follows is
:mod:`rewardhub.adapters.scorer`'s. Scorers are built once per config and kept.

Remote: ``reward_kwargs: {rewardhub_url: http://reward-host:8000}`` (and ``rewardhub_token``,
else ``REWARDHUB_TOKEN``), or ``REWARDHUB_URL``, scores on a running ``rewardhub serve``; calls
from verl's threads then run concurrently and the server batches them. ``name: compute_score_async``
gives verl's reward loop an async function.

Both return, per sample, ``{"score": total, <component>: value, ..., "rewardhub_missing": n}``:
verl needs a float everywhere and the same keys in every row, so a value that is missing (a
component, or the total) is filled under ``reward_kwargs: {missing_fill: ...}`` (else the
``REWARDHUB_MISSING_FILL`` variable): ``0.0`` by default, another number, ``group_mean`` (the
mean of the responses to the same prompt, with ``compute_score_batch``) or ``raise`` (the step
fails, naming the samples and why); filled components are counted in ``rewardhub_missing``,
and the policy in force is printed once at the first call (:mod:`rewardhub.adapters.fill`).
The total follows the config's ``missing`` policy. Tested in ``tests/test_adapters_verl.py``
and ``tests/test_adapters_fill.py``.

Several rewards under verl's GDPO (``algorithm.adv_estimator=gdpo``): verl normalizes each key of
``algorithm.gdpo_reward_keys`` within its group, reading them from ``non_tensor_batch``, where
its reward managers put every key of the dict ``compute_score`` returns. The component keys
above are those keys; :func:`gdpo_overrides` gives the Hydra overrides (``adv_estimator``,
``gdpo_reward_keys``, ``gdpo_reward_weights`` = the configured weights) for a config. verl
normalizes the *filled* values: a filled 0.0 counts as a real 0.0 there (``group_mean`` keeps
the group's mean instead). Tested against verl's own ``compute_gdpo_outcome_advantage`` in
``tests/test_telemetry_adapters.py``.

Watching the run: ``reward_kwargs: {run_dir: runs/verl-1}`` (or ``$REWARDHUB_RUN_DIR``) records
into that run directory (:mod:`rewardhub.telemetry`): ``compute_score_batch`` one step per call;
the per-sample forms one step per ``record_every`` samples (``reward_kwargs.record_every``, else
``$REWARDHUB_RECORD_EVERY``, else :data:`PER_SAMPLE_RECORD_EVERY`: set it to
``data.train_batch_size * actor_rollout_ref.rollout.n`` for one record per verl step).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from rewardhub.adapters.batch import as_column, float_rows
from rewardhub.adapters.fill import announce, fill_policy
from rewardhub.adapters.scorer import CONFIG_ENV, URL_ENV, configured, resolve, scoring, shared_scorer
from rewardhub.engine.results import ScoreBatch
from rewardhub.telemetry.trainer_hook import telemetry_for
from rewardhub.types import Sample

#: Samples per recorded step of the per-sample forms, where nothing else says.
PER_SAMPLE_RECORD_EVERY = 256

#: ``extra_info`` fields read as the prompt, in order (verl's examples store ``question``).
PROMPT_FIELDS = ("prompt", "question", "query", "instruction")

NEEDS = (
    "set custom_reward_function.reward_kwargs.rewardhub_config (a config file), reward_kwargs.rewards (names), "
    f"reward_kwargs.rewardhub_url (a rewardhub serve), or the {CONFIG_ENV} or {URL_ENV} environment variable"
)


def scorer_for(kwargs: dict[str, Any]) -> Any:
    """The scorer ``reward_kwargs`` name, by :mod:`rewardhub.adapters.scorer`'s precedence:
    ``rewardhub_url`` (with ``rewardhub_token``; ``rewards`` then picks some of its rewards),
    ``rewardhub_config`` (a path or dict), ``rewards`` (names or entries), else the
    ``REWARDHUB_URL`` or ``REWARDHUB_CONFIG`` environment variable."""
    config = kwargs.get("rewardhub_config")
    rewards = config if config is not None else kwargs.get("rewards")
    url, token = kwargs.get("rewardhub_url") or None, kwargs.get("rewardhub_token")
    return shared_scorer(rewards, url=url, token=token, missing=kwargs.get("missing"), needs=NEEDS)


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
    with scoring(scorer):
        batch = scorer.score([sample])
    _record(kwargs, batch, PER_SAMPLE_RECORD_EVERY)
    return float_rows(batch, fill)[0]


def _record(kwargs: dict[str, Any], batch: ScoreBatch, default_every: int | None) -> None:
    """Hand the batch to this process's verl telemetry hook, when ``run_dir`` (or the variable) says."""
    hook = telemetry_for(kwargs.get("run_dir"), "verl", kwargs.get("record_every"), default_every)
    if hook is not None:
        hook.add(batch)


def gdpo_overrides(rewards: Any = None) -> list[str]:
    """verl's Hydra overrides for GDPO over these rewards (names, a config or its path; default:
    ``$REWARDHUB_CONFIG``): ``algorithm.adv_estimator=gdpo`` and the component keys and weights
    (read from the config: no reward is built)."""
    resolution = resolve(rewards)
    if resolution is None:
        raise ValueError(f"rewardhub: no rewards given: {NEEDS}")
    entries = configured(resolution)[0]
    keys = ",".join(e.key for e in entries)
    weights = ",".join(repr(float(e.weight)) for e in entries)
    return [
        "algorithm.adv_estimator=gdpo",
        f"algorithm.gdpo_reward_keys=[{keys}]",
        f"algorithm.gdpo_reward_weights=[{weights}]",
    ]


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
    sources, truths, infos = as_column(data_sources, n), as_column(ground_truths, n), as_column(extra_infos, n)
    samples = []
    for i in range(n):
        sample = to_sample(sources[i], solution_strs[i], truths[i], infos[i])
        sample.group = _group(sources[i], infos[i], sample, i)
        samples.append(sample)
    scorer = scorer_for(kwargs)
    with scoring(scorer):
        batch = scorer.score(samples)
    _record(kwargs, batch, None)
    return float_rows(batch, fill)

"""rewardhub rewards as TRL GRPO reward functions.

::

    from rewardhub.adapters.trl import reward_funcs

    rewards = reward_funcs(["entropy", "diversity_bonus:0.5"])
    # or, scored by a running `rewardhub serve`: rewards = reward_funcs(url="http://reward-host:8000")
    args = GRPOConfig(..., reward_weights=rewards.weights)
    trainer = GRPOTrainer(model=..., reward_funcs=rewards, args=args, train_dataset=...)

Each function has TRL's signature ``f(prompts, completions, completion_ids=None, **kwargs)``
and is named after its reward, so TRL logs ``rewards/<name>/mean``. They return the raw,
unweighted component values (``None`` where a reward could not score, which TRL treats as NaN
and leaves out of its weighted ``nansum``: the ``skip`` policy); TRL applies
``reward_weights``. All functions of one batch share a single scoring pass.

Groups: TRL repeats each prompt ``num_generations`` times in a row, so consecutive equal prompts
form one group; pass ``num_generations`` to cut a run of equal prompts (the same prompt drawn
twice into one batch) into groups of exactly that size. Under several processes each process
scores its own share of the batch, so a group-aware reward sees the part of a group that its
process generated.

Watching the run: ``reward_funcs(..., run_dir="runs/grpo-1")`` (or ``$REWARDHUB_RUN_DIR``) records
every step (:mod:`rewardhub.telemetry`: ``steps.jsonl``, ``samples/``) and logs the same numbers
through TRL (``rewardhub/distinct_2``, ``rewardhub/<name>/length_spearman``...); watch it with
``rewardhub dashboard runs/grpo-1``. Group-decoupled normalization (GDPO): give the scorer
``aggregation: gdpo`` (or ``normalize_then_sum``) and pass ``**rewards.grpo_kwargs`` to
``GRPOConfig``: TRL gets one function per component, their weights and
``multi_objective_aggregation="normalize_then_sum"``, and normalizes each component itself.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from rewardhub.adapters._common import URL_ENV, BatchMemo, build_scorer
from rewardhub.io.schema import IMAGE_FIELDS, REFERENCE_FIELDS
from rewardhub.results import ScoreBatch
from rewardhub.telemetry.trainer_hook import StepTelemetry, run_dir_from
from rewardhub.types import Sample, message_content

#: Keyword arguments TRL adds for its own purposes; they are not dataset columns.
TRL_RUNTIME_KWARGS = frozenset({"trainer_state", "log_extra", "log_metric", "environments", "completion_ids"})


def completion_text(completion: Any) -> str:
    """A completion as text: a string as is; for a conversational completion (a list of
    messages) the assistant turns' contents, joined by newlines."""
    if isinstance(completion, str):
        return completion
    turns = [m for m in completion if m.get("role", "assistant") == "assistant"] or list(completion)
    return "\n".join(message_content(m) for m in turns)


def group_ids(prompts: Sequence[Any], num_generations: int | None = None) -> list[int]:
    """Group index per position: runs of equal consecutive prompts, cut every
    ``num_generations`` samples when given."""
    ids: list[int] = []
    current, size = -1, 0
    for i, prompt in enumerate(prompts):
        new_run = i == 0 or prompt != prompts[i - 1]
        if new_run or (num_generations and size >= num_generations):
            current, size = current + 1, 0
        ids.append(current)
        size += 1
    return ids


def to_samples(
    prompts: Sequence[Any], completions: Sequence[Any], columns: dict[str, Any], num_generations: int | None = None
) -> list[Sample]:
    """TRL's reward-function arguments as samples: dataset columns become ``reference``
    (``reference``/``ground_truth``/``solution``), ``images`` (``images``/``image``) or ``meta``."""
    columns = {k: v for k, v in columns.items() if k not in TRL_RUNTIME_KWARGS}
    reference_col = next((f for f in REFERENCE_FIELDS if f in columns), None)
    image_col = next((f for f in IMAGE_FIELDS if f in columns), None)
    meta_cols = [k for k in columns if k not in (reference_col, image_col)]
    groups = group_ids(prompts, num_generations)
    samples = []
    for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
        images = columns[image_col][i] if image_col else None
        samples.append(
            Sample(
                response=completion_text(completion),
                prompt=prompt,
                id=i,
                group=f"trl-group-{groups[i]}",
                reference=columns[reference_col][i] if reference_col else None,
                images=[] if images is None else list(images) if isinstance(images, (list, tuple)) else [images],
                meta={k: columns[k][i] for k in meta_cols},
            )
        )
    return samples


class _Shared:
    """The scorer behind one set of reward functions, and the memo of the current batch."""

    def __init__(self, scorer: Any, num_generations: int | None, telemetry: Any = None):
        self.scorer = scorer
        self.num_generations = num_generations
        self.memo = BatchMemo(columns=len(scorer.components))
        self.telemetry = telemetry  # a rewardhub.telemetry StepTelemetry, or None

    def samples(self, prompts: Sequence[Any], completions: Sequence[Any], kwargs: dict[str, Any]) -> list[Sample]:
        if len(prompts) != len(completions):
            raise ValueError(f"got {len(prompts)} prompts for {len(completions)} completions")
        return to_samples(prompts, completions, kwargs, self.num_generations)

    def score(self, prompts: Sequence[Any], completions: Sequence[Any], kwargs: dict[str, Any], ids: Any = None):
        return self.memo.get((prompts, completions), lambda: self._scored(prompts, completions, kwargs, ids))

    def _scored(self, prompts: Sequence[Any], completions: Sequence[Any], kwargs: dict[str, Any], ids: Any):
        samples = self.samples(prompts, completions, kwargs)
        batch = self.scorer.score(samples)
        if self.telemetry is not None:
            self.telemetry.record_trl(samples, batch, kwargs, ids)
        return batch

    async def _ascored(self, samples: list[Sample], kwargs: dict[str, Any], ids: Any) -> ScoreBatch:
        batch = await self.scorer.ascore(samples)
        if self.telemetry is not None:
            self.telemetry.record_trl(samples, batch, kwargs, ids)
        return batch

    async def ascore(self, prompts: Sequence[Any], completions: Sequence[Any], kwargs: dict[str, Any], ids: Any = None):
        # TRL gathers all async reward functions on one event loop: the first one to run starts
        # the scoring task, the others await that same task.
        import asyncio

        key = (prompts, completions)
        task = self.memo.lookup(key)
        if task is None:
            task = self.memo.store(
                key, asyncio.ensure_future(self._ascored(self.samples(prompts, completions, kwargs), kwargs, ids))
            )
        return await task


class RewardFunction:
    """One reward column in TRL's reward-function shape (``__name__`` is the reward's name)."""

    def __init__(self, shared: _Shared, name: str):
        self._shared = shared
        self.__name__ = name

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], completion_ids: Any = None, **kwargs: Any
    ) -> list[float | None]:
        batch = self._shared.score(prompts, completions, kwargs, completion_ids)
        return _column(batch, self.__name__, kwargs)

    def __repr__(self) -> str:
        return f"<rewardhub TRL reward {self.__name__!r}>"


class AsyncRewardFunction(RewardFunction):
    """The async flavour: TRL awaits it on its reward event loop, beside other async rewards."""

    async def __call__(  # type: ignore[override]
        self, prompts: Sequence[Any], completions: Sequence[Any], completion_ids: Any = None, **kwargs: Any
    ) -> list[float | None]:
        batch = await self._shared.ascore(prompts, completions, kwargs, completion_ids)
        return _column(batch, self.__name__, kwargs)


def _column(batch: ScoreBatch, name: str, kwargs: dict[str, Any]) -> list[float | None]:
    log_metric = kwargs.get("log_metric")
    if callable(log_metric) and len(batch):  # TRL's hook for extra scalars: the share that failed
        failed = sum(name in errors for errors in batch.errors)
        log_metric(f"rewardhub/{name}/error_rate", failed / len(batch))
    return list(batch.components[name])


class TRLRewards(list):
    """The reward functions for ``GRPOTrainer(reward_funcs=...)``, a list, with ``weights``
    for ``GRPOConfig(reward_weights=...)`` and the :class:`Scorer` behind them."""

    def __init__(self, functions: list[RewardFunction], scorer: Any):
        super().__init__(functions)
        self.scorer = scorer
        self.names = [f.__name__ for f in functions]
        self.weights = [c.weight for c in scorer.components]

    @property
    def grpo_kwargs(self) -> dict[str, Any]:
        """For ``GRPOConfig(**rewards.grpo_kwargs)``: the weights, and TRL's own group-decoupled
        normalization when the scorer's ``aggregation`` asks for it (``gdpo``/``normalize_then_sum``)."""
        kwargs: dict[str, Any] = {"reward_weights": self.weights}
        if getattr(self.scorer, "aggregation", "sum") != "sum":
            kwargs["multi_objective_aggregation"] = "normalize_then_sum"
        return kwargs


def reward_funcs(
    config_or_names: Any = None,
    *,
    url: str | None = None,
    token: str | None = None,
    missing: str | None = None,
    asynchronous: bool = False,
    num_generations: int | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    recorder_options: dict[str, Any] | None = None,
) -> TRLRewards:
    """One TRL reward function per configured reward, and their weights.

    :param config_or_names: reward names (``["entropy", "diversity_bonus:0.5"]``), config
        entries, a config dict, or the path of a rewardhub config file.
    :param url: score on this ``rewardhub serve`` instead (default: ``$REWARDHUB_URL`` when no
        rewards are given); names then pick some of the served rewards, weights are the server's.
    :param token: the server's token (default: ``$REWARDHUB_TOKEN``).
    :param missing: only for ``rewards.scorer``'s own totals; TRL sums the columns itself.
    :param asynchronous: return ``async`` functions (scored with :meth:`Scorer.ascore`).
    :param num_generations: GRPO's group size, to split equal prompts drawn twice.
    :param run_dir: record every step there (default: ``$REWARDHUB_RUN_DIR``; neither: no recording).
    :param recorder_options: :class:`rewardhub.telemetry.Recorder` options (``max_length``, ``tokenize``...).
    """
    if url is None and config_or_names is None:
        url = os.environ.get(URL_ENV)
    scorer = build_scorer(config_or_names, missing=missing, url=url, token=token)
    telemetry = None
    if run_dir_from(run_dir) is not None:
        telemetry = StepTelemetry(run_dir_from(run_dir), "trl", **(recorder_options or {}))
    shared = _Shared(scorer, num_generations, telemetry)
    kind = AsyncRewardFunction if asynchronous else RewardFunction
    return TRLRewards([kind(shared, c.key) for c in scorer.components], scorer)

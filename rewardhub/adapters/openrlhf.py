"""rewardhub rewards as OpenRLHF's Python-file reward function.

::

    export REWARDHUB_CONFIG=rewards.yaml      # or: REWARDHUB_CONFIG=entropy,repetition_penalty
    python -m openrlhf.cli.train_ppo_ray ... \\
        --remote_rm_url "$(python -c 'import rewardhub.adapters.openrlhf as m; print(m.__file__)')"

OpenRLHF loads this file and calls ``reward_func(queries, prompts, labels)``, where each query
is ``tokenizer.decode(prompt_ids + response_ids, skip_special_tokens=False)``: the templated
prompt, the response and its end-of-turn token. :func:`extract_response` recovers the
response; ``labels`` become the samples' ``reference``. It returns OpenRLHF's shape
``{"rewards": ..., "scores": ..., "extra_logs": {<component>: ..., "rewardhub_missing": ...}}``
as torch tensors when torch is installed (lists otherwise). OpenRLHF needs a number for every
query: a missing value (a component, the total, or a query whose prompt is not found in it)
is filled under ``REWARDHUB_MISSING_FILL`` (or ``missing_fill=`` when called directly): ``0.0``
by default, another number, ``group_mean`` (the mean of the queries with the same prompt in
the call) or ``raise`` (the call fails, naming the queries and why); filled components are
counted in ``rewardhub_missing``, and the policy in force is printed once at the first call
(:mod:`rewardhub.adapters.fill`). ``scores`` (what dynamic filtering reads) is the same
weighted total as ``rewards``. Tested in ``tests/test_adapters_openrlhf.py`` and
``tests/test_adapters_fill.py``.

OpenRLHF sends one query per call, so a group-aware reward sees a group of one; call
``reward_func`` with a whole batch to give it the group. With ``REWARDHUB_URL`` set (a running
``rewardhub serve``), the rewards are scored there, and ``REWARDHUB_CONFIG`` (names) picks
some of the served rewards. Simpler still: point ``--remote_rm_url`` at the server's
``/get_reward`` (the same shapes, see :mod:`rewardhub.serve.protocols.openrlhf`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

from rewardhub.adapters._common import CONFIG_ENV, URL_ENV, ScorerCache, scoring_lock
from rewardhub.adapters.fill import MISSING_KEY, TOTAL_KEY, Policy, announce, fill_policy, fill_rows
from rewardhub.results import ScoreBatch
from rewardhub.types import Sample

#: End-of-turn, end-of-text and padding tokens of common chat templates, stripped from the end
#: of a decoded query (``REWARDHUB_STOP_TOKENS``, comma-separated, adds more).
STOP_TOKENS = (
    "<|im_end|>",  # Qwen, ChatML
    "<|endoftext|>",  # Qwen, GPT-2
    "<|eot_id|>",  # Llama 3
    "<|end_of_text|>",  # Llama 3
    "<|eom_id|>",  # Llama 3.1 tool calls
    "</s>",  # Llama 2, Mistral
    "<end_of_turn>",  # Gemma
    "<eos>",  # Gemma
    "<|end|>",  # Phi-3
    "<|return|>",  # gpt-oss
    "<｜end▁of▁sentence｜>",  # DeepSeek
    "<|end_of_sentence|>",
    "<pad>",
    "<|pad|>",
    "[PAD]",
)

_TAIL = 64  # characters of the prompt's end used to find it in a query that does not start with it

_scorers = ScorerCache()
_lock = threading.Lock()  # OpenRLHF calls reward_func from worker threads


def stop_tokens() -> tuple[str, ...]:
    extra = os.environ.get("REWARDHUB_STOP_TOKENS", "")
    return STOP_TOKENS + tuple(t for t in (p.strip() for p in extra.split(",")) if t)


def strip_stop_tokens(text: str, tokens: Sequence[str] | None = None) -> str:
    """``text`` without the end-of-turn and padding tokens (and whitespace) at its end."""
    tokens = stop_tokens() if tokens is None else tokens
    while True:
        stripped = text.rstrip()
        for token in tokens:
            if stripped.endswith(token):
                stripped = stripped[: -len(token)]
        if stripped == text:
            return text
        text = stripped


def extract_response(query: str, prompt: str, tokens: Sequence[str] | None = None) -> str | None:
    """The response inside an OpenRLHF query (templated prompt + response + stop tokens).

    The query normally starts with the prompt. When it does not (the prompt was truncated from
    the left, or decoding changed its start), the response is what follows the last
    occurrence of the prompt's final characters. ``None`` when the prompt cannot be found.
    """
    if query.startswith(prompt):
        rest = query[len(prompt) :]
    else:
        tail = prompt[-_TAIL:]
        at = query.rfind(tail) if tail else -1
        if at < 0:
            return None
        rest = query[at + len(tail) :]
    return strip_stop_tokens(rest, tokens)


def _scorer(config: Any) -> Any:
    config = config if config is not None else os.environ.get(CONFIG_ENV)
    url = os.environ.get(URL_ENV)
    if not config and not url:
        raise ValueError(f"rewardhub: set {CONFIG_ENV} (a config file or reward names) or {URL_ENV} for OpenRLHF")
    return _scorers.get(config or None, url=url)


def to_samples(
    queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any] | None = None
) -> tuple[list[int], list[Sample]]:
    """The samples inside OpenRLHF's arguments, and the positions of the queries they came
    from (a query whose prompt cannot be found has no sample)."""
    labels = list(labels) if labels is not None else [None] * len(queries)
    if not len(queries) == len(prompts) == len(labels):
        raise ValueError(f"got {len(queries)} queries, {len(prompts)} prompts and {len(labels)} labels")
    tokens = stop_tokens()
    found: list[int] = []
    samples: list[Sample] = []
    for i, (query, prompt, label) in enumerate(zip(queries, prompts, labels, strict=True)):
        response = extract_response(query, prompt, tokens)
        if response is not None:
            found.append(i)
            samples.append(Sample(response=response, prompt=prompt, reference=label))
    return found, samples


def result_lists(
    n: int,
    found: list[int],
    batch: ScoreBatch | None,
    keys: Sequence[str],
    fill: Policy = 0.0,
    prompts: Sequence[str] | None = None,
) -> dict[str, Any]:
    """OpenRLHF's ``{"rewards", "scores", "extra_logs"}`` as lists, for ``n`` queries of which
    those at ``found`` were scored in ``batch``; a query not found has every value missing,
    and missing values are filled under ``fill`` (``prompts`` give the queries' groups)."""
    rows: list[dict[str, float | None]] = [{TOTAL_KEY: None, **dict.fromkeys(keys)} for _ in range(n)]
    groups: list[Any] = [("prompt", p) for p in prompts] if prompts is not None else [("query", i) for i in range(n)]
    reasons = ["its prompt was not found in the query"] * n
    if batch is not None:
        for j, i in enumerate(found):
            rows[i] = {TOTAL_KEY: batch.totals[j], **{k: batch.components[k][j] for k in keys}}
            reasons[i] = "; ".join(f"{k}: {e}" for k, e in batch.errors[j].items())
    filled = fill_rows(rows, groups, fill, reasons)
    totals = [row[TOTAL_KEY] for row in filled]
    logs = {k: [row[k] for row in filled] for k in [*keys, MISSING_KEY]}
    return {"rewards": totals, "scores": list(totals), "extra_logs": logs}


def reward_func(
    queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any] | None = None, **kwargs: Any
) -> dict[str, Any]:
    """OpenRLHF's ``reward_func``: ``{"rewards", "scores", "extra_logs"}`` for the queries.

    ``kwargs`` may carry ``rewardhub_config`` (a path, names or a config dict) to override the
    environment, and ``missing_fill`` (else ``REWARDHUB_MISSING_FILL``, else 0.0); with
    ``REWARDHUB_URL`` set the rewards are scored by that ``rewardhub serve``. A query whose
    prompt cannot be found has every value missing.
    """
    fill = fill_policy(kwargs.get("missing_fill"))
    note = "; OpenRLHF's executor sends one query per call, where group_mean reads 0.0"
    announce("OpenRLHF", fill, note if fill == "group_mean" else "")
    scorer = _scorer(kwargs.get("rewardhub_config"))
    found, samples = to_samples(queries, prompts, labels)
    with scoring_lock(scorer, _lock):
        batch = scorer.score(samples) if samples else None
    out = result_lists(len(queries), found, batch, [c.key for c in scorer.components], fill, prompts)
    return {
        "rewards": _tensor(out["rewards"]),
        "scores": _tensor(out["scores"]),
        "extra_logs": {k: _tensor(v) for k, v in out["extra_logs"].items()},
    }


def _tensor(values: list[float]) -> Any:
    """A float tensor when torch is installed (as OpenRLHF's examples return), else the list."""
    try:
        import torch
    except ImportError:
        return values
    return torch.tensor(values, dtype=torch.float32)

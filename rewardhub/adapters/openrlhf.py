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
as torch tensors when torch is installed (lists otherwise), with the float policy of
:func:`rewardhub.adapters._common.float_rows`: a missing component reads 0.0 and is counted.
``scores`` (what dynamic filtering reads) is the same weighted total as ``rewards``.

OpenRLHF sends one query per call, so a group-aware reward sees a group of one; call
``reward_func`` with a whole batch (as the HTTP server does) to give it the group.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

from rewardhub.adapters._common import CONFIG_ENV, ScorerCache, float_rows
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
    if not config:
        raise ValueError(f"rewardhub: set {CONFIG_ENV} to a config file or to reward names for OpenRLHF")
    return _scorers.get(config)


def reward_func(
    queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any] | None = None, **kwargs: Any
) -> dict[str, Any]:
    """OpenRLHF's ``reward_func``: ``{"rewards", "scores", "extra_logs"}`` for the queries.

    ``kwargs`` may carry ``rewardhub_config`` (a path, names or a config dict) to override the
    environment. A query whose prompt cannot be found scores 0.0 with every component missing.
    """
    scorer = _scorer(kwargs.get("rewardhub_config"))
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
    with _lock:
        scored = float_rows(scorer.score(samples)) if samples else []
    empty = {
        "score": 0.0,
        **{c.key: 0.0 for c in scorer.components},
        "rewardhub_missing": float(len(scorer.components)),
    }
    rows = [dict(empty) for _ in queries]
    for i, row in zip(found, scored, strict=True):
        rows[i] = row
    totals = [row["score"] for row in rows]
    logs = {key: [row[key] for row in rows] for key in empty if key != "score"}
    return {
        "rewards": _tensor(totals),
        "scores": _tensor(totals),
        "extra_logs": {k: _tensor(v) for k, v in logs.items()},
    }


def _tensor(values: list[float]) -> Any:
    """A float tensor when torch is installed (as OpenRLHF's examples return), else the list."""
    try:
        import torch
    except ImportError:
        return values
    return torch.tensor(values, dtype=torch.float32)

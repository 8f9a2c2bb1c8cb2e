"""``POST /get_reward``: OpenRLHF's remote reward model (``--remote_rm_url http://HOST:PORT/get_reward``).

A drop-in for ``openrlhf/cli/serve_rm.py`` (0.11.2): the same request, ``{"query": [...],
"prompts": [...], "labels": [...]}`` as OpenRLHF's ``SingleTurnAgentExecutor`` sends it, and the
same answer, ``{"rewards": [...], "scores": [...], "extra_logs": {...}}``, one number per query.
Where it differs from ``serve_rm`` (which scores each whole decoded query, the policy's chat
template included, and ignores ``prompts``):

- **the response is split out**: it is what follows the prompt in the query (up to the
  end-of-turn and padding tokens), as the in-process adapter finds it
  (:func:`rewardhub.adapters.openrlhf.extract_response`);
- **the prompt is read back into chat messages** when it is in a known chat template's markup
  (OpenRLHF's ``--apply_chat_template`` renders it in the *policy's* template;
  :mod:`rewardhub.serve.chat_markup` lists the families), so a reward model renders the
  conversation in its own template, as it would in process with the dataset's messages. A
  generation prefix the template forces (DeepSeek-R1's ``<think>\\n``) is put back at the start
  of the response; Qwen3's empty ``<think></think>`` is dropped. A prompt with markup that is not
  recognised is passed on as text, with a warning naming what was not recognised, once per kind;
  a plain-text prompt is passed on as it is;
- ``prompts`` may be left out when every query is a whole conversation in a known markup: the
  last assistant turn is then the response, the turns before it the prompt (a query that is not
  is a 422 naming it);
- ``extra_logs`` holds every served component and ``rewardhub_missing`` (``serve_rm`` sends
  ``dummy_scores``); OpenRLHF needs a number for every query, so a missing value (a reward
  without a value, or a query whose prompt is not found in it) reads 0.0 and is counted in
  ``extra_logs["rewardhub_missing"]``.

Under a group-normalized ``aggregation`` (``normalize_then_sum``, ``gdpo``) the answer adds
``advantages``, one per query (``null`` for a query whose prompt is not found, or whose group has
no other query in the request), beside the unchanged ``rewards`` (the weighted total): OpenRLHF
reads only ``rewards``, ``scores`` and ``extra_logs`` and has no per-component estimator, and its
executor posts one query per request, so no request of OpenRLHF's holds a whole group: the field
is for clients that post whole groups (see ``docs/telemetry.md``).

Tested in ``tests/test_serve.py``, ``tests/test_serve_chat_markup.py`` and, with OpenRLHF's own
client and a reward model, ``plugins/rewardhub-rm/tests/test_rm_serve_openrlhf.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rewardhub.adapters.openrlhf import extract_response, result_lists, stop_tokens, strip_stop_tokens
from rewardhub.serve import chat_markup
from rewardhub.serve.http import field_error
from rewardhub.serve.service import Service
from rewardhub.types import Sample

logger = logging.getLogger("rewardhub.serve")

#: Kinds of unrecognised markup already warned about (one warning each per process).
_warned: set[str] = set()
_MAX_WARNINGS = 32


def _strings(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name)
    if not isinstance(value, list):
        raise field_error(name, "required: a list of strings")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise field_error(f"{name}[{i}]", f"expected a string, got {type(item).__name__}")
    return value


def _warn_once(kind: str, message: str) -> None:
    if kind in _warned or len(_warned) >= _MAX_WARNINGS:
        return
    _warned.add(kind)
    logger.warning("rewardhub serve: /get_reward: %s", message)


def read_prompt(prompt: str) -> tuple[Any, str, str | None]:
    """The prompt as a sample's prompt (chat messages when its markup is recognised, else the
    text), the generation prefix to put back before the response, and the markup's family."""
    try:
        chat = chat_markup.parse(prompt)
        if chat is not None and chat.open_role not in (None, "assistant"):
            raise chat_markup.NotRecognised(f"it ends in an open {chat.open_role!r} turn")
    except chat_markup.NotRecognised as exc:
        found = chat_markup.markers(prompt)
        _warn_once(
            "|".join(found[:8]) + f"|{exc}",
            f"a prompt's chat markup is not recognised ({exc}; markers: {', '.join(found[:8])}): such prompts "
            "are passed to the rewards as text, so a reward model reads that markup inside its own template",
        )
        return prompt, "", None
    if chat is None:
        found = chat_markup.markers(prompt)
        if found:
            _warn_once(
                "|".join(found[:8]),
                f"a prompt has markup of no known chat template ({', '.join(found[:8])}): such prompts are "
                "passed to the rewards as text, so a reward model reads that markup inside its own template",
            )
        return prompt, "", None
    return chat.messages, chat.generation_prefix(), chat.family


def _response(text: str, prefix: str, family_inst: bool, tokens: Sequence[str]) -> str:
    response = prefix + strip_stop_tokens(text, tokens)
    return response.lstrip() if family_inst else response


def to_samples(
    queries: Sequence[str], prompts: Sequence[str] | None, labels: Sequence[Any] | None = None
) -> tuple[list[int], list[Sample]]:
    """The samples in a ``/get_reward`` request and the positions of the queries they came from
    (a query whose prompt is not found in it has none). Without ``prompts``, each query is read
    as a whole conversation (``ValueError`` naming the first that is not)."""
    labels = list(labels) if labels is not None else [None] * len(queries)
    tokens = stop_tokens()
    found: list[int] = []
    samples: list[Sample] = []
    for i, (query, label) in enumerate(zip(queries, labels, strict=True)):
        if prompts is None:
            prompt, response = _split_query(query, i, tokens)
        else:
            response = extract_response(query, prompts[i], tokens)
            if response is None:
                continue
            prompt, prefix, family = read_prompt(prompts[i])
            response = _response(response, prefix, family == "inst", tokens)
        found.append(i)
        samples.append(Sample(response=response, prompt=prompt, reference=label))
    return found, samples


def _split_query(query: str, i: int, tokens: Sequence[str]) -> tuple[list[dict[str, str]], str]:
    """A whole templated conversation: the turns before the last assistant turn, and that turn."""
    why = "it has no known chat markup"
    try:
        chat = chat_markup.parse(query)
    except chat_markup.NotRecognised as exc:
        chat, why = None, str(exc)
    if chat is not None:
        if chat.open_role == "assistant":
            return chat.messages, _response(chat.open_text, "", chat.family == "inst", tokens)
        if chat.open_role is None and chat.messages and chat.messages[-1]["role"] == "assistant":
            last = chat.messages[-1]["content"]
            return chat.messages[:-1], _response(last, "", chat.family == "inst", tokens)
        why = "it does not end in an assistant turn"
    raise ValueError(
        f"query[{i}]: without 'prompts', a query must be a whole chat-templated conversation ending in "
        f"the response; this one is not ({why}): send 'prompts' as OpenRLHF does"
    )


async def get_reward(body: Any, service: Service, deadline: float | None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise field_error("body", "expected an object with 'query' and 'prompts'")
    queries = _strings(body, "query")
    prompts = _strings(body, "prompts") if "prompts" in body else None
    labels = body.get("labels")
    if labels is not None and not isinstance(labels, list):
        raise field_error("labels", "expected a list, one label per query")
    for name, column in (("prompts", prompts), ("labels", labels)):
        if column is not None and len(column) != len(queries):
            raise field_error(name, f"has {len(column)} items for {len(queries)} queries")
    try:
        found, samples = to_samples(queries, prompts, labels)
    except ValueError as exc:
        field, _, reason = str(exc).partition(": ")
        raise field_error(field, reason + " (prompts: required to find the response inside each query)") from None
    batch = await service.score(samples, deadline, "/get_reward") if samples else None
    out = result_lists(len(queries), found, batch, service.keys)
    if service.aggregation != "sum":
        advantages: list[float | None] = [None] * len(queries)
        for j, i in enumerate(found):
            advantages[i] = batch.advantages[j] if batch is not None and batch.advantages is not None else None
        out["advantages"] = advantages
    return out


ROUTES = (("/get_reward", "POST", get_reward),)

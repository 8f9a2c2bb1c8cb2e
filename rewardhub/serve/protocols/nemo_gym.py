"""``POST /verify`` (and ``POST /seed_session``): a NeMo-Gym resources server.

NeMo-Gym's agent posts ``{"responses_create_params": {"input": ...}, "response": {"output":
[...]}, ...task fields}`` (OpenAI Responses API objects) and reads ``reward`` from the answer,
which echoes the request as ``BaseVerifyResponse`` does. The prompt is the ``input`` (text, or
messages), the response the text of the assistant's ``output_text`` parts, the reference the
task's ``expected_answer`` (or ``reference``/``ground_truth``/``solution``). The answer adds
``reward`` (the weighted total), ``reward_components`` (every component, as in
``BaseMultiRewardVerifyResponse``) and ``failure_reason``: NeMo-Gym needs a number, so a
missing value reads 0.0, is counted in ``reward_components["rewardhub_missing"]``, and the
reason says which reward failed and why.
"""

from __future__ import annotations

from typing import Any

from rewardhub.adapters.batch import float_rows
from rewardhub.serve.http import field_error
from rewardhub.serve.protocols.native import to_sample
from rewardhub.serve.service import Service
from rewardhub.types import message_content

REFERENCE_FIELDS = ("expected_answer", "reference", "ground_truth", "solution")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def prompt_of(params: Any) -> Any:
    """The prompt in ``responses_create_params``: its ``input`` text or messages."""
    if not isinstance(params, dict):
        raise field_error("responses_create_params", "required: an object with 'input'")
    given = params.get("input")
    if isinstance(given, str):
        return given
    if not isinstance(given, list):
        raise field_error("responses_create_params.input", "expected a string or a list of messages")
    messages = [
        {"role": str(m.get("role", "user")), "content": _text(m.get("content"))}
        for m in given
        if isinstance(m, dict) and "role" in m
    ]
    return messages or None


def response_of(response: Any) -> str:
    """The assistant's text in a Responses API object (its ``output_text`` parts)."""
    if not isinstance(response, dict) or not isinstance(response.get("output"), list):
        raise field_error("response", "required: a Responses API object with 'output'")
    parts = []
    for item in response["output"]:
        if isinstance(item, dict) and item.get("type", "message") == "message" and item.get("role") == "assistant":
            parts.append(message_content(item) if isinstance(item.get("content"), str) else _text(item.get("content")))
    return "".join(parts)


async def verify(body: Any, service: Service, deadline: float | None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise field_error("body", "expected an object with 'responses_create_params' and 'response'")
    row = {
        "prompt": prompt_of(body.get("responses_create_params")),
        "response": response_of(body.get("response")),
        "reference": next((body[f] for f in REFERENCE_FIELDS if f in body), None),
    }
    sample = to_sample(row, "body", 0)
    batch = await service.score([sample], deadline, "/verify")
    components = float_rows(batch)[0]
    total = components.pop("score")
    errors = batch.errors[0]
    missing = [k for k, column in batch.components.items() if column[0] is None]
    reason = None
    if missing:
        why = "; ".join(f"{k}: {errors.get(k, (batch.infos[k][0] or {}).get('reason', 'no value'))}" for k in missing)
        reason = f"rewardhub: no value from {why}"
    return {**body, "reward": total, "reward_components": components, "failure_reason": reason}


async def seed_session(body: Any, service: Service, deadline: float | None) -> dict[str, Any]:
    return {}


ROUTES = (("/verify", "POST", verify), ("/seed_session", "POST", seed_session))

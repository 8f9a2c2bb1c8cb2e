"""``POST /slime``: slime's remote reward model (``--rm-type remote_rm --rm-url
http://HOST:PORT/slime --reward-key score``).

slime posts one sample, ``{"prompt", "response", "label"}``, and keeps the JSON answer as the
sample's reward; with ``--reward-key score`` it reads the weighted total. The answer is
``{"score": total, <component>: value, ..., "rewardhub_missing": n}``: slime needs a number,
so a missing value reads 0.0 and is counted in ``rewardhub_missing``. Under a group-normalized
``aggregation`` the answer adds ``advantage``: ``null``, since slime posts one sample per request
(also with ``--group-rm``) and one sample has nothing to be normalized against; slime normalizes
``--reward-key``'s value within its group itself.
"""

from __future__ import annotations

from typing import Any

from rewardhub.adapters.batch import float_rows
from rewardhub.serve.http import field_error
from rewardhub.serve.protocols.native import to_sample
from rewardhub.serve.service import Service


async def reward(body: Any, service: Service, deadline: float | None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise field_error("body", "expected an object with 'prompt', 'response' and 'label'")
    if not isinstance(body.get("response"), str):
        raise field_error("response", "required: a string")
    row = {"prompt": body.get("prompt"), "response": body["response"], "reference": body.get("label")}
    if isinstance(body.get("metadata"), dict):
        row.update({k: v for k, v in body["metadata"].items() if k not in row})
    sample = to_sample(row, "body", 0)
    batch = await service.score([sample], deadline, "/slime")
    out: dict[str, Any] = float_rows(batch)[0]
    if batch.advantages is not None:
        out["advantage"] = batch.advantages[0]
    return out


ROUTES = (("/slime", "POST", reward),)

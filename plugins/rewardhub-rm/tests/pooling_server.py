"""A local pooling server for the tests: vLLM's or SGLang's request and response shapes, backed
by a real (tiny) sequence-classification model.

    python pooling_server.py --model PATH --port 8123 --flavor vllm|sglang

Shapes as in :mod:`rewardhub_rm.pooling` (taken from those projects' protocol code):

- ``--flavor vllm``: ``POST /classify`` and ``POST /pooling`` take ``{"input": [[ids], ...] or
  [ids] or str or [str], "use_activation": bool | null, "add_special_tokens": bool}`` and answer
  ``{"id", "object": "list", "created", "model", "data": [{"index", "label", "probs",
  "num_classes"}], "usage"}`` (``/pooling``: ``data: [{"index", "object": "pooling", "data"}]``).
  As vLLM does, the activation is on by default: a sigmoid for one label, else a softmax.
- ``--flavor sglang``: ``POST /classify`` takes an ``EmbeddingReqInput`` (``text`` or
  ``input_ids``, one or a batch) and answers ``{"embedding": [...], "meta_info": {...}}`` per
  input (a list for a batch), raw scores.

Each sequence runs alone through the model (no padding), as those servers pool per sequence.
``POST /control`` sets failure modes for the next requests (``{"fail": N, "status": 500}``:
the next N requests answer that status; ``{"hang": true}``: requests never answer;
``{"retry_after": S}`` with a 503) and ``GET /control`` returns what was received so far.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import torch
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from transformers import AutoModelForSequenceClassification, AutoTokenizer


def build_app(model_path: str, flavor: str) -> Starlette:
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForSequenceClassification.from_pretrained(model_path).eval()
    labels = model.config.id2label
    state: dict[str, Any] = {"fail": 0, "status": 500, "hang": False, "retry_after": None, "received": []}

    def logits(ids: list[int]) -> list[float]:
        with torch.no_grad():
            return model(input_ids=torch.tensor([ids])).logits[0].float().tolist()

    def token_lists(value: Any, add_special_tokens: bool) -> list[list[int]]:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list) and value and isinstance(value[0], int):
            value = [value]
        return [
            tokenizer(v, add_special_tokens=add_special_tokens)["input_ids"] if isinstance(v, str) else list(v)
            for v in value
        ]

    async def gate(request: Request) -> tuple[Any, JSONResponse | None]:
        body = await request.json()
        state["received"].append({"path": request.url.path, "body": body})
        if state["hang"]:
            await asyncio.sleep(3600)
        if state["fail"] > 0:
            state["fail"] -= 1
            headers = {"Retry-After": str(state["retry_after"])} if state["retry_after"] is not None else {}
            return body, JSONResponse(
                {"error": {"message": "failing on purpose", "code": state["status"]}}, state["status"], headers=headers
            )
        return body, None

    def activation(row: list[float], use: Any) -> list[float]:
        if use is False:
            return row
        t = torch.tensor(row)
        return (t.sigmoid() if len(row) == 1 else t.softmax(-1)).tolist()

    async def vllm(request: Request) -> JSONResponse:
        body, failure = await gate(request)
        if failure is not None:
            return failure
        if "input" not in body:
            return JSONResponse({"error": {"message": "field 'input' required", "code": 400}}, 400)
        sequences = token_lists(body["input"], bool(body.get("add_special_tokens", True)))
        rows = [activation(logits(ids), body.get("use_activation")) for ids in sequences]
        if request.url.path == "/pooling":
            data = [{"index": i, "object": "pooling", "data": row} for i, row in enumerate(rows)]
        else:
            data = [
                {
                    "index": i,
                    "label": labels[max(range(len(row)), key=row.__getitem__)],
                    "probs": row,
                    "num_classes": len(row),
                }
                for i, row in enumerate(rows)
            ]
        data.reverse()  # 'index' says where each belongs: a client must not rely on the order
        tokens = sum(map(len, sequences))
        usage = {"prompt_tokens": tokens, "total_tokens": tokens, "completion_tokens": 0}
        return JSONResponse(
            {
                "id": "classify-0",
                "object": "list",
                "created": int(time.time()),
                "model": model_path,
                "data": data,
                "usage": usage,
            }
        )

    async def sglang(request: Request) -> JSONResponse:
        body, failure = await gate(request)
        if failure is not None:
            return failure
        single = isinstance(body.get("text"), str) or (
            isinstance(body.get("input_ids"), list) and body["input_ids"] and isinstance(body["input_ids"][0], int)
        )
        source = body.get("input_ids") if body.get("input_ids") is not None else body.get("text")
        sequences = token_lists(source, True)
        out = [
            {"embedding": logits(ids), "meta_info": {"id": f"r{i}", "prompt_tokens": len(ids), "finish_reason": None}}
            for i, ids in enumerate(sequences)
        ]
        return JSONResponse(out[0] if single else out)

    async def control(request: Request) -> JSONResponse:
        if request.method == "POST":
            state.update(await request.json())
            return JSONResponse({"ok": True})
        return JSONResponse({"received": state["received"]})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    routes = [Route("/health", health), Route("/control", control, methods=["GET", "POST"])]
    if flavor == "vllm":
        routes += [Route("/classify", vllm, methods=["POST"]), Route("/pooling", vllm, methods=["POST"])]
    else:
        routes += [Route("/classify", sglang, methods=["POST", "PUT"])]
    return Starlette(routes=routes)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--flavor", choices=["vllm", "sglang"], required=True)
    args = parser.parse_args()
    uvicorn.run(build_app(args.model, args.flavor), host="127.0.0.1", port=args.port, log_level="warning")

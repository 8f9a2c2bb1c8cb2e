"""A real OpenAI-compatible endpoint that behaves, or misbehaves, on purpose.

Run as a process: ``python fake_endpoint.py PORT LOG``; every request is appended to ``LOG``
(one JSON line: when it came and was answered, mode, status, whether an ``Authorization``
header came, the body's ``response_format``). The behaviour is the first path segment, so one server serves every
case: ``base_url = http://127.0.0.1:PORT/<mode>/v1``.

- ``ok``: a judge that does what the judged text tells it. Pointwise: the answer's text
  carries ``<<reply:...>>`` and the reply is exactly that (``<<reply:{"score": 7}>>``; with
  ``a|||b|||c``, repeats of the request get ``a``, ``b``, ``c`` in turn), else
  ``{"explanation": "fine", "score": 5}``. Pairwise: the answer marked ``<<better>>`` wins,
  in whichever position it is; neither, a tie.
- ``first``: a pairwise judge that always picks the answer shown first (a position bias).
- ``http500``: always 500. ``flaky``: 500 twice per distinct body, then ``ok``.
- ``ratelimit``: 429 with ``Retry-After: 1`` once per distinct body, then ``ok``;
  ``ratelimit-date``: the same with an HTTP date.
- ``drip``: a 200 whose body comes one byte a second.
- ``garbage``: a 200 whose body is not JSON; ``nochoices``: JSON without ``choices``.
- ``refuse``: "I'm sorry, but I can't help with that."; ``refusal``: OpenAI's ``refusal`` field.
- ``cut``: a reply cut at ``max_tokens`` (``finish_reason: length``).
- ``badrequest``: 400. ``echokey``: 401 whose body repeats the Authorization header.
- ``noformat``: 400 when the body has ``response_format``, else ``ok``.
- ``nousage``: ``ok`` without ``usage``. ``slow``: ``ok`` after 0.3 s.
- ``window-N``: ``ok``, but a request that would make more than N in the last 60 s gets a
  429 with ``Retry-After: 1`` (a hosted API's requests-per-minute limit; the benchmark's).
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import re
import sys
import threading
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

REPLY = re.compile(r"<<reply:(.*?)>>", re.DOTALL)
ANSWER = re.compile(r"\[The Start of Assistant's Answer\]\n(.*?)\n\[The End of Assistant's Answer\]", re.DOTALL)
ANSWER_A = re.compile(r"\[The Start of Assistant A's Answer\]\n(.*?)\n\[The End of Assistant A's Answer\]", re.DOTALL)
ANSWER_B = re.compile(r"\[The Start of Assistant B's Answer\]\n(.*?)\n\[The End of Assistant B's Answer\]", re.DOTALL)

_seen: dict[str, int] = {}
_window: list[float] = []  # when the requests a window-N endpoint let through came
_lock = threading.Lock()
LOG = sys.argv[2] if len(sys.argv) > 2 else None


def _log(entry: dict) -> None:
    if LOG:
        with _lock, open(LOG, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")


def _times(mode: str, body: bytes) -> int:
    """How many times this exact body has come before to this mode."""
    digest = hashlib.sha256(mode.encode() + b"\0" + body).hexdigest()
    with _lock:
        count = _seen.get(digest, 0)
        _seen[digest] = count + 1
    return count


def _over_window(limit: int, now: float) -> bool:
    """Whether a request now would be over ``limit`` in the last 60 s (else it is counted)."""
    with _lock:
        while _window and _window[0] <= now - 60:
            _window.pop(0)
        if len(_window) >= limit:
            return True
        _window.append(now)
        return False


def _judge(messages: list[dict], mode: str) -> str:
    user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    a, b = ANSWER_A.search(user), ANSWER_B.search(user)
    if a and b:
        if mode == "first":
            return json.dumps({"explanation": "the first one", "winner": "A"})
        better_a, better_b = "<<better>>" in a.group(1), "<<better>>" in b.group(1)
        winner = "A" if better_a and not better_b else "B" if better_b and not better_a else "tie"
        return json.dumps({"explanation": f"{winner} is better", "winner": winner})
    answer = ANSWER.search(user)
    text = answer.group(1) if answer else user
    reply = REPLY.search(text)
    if not reply:
        return json.dumps({"explanation": "fine", "score": 5})
    choices = reply.group(1).split("|||")  # repeats of one request get these in turn
    return choices[_times("replies", json.dumps(messages).encode()) % len(choices)]


def _completion(content: str | None, messages: list[dict], *, finish: str = "stop", usage: bool = True, **message):
    data: dict = {
        "id": "fake",
        "object": "chat.completion",
        "model": "fake",
        "choices": [
            {"index": 0, "finish_reason": finish, "message": {"role": "assistant", "content": content, **message}}
        ],
    }
    if usage:
        prompt = sum(len(str(m.get("content", ""))) for m in messages) // 4 + 1
        data["usage"] = {"prompt_tokens": prompt, "completion_tokens": len(content or "") // 4 + 1}
        data["usage"]["total_tokens"] = data["usage"]["prompt_tokens"] + data["usage"]["completion_tokens"]
    return data


async def completions(request: Request) -> Response:
    started = time.time()
    mode = request.path_params["mode"]
    raw = await request.body()
    status = 200
    auth = request.headers.get("authorization")
    try:
        body = json.loads(raw)
        messages = body["messages"]
    except (ValueError, KeyError, TypeError):
        body, messages = {}, []
    response: Response
    if mode.startswith("window-") and _over_window(int(mode.split("-")[1]), started):
        status = 429
        response = JSONResponse({"error": {"message": "rate limit"}}, status_code=429, headers={"Retry-After": "1"})
    elif mode == "http500" or (mode == "flaky" and _times(mode, raw) < 2):
        status, response = 500, JSONResponse({"error": {"message": "internal error"}}, status_code=500)
    elif mode in ("ratelimit", "ratelimit-date") and _times(mode, raw) < 1:
        when = "1" if mode == "ratelimit" else email.utils.formatdate(time.time() + 2, usegmt=True)
        status = 429
        response = JSONResponse({"error": {"message": "slow down"}}, status_code=429, headers={"Retry-After": when})
    elif mode == "badrequest" or (mode == "noformat" and "response_format" in body):
        status, response = 400, JSONResponse({"error": {"message": "bad request"}}, status_code=400)
    elif mode == "echokey":
        status, response = 401, JSONResponse({"error": {"message": f"invalid key in {auth}"}}, status_code=401)
    elif mode == "garbage":
        response = Response(b"<html>not json{{", media_type="application/json")
    elif mode == "nochoices":
        response = JSONResponse({"object": "chat.completion", "choices": []})
    elif mode == "drip":
        text = json.dumps(_completion(_judge(messages, mode), messages)).encode()

        async def drip():
            for i in range(len(text)):
                yield text[i : i + 1]
                await asyncio.sleep(1.0)

        response = StreamingResponse(drip(), media_type="application/json")
    elif mode == "refuse":
        response = JSONResponse(_completion("I'm sorry, but I can't help with that.", messages))
    elif mode == "refusal":
        response = JSONResponse(_completion(None, messages, refusal="I can't evaluate this."))
    elif mode == "cut":
        response = JSONResponse(_completion("The answer is quite good and I would rate", messages, finish="length"))
    else:  # ok, first, flaky, ratelimit, noformat, nousage, slow
        if mode == "slow":
            await asyncio.sleep(0.3)
        response = JSONResponse(_completion(_judge(messages, mode), messages, usage=mode != "nousage"))
    _log(
        {
            "start": started,
            "t": time.time(),
            "mode": mode,
            "status": status,
            "authorization": auth is not None,
            "response_format": (body.get("response_format") or {}).get("type") if isinstance(body, dict) else None,
        }
    )
    return response


app = Starlette(routes=[Route("/{mode}/v1/chat/completions", completions, methods=["POST"])])

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)

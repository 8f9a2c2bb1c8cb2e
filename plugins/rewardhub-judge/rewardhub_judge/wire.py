"""What travels between the judge's client and an endpoint, as values: an :class:`Answer`, a
:class:`Failure` with its stable reason, the client's :class:`Stats`, token estimates for the
limits, and reading an error body or a ``Retry-After`` header. Tested through the client in
``tests/test_judge_client.py``."""

from __future__ import annotations

import email.utils
import time
from dataclasses import asdict, dataclass
from typing import Any

#: Tokens a chat message costs beyond its text (role markers), in the worst-case estimate.
MESSAGE_OVERHEAD = 16


@dataclass
class Answer:
    """An endpoint's answer: the reply's text, why it stopped, an explicit refusal, the tokens."""

    content: str
    finish_reason: str | None = None
    refusal: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usage_reported: bool = True
    cached: bool = False

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_cache(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("cached")
        return out

    @classmethod
    def from_cache(cls, data: dict[str, Any]) -> Answer | None:
        try:
            return cls(
                content=str(data["content"]),
                finish_reason=data.get("finish_reason"),
                refusal=data.get("refusal"),
                prompt_tokens=int(data.get("prompt_tokens") or 0),
                completion_tokens=int(data.get("completion_tokens") or 0),
                usage_reported=bool(data.get("usage_reported", True)),
                cached=True,
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass
class Failure:
    """A request that gave no answer: a stable ``reason`` and what happened, in ``detail``."""

    reason: str
    detail: str = ""


class Stats:
    """What one client did: requests sent (retries included), answers, tokens, cache use."""

    FIELDS = (
        "requests",
        "answers",
        "retries",
        "failed",
        "rate_limited",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "usage_missing",
        "cache_hits",
        "cache_misses",
        "budget_refused",
    )

    def __init__(self) -> None:
        for name in self.FIELDS:
            setattr(self, name, 0)
        self.waited_s = 0.0

    def as_dict(self) -> dict[str, int | float]:
        out: dict[str, int | float] = {name: getattr(self, name) for name in self.FIELDS}
        out["waited_s"] = round(self.waited_s, 3)
        return out


def message_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    raise TypeError("content is neither text nor a list of parts")


def tries_text(n: int) -> str:
    return f"{n} {'try' if n == 1 else 'tries'}"


def worst_case_tokens(messages: list[dict[str, str]], max_tokens: int) -> int:
    """Most tokens a request can cost: every prompt byte a token, the role markers, all of
    ``max_tokens`` (what the budget reserves)."""
    return sum(len(m["content"].encode("utf-8")) + MESSAGE_OVERHEAD for m in messages) + MESSAGE_OVERHEAD + max_tokens


def estimated_tokens(messages: list[dict[str, str]], max_tokens: int) -> int:
    """A likely cost (four bytes a token, plus ``max_tokens``): what ``tokens_per_minute``
    takes before the endpoint reports the real one."""
    return sum(len(m["content"].encode("utf-8")) // 4 + MESSAGE_OVERHEAD for m in messages) + max_tokens


def error_reason(response: Any) -> str:
    try:
        data = response.json()
    except ValueError:
        return (response.text or response.reason_phrase or "")[:200]
    if isinstance(data, dict):
        error = data.get("error", data.get("message", data.get("detail", data)))
        if isinstance(error, dict):
            error = error.get("message", error)
        return str(error)[:200]
    return str(data)[:200]


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds: a number, or an HTTP date (RFC 9110)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())

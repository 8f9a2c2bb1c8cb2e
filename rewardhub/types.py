"""The data model: a `Sample` to judge and the `Score` a reward gives it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Union

Message = dict[str, Any]
Prompt = Union[str, list[Message], None]


def prompt_text(prompt: Prompt) -> str:
    """The prompt as plain text: chat messages joined as ``role: content`` lines."""
    if prompt is None:
        return ""
    if isinstance(prompt, str):
        return prompt
    return "\n".join(f"{m.get('role', '')}: {message_content(m)}" for m in prompt)


def message_content(message: Message) -> str:
    """A chat message's text, also for multimodal content lists (``[{"type": "text", ...}]``)."""
    content = message.get("content", "")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


@dataclass
class Sample:
    """One generated output with its context.

    Only ``response`` is required. ``group`` defaults to a key derived from the prompt, so the
    responses that answer the same prompt form one group (a GRPO group); ``meta`` carries every
    other field of the input row untouched.
    """

    response: str
    prompt: Prompt = None
    id: Any = None
    group: Any = None
    reference: Any = None
    images: list[Any] = field(default_factory=list)
    history: list[Any] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt_text(self) -> str:
        return prompt_text(self.prompt)

    @property
    def group_key(self) -> Any:
        """The group this sample belongs to: ``group`` when given, else its prompt."""
        if self.group is not None:
            return self.group
        return ("prompt", _hashable(self.prompt))

    def key(self, fields: tuple[str, ...]) -> tuple[Any, ...]:
        """A hashable identity over ``fields``, used to score identical samples once.

        Strings are used as they are (no hashing cost for the common case); structured values
        (chat messages, meta) are serialized. Images given as objects (PIL images, bytes) are
        keyed by identity: equal content in two objects is scored twice, correct, only slower.
        """
        parts = []
        for name in fields:
            value = getattr(self, name)
            if name == "images":
                value = tuple(v if isinstance(v, str) else f"<{type(v).__name__}@{id(v)}>" for v in value)
            parts.append(_hashable(value))
        return tuple(parts)


def _hashable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, tuple)):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr)


@dataclass(frozen=True)
class Score:
    """A reward's verdict on one sample: ``value`` plus free-form ``info`` (a label, a raw score)."""

    value: float | None
    info: dict[str, Any] = field(default_factory=dict)

"""Recognising the common JSONL layouts and turning a row into a :class:`Sample`.

Recognised without flags, in this order:

============================  ===========================================================
``{prompt, response}``        plain
``{prompt, completion}``      TRL (standard or conversational: message lists)
``{query, response}``         ms-swift
``{instruction, output}``     alpaca_eval
``{question, answer}``        Q&A sets
``{messages: [...]}``         chat logs: the last assistant turn is the response,
                              the turns before it the prompt
============================  ===========================================================

Fields with a known meaning: ``id``, ``group``, ``reference`` (also ``ground_truth``,
``solution``), ``images`` (or ``image``), ``history``. Everything else goes to ``meta``.

A chat message's content is text, or a list of parts whose ``text`` (where a part has one) is
a string: anything else is a :class:`RowError` naming the part, e.g.
``field 'prompt[0].content[1].text' must be a string, got null`` (shared by ``eval``, which
prints it after ``file:line:``, and ``serve``, which answers 422). Tested in
``tests/test_serve_attacks.py`` (eval and serve).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardhub.types import Sample, message_content

PAIRS = (
    ("prompt", "response"),
    ("prompt", "completion"),
    ("query", "response"),
    ("instruction", "output"),
    ("question", "answer"),
)
MESSAGES = "messages"
REFERENCE_FIELDS = ("reference", "ground_truth", "solution")
IMAGE_FIELDS = ("images", "image")
#: The types a ``group`` value may have: it names a group, it does not describe one.
GROUP_TYPES = (str, int, float, bool)


class RowError(ValueError):
    """A row that cannot be read; ``field`` names the offending field when there is one."""

    def __init__(self, reason: str, field: str | None = None):
        super().__init__(reason)
        self.field = field


@dataclass(frozen=True)
class Layout:
    """Where a file keeps its prompt and response: a field pair, or a ``messages`` list."""

    prompt: str | None
    response: str

    def describe(self) -> str:
        if self.response == MESSAGES:
            return "{messages}"
        return f"{{{self.prompt}, {self.response}}}" if self.prompt else f"{{{self.response}}}"


def detect_layout(row: dict[str, Any], prompt_field: str | None = None, response_field: str | None = None) -> Layout:
    """The layout of ``row``; explicit fields win over detection."""
    if response_field:
        if prompt_field is None:
            prompt_field = next((p for p, r in PAIRS if p in row and r != response_field), None)
        return Layout(prompt_field, response_field)
    for prompt, response in PAIRS:
        if response in row and (prompt in row or prompt_field in row):
            return Layout(prompt_field or prompt, response)
    if isinstance(row.get(MESSAGES), list):
        return Layout(None, MESSAGES)
    for _, response in PAIRS:  # a response with no prompt is still scorable
        if response in row:
            return Layout(prompt_field, response)
    keys = ", ".join(sorted(row)) or "none"
    raise RowError(f"cannot tell which field holds the response (fields: {keys}); use --response-field")


def _response_text(value: Any, field: str) -> str:
    """The response as text; a conversational completion is a list of messages."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(_is_message(m) for m in value):
        _check_messages(value, field)
        turns = [m for m in value if m.get("role", "assistant") == "assistant"] or value
        return message_content(turns[-1])
    if isinstance(value, list) and value:
        got = "a list of non-message values"
    else:
        got = "an empty list" if value == [] else "null" if value is None else type(value).__name__
    raise RowError(f"field '{field}' must be a string (or a list of chat messages), got {got}", field)


def _is_message(value: Any) -> bool:
    """A chat message: ``{"role"?, "content"}`` with text content, or a list of content parts."""
    if not isinstance(value, dict) or "content" not in value:
        return False
    content, role = value["content"], value.get("role", "assistant")
    return isinstance(role, str) and (content is None or isinstance(content, (str, list)))


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _check_messages(messages: list[Any], field: str) -> None:
    """Every text part of the messages (dicts) in ``messages`` is a string, or a RowError naming it."""
    for i, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            if isinstance(part, dict) and "text" in part and not isinstance(part["text"], str):
                where = f"{field}[{i}].content[{j}].text"
                raise RowError(f"field '{where}' must be a string, got {_kind(part['text'])}", where)


def _split_messages(messages: list[Any]) -> tuple[list[dict[str, Any]], str]:
    if not all(_is_message(m) for m in messages):
        raise RowError("field 'messages' must be a list of {role, content} objects", MESSAGES)
    _check_messages(messages, MESSAGES)
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "assistant":
            return messages[:i], message_content(messages[i])
    raise RowError("field 'messages' has no assistant turn to score", MESSAGES)


def _images(value: Any, base: Path | None) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, dict):  # {"path": ...} or {"url": ...}, as some datasets store them
            item = item.get("path") or item.get("url") or item.get("bytes") or item
        if isinstance(item, str) and base is not None and not item.startswith(("data:", "http://", "https://")):
            path = Path(item)
            item = str(path if path.is_absolute() else base / path)
        out.append(item)
    return out


def row_to_sample(row: dict[str, Any], layout: Layout, default_id: Any, base: Path | None = None) -> Sample:
    """Build a :class:`Sample` from a parsed row. Raises :class:`RowError` naming the field."""
    used = {"id", "group", "history", *REFERENCE_FIELDS, *IMAGE_FIELDS}
    if layout.response == MESSAGES:
        prompt, response = _split_messages(row[MESSAGES])
        used.add(MESSAGES)
    else:
        if layout.response not in row:
            raise RowError(f"no '{layout.response}' field (layout {layout.describe()})", layout.response)
        response = _response_text(row[layout.response], layout.response)
        prompt = row.get(layout.prompt) if layout.prompt else None
        if prompt is not None and not isinstance(prompt, (str, list)):
            raise RowError(f"field '{layout.prompt}' must be a string or a list of messages", layout.prompt)
        if isinstance(prompt, list):
            _check_messages(prompt, str(layout.prompt))
        used.update(f for f in (layout.prompt, layout.response) if f)
    image_field = next((f for f in IMAGE_FIELDS if row.get(f) is not None), None)
    group = row.get("group")
    if not (group is None or isinstance(group, GROUP_TYPES)):
        raise RowError(f"field 'group' must be a string, number or boolean, got {type(group).__name__}", "group")
    history = row.get("history") or []
    if not isinstance(history, list):
        raise RowError("field 'history' must be a list of earlier turns", "history")
    _check_messages(history, "history")
    return Sample(
        response=response,
        prompt=prompt,
        id=row.get("id", default_id),
        group=group,
        reference=next((row[f] for f in REFERENCE_FIELDS if f in row), None),
        images=_images(row[image_field], base) if image_field else [],
        history=history,
        meta={k: v for k, v in row.items() if k not in used},
    )

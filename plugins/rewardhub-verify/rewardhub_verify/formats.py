"""Format rewards: ``think_format`` (TRL's definition) and ``regex_format`` (any pattern).

``think_format`` is 1.0 when the assistant's turn opens with ``<think>``, has no second
``<think>``, and closes the block with ``</think>``; else 0.0. It is TRL's
``think_format_reward``, the same pattern and flags (``^<think>(?!.*<think>)(.*?)</think>.*$``
with DOTALL and MULTILINE), so the quirks are TRL's too: leading whitespace fails, an empty
answer after ``</think>`` passes. An agreement test calls ``trl.rewards.think_format_reward``
on the same texts.

**Prefilled tags.** A chat template can end the prompt with the opening tag (DeepSeek-R1 and
its distills, Qwen3.5 with thinking on: the generation prompt ends in ``<think>\\n``), so the
generated response starts *inside* the think block, and TRL's reward gives 0 to every
well-formed response (TRL issue 6966). ``think_format`` scores the assistant's turn as the
template rendered it: when the prompt ends with ``prefill`` (default ``<think>``; whitespace
after it is kept), the response is read as that tail of the prompt followed by the response.
"The prompt" is, for a string prompt, the string (trainers such as verl pass the rendered
prompt); for a chat prompt (a list of messages), the content of a final assistant message (a
prefill the caller wrote), or, with ``chat_template`` (a Hugging Face tokenizer name or path),
the prompt rendered by that tokenizer's chat template with the generation prompt, exactly as
the trainer renders it. A chat prompt without ``chat_template`` whose last message is not the
assistant's has no visible generation prompt: its response is scored as it is.
``prefill=None`` turns this off (TRL's behaviour, bit for bit).

``regex_format`` is 1.0 when ``pattern`` matches the response (``re.match`` by default, with
DOTALL and MULTILINE as open-r1's ``format_reward`` uses them), else 0.0; the default pattern
is open-r1's ``<think>`` + ``<answer>`` format, :data:`OPEN_R1_FORMAT`. It takes the same
``prefill`` and ``chat_template`` args, off by default (the pattern is the user's; set
``prefill: "<think>"`` for open-r1's pattern under a prefilling template).

Both run their pattern on an engine that cannot hang (:mod:`.regex_engine`): RE2 (linear
time) where the pattern means the same there, as open-r1's does, else the ``regex`` package
with a deadline per response (``timeout``, default 1 s), past which the response is ``None``
with the reason, never a 0 or a frozen server.

Tested in ``tests/test_formats.py``, ``tests/test_formats_prefill.py`` and
``tests/test_regex_deadline.py``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import rewardhub
from rewardhub.types import message_content
from rewardhub_verify._version import __version__
from rewardhub_verify.regex_engine import DEFAULT_TIMEOUT, MODES, BoundedRegex, regex_flags

THINK_PATTERN = r"^<think>(?!.*<think>)(.*?)</think>.*$"
THINK_OPEN = "<think>"
#: open-r1's ``format_reward``: reasoning in <think>, then the answer in <answer>, each on its own lines.
OPEN_R1_FORMAT = r"^<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>$"

__all__ = ["MODES", "OPEN_R1_FORMAT", "THINK_PATTERN", "RegexFormat", "ThinkFormat", "prompt_end"]

_TEMPLATE_LOCK = threading.Lock()


@lru_cache(maxsize=8)
def _chat_tokenizer(name: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(name.removeprefix("hf:"))


@lru_cache(maxsize=1024)
def _rendered(chat_template: str, messages_json: str) -> str:
    messages = json.loads(messages_json)
    final = bool(messages) and messages[-1].get("role") == "assistant"
    with _TEMPLATE_LOCK:
        tokenizer = _chat_tokenizer(chat_template)
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=not final, continue_final_message=final
    )


def prompt_end(prompt: Any, chat_template: str | None = None) -> str:
    """The text right before the response, as far as it can be known: a string prompt itself;
    for chat messages, the prompt rendered by ``chat_template`` (generation prompt included),
    else a final assistant message's content (a caller's prefill), else ``""``."""
    if isinstance(prompt, str):
        return prompt
    if not isinstance(prompt, list) or not prompt:
        return ""
    if chat_template:
        return _rendered(chat_template, json.dumps(prompt, sort_keys=True, default=str))
    last = prompt[-1]
    return message_content(last) if isinstance(last, dict) and last.get("role") == "assistant" else ""


def prefilled(prompt: Any, tag: str, chat_template: str | None = None) -> str:
    """The tail of the prompt from ``tag`` on, when the prompt ends with ``tag`` (whitespace
    after it allowed and kept, e.g. ``"<think>\\n"``); else ``""``."""
    end = prompt_end(prompt, chat_template)
    body = end.rstrip()
    return end[len(body) - len(tag) :] if body.endswith(tag) else ""


class RegexFormat(rewardhub.Reward):
    """1.0 when ``pattern`` matches the response, else 0.0; ``None`` with the reason when the
    backtracking engine's deadline passes (see the module doc).

    :param pattern: a Python regular expression; default open-r1's ``format_reward`` pattern
        (:data:`OPEN_R1_FORMAT`: ``<think>``, then ``<answer>``, each tag on its own line).
    :param mode: ``"match"`` (anchored at the start, as open-r1 and TRL), ``"fullmatch"`` or ``"search"``.
    :param flags: regex flag names (default DOTALL and MULTILINE, as open-r1 and TRL).
    :param engine: ``"auto"`` (default: RE2 where the pattern means the same there, else the
        ``regex`` package with a deadline), ``"re2"`` (refuse other patterns) or ``"regex"``.
    :param timeout: seconds per response on the ``regex`` engine (default 1).
    :param prefill: an opening the chat template may prefill (e.g. ``"<think>"``): when the
        prompt ends with it, the response is read after it. Default ``None``: off.
    :param chat_template: a Hugging Face tokenizer (name or path, ``hf:`` optional) whose chat
        template renders chat prompts, to see their generation prompt.
    """

    name = "regex_format"
    version = __version__
    description = "1 if the response matches a regular expression, else 0"
    inputs = ("response",)
    kind = "format"  # 0 on any text not written in the format: a choice, not a measure
    batch_size = 4096
    pure_python = True

    def __init__(
        self,
        pattern: str = OPEN_R1_FORMAT,
        mode: str = "match",
        flags: Sequence[str] | str = ("DOTALL", "MULTILINE"),
        engine: str = "auto",
        timeout: float = DEFAULT_TIMEOUT,
        prefill: str | None = None,
        chat_template: str | None = None,
    ) -> None:
        if prefill is not None and (not isinstance(prefill, str) or not prefill.strip()):
            raise ValueError(f"prefill must be a non-empty tag such as '<think>' or None, got {prefill!r}")
        self.regex = BoundedRegex(pattern, regex_flags(flags), mode, engine, timeout)
        self.pattern, self.mode = pattern, mode
        self.prefill, self.chat_template = prefill, chat_template
        self.provenance = self.regex.provenance
        if prefill is not None:
            self.inputs = ("response", "prompt")

    def text(self, sample: rewardhub.Sample) -> str:
        """What the pattern is matched against: the response, after the prompt's prefilled tag."""
        if self.prefill is None:
            return sample.response
        return prefilled(sample.prompt, self.prefill, self.chat_template) + sample.response

    def score(self, samples: Sequence[rewardhub.Sample]) -> list[float | rewardhub.Score]:
        verdicts = [self.regex.test(self.text(sample)) for sample in samples]
        late = rewardhub.Score(None, {"reason": self.regex.deadline_reason})
        return [late if verdict is None else float(verdict) for verdict in verdicts]


class ThinkFormat(RegexFormat):
    """1.0 when the assistant's turn is one ``<think>...</think>`` block at the start, then the
    answer (TRL's ``think_format_reward``), else 0.0; a ``<think>`` the prompt ends with counts
    as the turn's opening (``prefill``, see the module doc)."""

    name = "think_format"
    description = "1 if the response opens with one <think>...</think> block (TRL's think_format_reward), else 0"

    def __init__(
        self,
        prefill: str | None = THINK_OPEN,
        chat_template: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(THINK_PATTERN, timeout=timeout, prefill=prefill, chat_template=chat_template)

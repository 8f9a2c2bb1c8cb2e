"""How a sample becomes a reward model's input: the RM's own rendering, never the policy's.

The rules, first match wins (``template`` is the reward's argument):

1. ``template`` is a format string with ``{prompt}`` and ``{response}``: the text is
   ``template.format(prompt=..., response=...)``, tokenized *with* the tokenizer's special
   tokens (BOS, ``[CLS]``...), since a hand-written template rarely writes them.
2. ``template: chat``, or (by default) the RM tokenizer has a chat template: the prompt's chat
   messages (a string prompt is one user turn) plus the response as the assistant turn,
   rendered by ``tokenizer.apply_chat_template(messages, tokenize=False)`` and tokenized
   *without* adding special tokens: the template writes them, so the ids equal
   ``apply_chat_template(messages, tokenize=True)`` (no doubled BOS).
3. ``template: pair``, or (by default) no chat template: the tokenizer's pair encoding
   ``tokenizer(prompt, response)``, as cross-encoder RMs (the OpenAssistant DeBERTa models) are
   called, ``token_type_ids`` included.

Where a rule needs the prompt as text (1 and 3), a chat prompt's lone message is its content and
several messages are ``role: content`` lines. A missing prompt is the empty string. Message
contents given as parts (``[{"type": "text", ...}]``) are joined into text.

Truncation is never silent: a sequence longer than ``max_length`` tokens is cut as the tokenizer
cuts (its ``truncation_side``; a pair by ``longest_first``) and its :class:`Encoded` says so,
with the length it had. :meth:`Renderer.describe` is what the run's sidecar records: the rule
used, the chat template's hash, and the shape of one rendered sample.

Tested in ``tests/test_rm_rendering.py``.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rewardhub.types import Sample, message_content, prompt_text

#: ``template`` values that pick a rule rather than give a format string.
RULES = ("auto", "chat", "pair")
_FIELDS = {"prompt", "response"}


def check_template(template: str | None) -> None:
    """Raise ``ValueError`` naming the problem when ``template`` is not a rule name or a format
    string over ``{prompt}`` and ``{response}`` (with ``{response}`` in it)."""
    if template is None or template in RULES:
        return
    if not isinstance(template, str):
        raise ValueError(f"template must be a string, got {type(template).__name__}")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ValueError(f"template is not a valid format string: {exc}") from None
    unknown = sorted({f for f in fields if f not in _FIELDS})
    if unknown:
        raise ValueError(f"template may use {{prompt}} and {{response}} only, got {unknown}")
    if "response" not in fields:
        raise ValueError("template must contain {response}, or be one of auto, chat, pair")


@dataclass(frozen=True)
class Encoded:
    """One sample's token ids as the RM reads them; ``length`` is the count before truncation."""

    input_ids: list[int]
    token_type_ids: list[int] | None
    length: int

    @property
    def truncated(self) -> bool:
        return self.length > len(self.input_ids)


def chat_messages(prompt: Any, response: str) -> list[dict[str, Any]]:
    """The conversation an RM with a chat template scores: the prompt's turns, then the response."""
    if prompt is None or isinstance(prompt, str):
        turns: list[dict[str, Any]] = [{"role": "user", "content": prompt or ""}]
    else:
        turns = [{**m, "content": message_content(m)} for m in prompt]
    return [*turns, {"role": "assistant", "content": response}]


def prompt_as_text(prompt: Any) -> str:
    """The prompt as one string: itself, a lone message's content, or ``role: content`` lines."""
    if prompt is None or isinstance(prompt, str):
        return prompt or ""
    if len(prompt) == 1:
        return message_content(prompt[0])
    return prompt_text(prompt)


class Renderer:
    """Renders and tokenizes samples for one RM tokenizer (see the module doc for the rules)."""

    def __init__(self, tokenizer: Any, template: str | None, max_length: int):
        check_template(template)
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.chat_template = getattr(tokenizer, "chat_template", None) or None
        if isinstance(self.chat_template, dict):  # several named templates: the default one
            self.chat_template = self.chat_template.get("default")
        self.template: str | None = None
        if template in (None, "auto"):
            self.rule = "chat" if self.chat_template else "pair"
        elif template == "chat":
            if not self.chat_template:
                raise ValueError("template is 'chat' but the reward model's tokenizer has no chat template")
            self.rule = "chat"
        elif template == "pair":
            self.rule = "pair"
        else:
            self.rule, self.template = "template", template
        self.add_special_tokens = self.rule != "chat"

    # -- one sample ----------------------------------------------------------------------

    def text(self, sample: Sample) -> str | tuple[str, str]:
        """The rendered input: a string, or ``(prompt, response)`` for the pair rule."""
        if self.rule == "chat":
            return self.tokenizer.apply_chat_template(chat_messages(sample.prompt, sample.response), tokenize=False)
        if self.rule == "pair":
            return prompt_as_text(sample.prompt), sample.response
        assert self.template is not None
        return self.template.format(prompt=prompt_as_text(sample.prompt), response=sample.response)

    # -- a call --------------------------------------------------------------------------

    def encode(self, samples: Sequence[Sample]) -> list[Encoded | Exception]:
        """Token ids per sample, in order; a sample that cannot be rendered (a chat template
        that refuses its turns, say) gets the exception instead."""
        out: list[Encoded | Exception | None] = [None] * len(samples)
        texts: list[Any] = []
        where: list[int] = []
        for i, sample in enumerate(samples):
            try:
                texts.append(self.text(sample))
            except Exception as exc:
                out[i] = ValueError(f"cannot render this sample for the reward model: {type(exc).__name__}: {exc}")
            else:
                where.append(i)
        if texts:
            full = self._tokenize(texts, truncate=False)
            lengths = [len(ids) for ids in full["input_ids"]]
            long = [j for j, n in enumerate(lengths) if n > self.max_length]
            cut = self._tokenize([texts[j] for j in long], truncate=True) if long else {}
            cut_row = {j: r for r, j in enumerate(long)}
            for j, i in enumerate(where):
                source, row = (cut, cut_row[j]) if j in cut_row else (full, j)
                types = source.get("token_type_ids")
                out[i] = Encoded(
                    list(source["input_ids"][row]), None if types is None else list(types[row]), lengths[j]
                )
        return out  # type: ignore[return-value]  (every slot is filled)

    def _tokenize(self, texts: list[Any], truncate: bool) -> Any:
        kwargs: dict[str, Any] = {"add_special_tokens": self.add_special_tokens, "verbose": False}
        if truncate:
            kwargs.update(truncation=True, max_length=self.max_length)
        if self.rule == "pair":
            return self.tokenizer([t[0] for t in texts], [t[1] for t in texts], **kwargs)
        return self.tokenizer(texts, **kwargs)

    # -- provenance ----------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """The rendering as the sidecar records it."""
        described: dict[str, Any] = {
            "rule": {"chat": "chat_template", "pair": "pair_encoding", "template": "template"}[self.rule],
            "add_special_tokens": self.add_special_tokens,
            "max_length": self.max_length,
            "truncation_side": "longest_first"
            if self.rule == "pair"
            else getattr(self.tokenizer, "truncation_side", "right"),
        }
        if self.rule == "chat":
            described["chat_template_sha256"] = hashlib.sha256(str(self.chat_template).encode()).hexdigest()
        if self.template is not None:
            described["template"] = self.template
        described["shape"] = self._shape()
        return described

    def _shape(self) -> str | None:
        """One rendered sample with ``{prompt}``/``{response}`` for the texts, as the RM sees it."""
        probe = Sample("{response}", prompt="{prompt}")
        try:
            if self.rule == "pair":
                ids = self.tokenizer("{prompt}", "{response}")["input_ids"]
                return self.tokenizer.decode(ids)
            text = self.text(probe)
        except Exception:
            return None
        return text if isinstance(text, str) else None

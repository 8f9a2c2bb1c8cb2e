"""Chat-template markup read back into chat messages, so a reward model renders them its own way.

OpenRLHF with ``--apply_chat_template`` sends ``/get_reward`` prompts already rendered in the
*policy's* chat template. A reward model must read the conversation in *its* template, so
:func:`parse` turns the known markups back into ``[{"role", "content"}, ...]``:

- ``chatml`` (Qwen, Yi, Phi-4...): ``<|im_start|>ROLE\\n...<|im_end|>`` (or ``<|im_sep|>``
  after the role);
- ``llama3`` (Llama 3 to 3.3): ``<|start_header_id|>ROLE<|end_header_id|>\\n\\n...<|eot_id|>``;
- ``gemma`` (Gemma 1 to 3): ``<start_of_turn>ROLE\\n...<end_of_turn>``, ``model`` read as
  ``assistant``;
- ``phi3`` (Phi-3, 3.5): ``<|system|>``, ``<|user|>``, ``<|assistant|>`` then ``\\n...<|end|>``;
- ``deepseek`` (V3, R1 and its distills): ``SYSTEM<｜User｜>...<｜Assistant｜>...<｜end▁of▁sentence｜>``;
- ``inst`` (Mistral, Llama 2): ``[INST] ... [/INST] ...</s>``, with ``[SYSTEM_PROMPT]...[/SYSTEM_PROMPT]``
  (Mistral v7) or ``<<SYS>>\\n...\\n<</SYS>>`` (Llama 2) for the system prompt.

A family is recognised from its own marker (``<|im_start|>``, ``<|start_header_id|>``,
``<start_of_turn>``, ``<|user|>``, ``<｜User｜>``, ``[INST]``).

The rules, each where the markup leaves no doubt:

- the text must be turns of one family from start to end (a leading BOS, whitespace between
  turns and trailing EOS/padding tokens aside); text outside the turns, two families' markers,
  or a family's tool-call markers make it *not recognised*;
- the last turn may be open (no end marker): a prompt's generation header
  (``<|im_start|>assistant\\n``), or a whole query's response. :attr:`Conversation.open_text` is
  what follows that header: a generation prefix forced by the template (DeepSeek-R1's
  ``<think>\\n``), or the response;
- contents are as rendered (Llama 3 and Gemma templates trim them; ``[INST]`` templates pad them
  with spaces, which are stripped);
- system turns the policy's template writes *by itself* are dropped, since the conversation did
  not have them: Qwen's default system prompts (:data:`DEFAULT_SYSTEM_PROMPTS`, as the first
  turn; a system prompt given with exactly that text is dropped too) and Llama 3.1's
  ``Cutting Knowledge Date: ...\\nToday Date: ...\\n\\n`` preamble (a system turn left empty
  goes);
- where a template folds the system prompt into the first user turn (Gemma, Mistral v0.3), it
  stays in that user turn: the split is not recoverable.

:func:`markers` lists the special-token-looking pieces of a text, for the warning a caller gives
when a text has markup that :func:`parse` does not recognise. Tested in
``tests/test_serve_chat_markup.py`` (real templates rendered by transformers, parsed back).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: System prompts that chat templates add when the conversation has none (Qwen2.5, Qwen2).
DEFAULT_SYSTEM_PROMPTS = frozenset(
    {"You are Qwen, created by Alibaba Cloud. You are a helpful assistant.", "You are a helpful assistant."}
)
#: Begin-of-sequence tokens a rendered prompt may start with.
BOS_TOKENS = ("<|begin_of_text|>", "<｜begin▁of▁sentence｜>", "<bos>", "<s>", "<|startoftext|>")
#: End-of-sequence and padding tokens a rendered text may end with (outside any turn).
EOS_TOKENS = ("<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>", "<｜end▁of▁sentence｜>", "<pad>", "<|pad|>")
#: What looks like a chat template's special token: ``<|x|>``, ``<|x>``, ``<x|>``, DeepSeek's
#: full-width ``<｜x｜>``, Gemma's turn tags, Mistral's bracket tokens, Llama 2's ``<<SYS>>``.
MARKUP = re.compile(
    r"<\|[\w.\-]{1,40}\|?>|<[\w.\-]{1,40}\|>|<｜[^｜\n]{1,40}｜>|<(?:start|end)_of_turn>"
    r"|\[/?(?:INST|SYSTEM_PROMPT|AVAILABLE_TOOLS|TOOL_RESULTS|TOOL_CALLS|TOOL_CONTENT)\]|<</?SYS>>"
)
_LLAMA31_PREAMBLE = re.compile(r"\ACutting Knowledge Date: [^\n]*\nToday Date: [^\n]*\n\n")
_EMPTY_THINK = re.compile(r"\A\s*<think>\s*</think>\s*\Z")


class NotRecognised(ValueError):
    """The text has a family's markers but is not that family's turns from start to end."""


@dataclass
class Conversation:
    """A rendered conversation read back: its closed turns, and the open last turn if any."""

    family: str
    messages: list[dict[str, str]] = field(default_factory=list)
    #: The role of the last turn when it has no end marker (``"assistant"`` after a generation
    #: header), else ``None``.
    open_role: str | None = None
    #: What follows the open turn's header: a forced generation prefix, or a response.
    open_text: str = ""

    def generation_prefix(self) -> str:
        """The text a prompt's open assistant turn starts with, ``""`` for none or an empty
        ``<think></think>`` block (Qwen3 with thinking off: the template's, carrying nothing)."""
        return "" if _EMPTY_THINK.match(self.open_text) or not self.open_text.strip() else self.open_text


def markers(text: str) -> list[str]:
    """The distinct special-token-looking pieces of ``text``, in order of first appearance."""
    return list(dict.fromkeys(MARKUP.findall(text)))


def parse(text: str) -> Conversation | None:
    """``text`` read back as a conversation, or ``None`` when it has no known family's markers.

    Raises :class:`NotRecognised` (saying why) when it has them but is not made of that
    family's turns, or when it has more than one family's markers."""
    found = [name for name, marker, _ in _FAMILIES if marker in text]
    if not found:
        return None
    if len(found) > 1:
        raise NotRecognised(f"markers of several chat templates ({', '.join(found)})")
    name = found[0]
    reader = next(read for family, _, read in _FAMILIES if family == name)
    conversation = reader(text)
    conversation.family = name
    conversation.messages = _without_template_defaults(name, conversation.messages)
    return conversation


# -- the families ------------------------------------------------------------------------------


def _skip_bos(text: str, pos: int = 0) -> int:
    while True:
        for token in BOS_TOKENS:
            if text.startswith(token, pos):
                pos += len(token)
                break
        else:
            return pos


def _only_eos_left(text: str, pos: int) -> bool:
    rest = text[pos:].strip()
    while rest:
        for token in EOS_TOKENS:
            if rest.startswith(token):
                rest = rest[len(token) :].strip()
                break
        else:
            return False
    return True


def _headed(header: str, end: str, bos: bool = True, roles: dict[str, str] | None = None):
    """A reader for families whose turns are ``HEADER(role) content END``."""
    pattern = re.compile(header)

    def read(text: str) -> Conversation:
        conversation = Conversation("")
        pos = _skip_bos(text) if bos else 0
        while not _only_eos_left(text, pos):
            while text.startswith(("\n", " ", "\t", "\r"), pos):
                pos += 1
            match = pattern.match(text, pos)
            if match is None:
                shown = text[pos : pos + 30].replace("\n", "\\n")
                raise NotRecognised(f"text outside the turns at character {pos} ({shown!r})")
            role = (roles or {}).get(match.group(1), match.group(1))
            close = text.find(end, match.end())
            if close < 0:  # the open last turn
                conversation.open_role, conversation.open_text = role, text[match.end() :]
                return conversation
            conversation.messages.append({"role": role, "content": text[match.end() : close]})
            pos = close + len(end)
        return conversation

    return read


def _deepseek(text: str) -> Conversation:
    if "<｜tool" in text:
        raise NotRecognised("DeepSeek tool-call markers")
    user, assistant, end = "<｜User｜>", "<｜Assistant｜>", "<｜end▁of▁sentence｜>"
    conversation = Conversation("")
    pos = _skip_bos(text)
    first = text.find(user, pos)
    if first < 0:
        raise NotRecognised("no <｜User｜> turn")
    if text[pos:first]:
        conversation.messages.append({"role": "system", "content": text[pos:first]})
    pos = first
    while not _only_eos_left(text, pos):
        if text.startswith(user, pos):
            start = pos + len(user)
            stops = [i for i in (text.find(user, start), text.find(assistant, start)) if i >= 0]
            stop = min(stops) if stops else len(text)
            conversation.messages.append({"role": "user", "content": text[start:stop]})
            pos = stop
        elif text.startswith(assistant, pos):
            start = pos + len(assistant)
            close = text.find(end, start)
            if close < 0:
                conversation.open_role, conversation.open_text = "assistant", text[start:]
                return conversation
            conversation.messages.append({"role": "assistant", "content": text[start:close]})
            pos = close + len(end)
        else:
            raise NotRecognised(f"text outside the turns at character {pos}")
    return conversation


_INST_SYSTEM = re.compile(r"\s*\[SYSTEM_PROMPT\](.*?)\[/SYSTEM_PROMPT\]", re.S)
_LLAMA2_SYSTEM = re.compile(r"\s*<<SYS>>\n(.*?)\n<</SYS>>\n\n", re.S)


def _inst(text: str) -> Conversation:
    if re.search(r"\[/?(?:AVAILABLE_TOOLS|TOOL_RESULTS|TOOL_CALLS|TOOL_CONTENT)\]", text):
        raise NotRecognised("Mistral tool-call markers")
    conversation = Conversation("")
    pos = _skip_bos(text)
    system = _INST_SYSTEM.match(text, pos)
    if system:
        conversation.messages.append({"role": "system", "content": system.group(1).strip()})
        pos = system.end()
    while not _only_eos_left(text, pos):
        pos = _skip_bos(text, len(text) - len(text[pos:].lstrip()))
        if not text.startswith("[INST]", pos):
            raise NotRecognised(f"text outside the turns at character {pos}")
        close = text.find("[/INST]", pos)
        if close < 0:
            raise NotRecognised("an [INST] without its [/INST]")
        content = text[pos + len("[INST]") : close]
        llama2 = _LLAMA2_SYSTEM.match(content.lstrip(" "))
        if llama2 and not conversation.messages:
            conversation.messages.append({"role": "system", "content": llama2.group(1).strip()})
            content = content.lstrip(" ")[llama2.end() :]
        conversation.messages.append({"role": "user", "content": content.strip()})
        pos = close + len("[/INST]")
        stops = [i for i in (text.find("</s>", pos), text.find("[INST]", pos)) if i >= 0]
        if not stops or _only_eos_left(text, pos):
            conversation.open_role, conversation.open_text = "assistant", text[pos:].lstrip()
            if _only_eos_left(text, pos):
                conversation.open_text = ""
            return conversation
        stop = min(stops)
        conversation.messages.append({"role": "assistant", "content": text[pos:stop].strip()})
        pos = stop + (len("</s>") if text.startswith("</s>", stop) else 0)
    return conversation


_FAMILIES = (
    ("chatml", "<|im_start|>", _headed(r"<\|im_start\|>([^\n<|]+?)(?:\n|<\|im_sep\|>)", "<|im_end|>")),
    ("llama3", "<|start_header_id|>", _headed(r"<\|start_header_id\|>([^<\n]+?)<\|end_header_id\|>\n\n", "<|eot_id|>")),
    ("gemma", "<start_of_turn>", _headed(r"<start_of_turn>(\w+)\n", "<end_of_turn>", roles={"model": "assistant"})),
    ("phi3", "<|user|>", _headed(r"<\|(system|user|assistant)\|>\n", "<|end|>")),
    ("deepseek", "<｜User｜>", _deepseek),
    ("inst", "[INST]", _inst),
)


def _without_template_defaults(family: str, messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """``messages`` without the system turns the template wrote by itself (see the module doc)."""
    if not messages or messages[0]["role"] != "system":
        return messages
    first = messages[0]["content"]
    if family == "chatml" and first in DEFAULT_SYSTEM_PROMPTS:
        return messages[1:]
    if family == "llama3":
        rest = _LLAMA31_PREAMBLE.sub("", first, count=1)
        if rest != first:
            return messages[1:] if not rest.strip() else [{"role": "system", "content": rest}, *messages[1:]]
    return messages

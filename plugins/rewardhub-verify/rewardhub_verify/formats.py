"""Format rewards: ``think_format`` (TRL's definition) and ``regex_format`` (any pattern).

``think_format`` is 1.0 when the response opens with ``<think>``, has no second ``<think>``,
and closes the block with ``</think>``; else 0.0. It is TRL's ``think_format_reward``, the same
pattern and flags (``^<think>(?!.*<think>)(.*?)</think>.*$`` with DOTALL and MULTILINE), so
the quirks are TRL's too: leading whitespace fails, an empty answer after ``</think>`` passes.
An agreement test calls ``trl.rewards.think_format_reward`` on the same texts.

``regex_format`` is 1.0 when ``pattern`` matches the response (``re.match`` by default, with
DOTALL and MULTILINE as open-r1's ``format_reward`` uses them), else 0.0; the default pattern
is open-r1's ``<think>`` + ``<answer>`` format, :data:`OPEN_R1_FORMAT`.

Tested in ``tests/test_formats.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import rewardhub
from rewardhub_verify._version import __version__

THINK_PATTERN = r"^<think>(?!.*<think>)(.*?)</think>.*$"
#: open-r1's ``format_reward``: reasoning in <think>, then the answer in <answer>, each on its own lines.
OPEN_R1_FORMAT = r"^<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>$"
MODES = ("match", "fullmatch", "search")


def _flags(names: Sequence[str]) -> re.RegexFlag:
    flags = re.RegexFlag(0)
    for name in names:
        flag = getattr(re.RegexFlag, str(name).upper(), None)
        if not isinstance(flag, re.RegexFlag):
            raise ValueError(f"unknown regex flag {name!r}: use names like DOTALL, MULTILINE, IGNORECASE")
        flags |= flag
    return flags


class RegexFormat(rewardhub.Reward):
    """1.0 when ``pattern`` matches the response, else 0.0.

    :param pattern: a Python regular expression; default open-r1's ``format_reward`` pattern
        (:data:`OPEN_R1_FORMAT`: ``<think>``, then ``<answer>``, each tag on its own line).
    :param mode: ``"match"`` (anchored at the start, as open-r1 and TRL), ``"fullmatch"`` or ``"search"``.
    :param flags: regex flag names (default DOTALL and MULTILINE, as open-r1 and TRL).
    """

    name = "regex_format"
    version = __version__
    description = "1 if the response matches a regular expression, else 0"
    inputs = ("response",)
    kind = "format"  # 0 on any text not written in the format: a choice, not a measure
    batch_size = 4096
    pure_python = True

    def __init__(
        self, pattern: str = OPEN_R1_FORMAT, mode: str = "match", flags: Sequence[str] = ("DOTALL", "MULTILINE")
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if isinstance(flags, str):
            flags = [f for f in re.split(r"[\s,|]+", flags) if f]
        try:
            self.regex = re.compile(pattern, _flags(flags))
        except re.error as exc:
            raise ValueError(f"bad pattern {pattern!r}: {exc}") from None
        self.pattern, self.mode = pattern, mode
        self._test = getattr(self.regex, mode)

    def score(self, samples: Sequence[rewardhub.Sample]) -> list[float]:
        return [1.0 if self._test(s.response) else 0.0 for s in samples]


class ThinkFormat(RegexFormat):
    """1.0 when the response is one ``<think>...</think>`` block at the start, then the answer
    (TRL's ``think_format_reward``), else 0.0."""

    name = "think_format"
    description = "1 if the response opens with one <think>...</think> block (TRL's think_format_reward), else 0"

    def __init__(self) -> None:
        super().__init__(THINK_PATTERN)

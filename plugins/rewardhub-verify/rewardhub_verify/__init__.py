"""rewardhub plugin: verifiable rewards for RL on reasoning, math and code.

- ``math_accuracy``: the response's final answer equals ``reference`` (math-verify), run in
  worker processes with a per-sample deadline (:mod:`.math_accuracy`, :mod:`.pool`), the
  reference read as datasets ship it (:mod:`.math_references`), math-verify's options as args
  (:mod:`.math_options`);
- ``think_format`` (TRL's definition, a prefilled ``<think>`` counted) and ``regex_format``
  (any pattern) (:mod:`.formats`), on RE2 or under a deadline (:mod:`.regex_engine`);
- ``soft_overlong`` (DAPO's soft overlong punishment) and ``length`` (:mod:`.length`);
- ``code_tests``: the share of the reference's tests the response's code passes, in a
  sandbox (:mod:`.code`).

Importing this package imports neither math-verify nor sympy: they load in the workers.
"""

from __future__ import annotations

import rewardhub
from rewardhub_verify._version import __version__
from rewardhub_verify.code.reward import CodeTests
from rewardhub_verify.formats import RegexFormat, ThinkFormat
from rewardhub_verify.length import Length, SoftOverlong
from rewardhub_verify.math_accuracy import MathAccuracy

__all__ = ["CodeTests", "Length", "MathAccuracy", "RegexFormat", "SoftOverlong", "ThinkFormat", "__version__"]


@rewardhub.hookimpl
def register_rewards(register):
    for reward in (MathAccuracy, ThinkFormat, RegexFormat, SoftOverlong, Length, CodeTests):
        register(reward)

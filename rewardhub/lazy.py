"""numpy, imported when first used: ``from rewardhub.lazy import np``.

Every metric module (and the plugins' model modules) is imported at start-up, to register
what it provides, but a run without metrics never touches numpy, and importing it costs a
noticeable share of a short ``eval`` (start-up in ``benchmarks/README_startup.md``). ``np`` here
imports numpy on its first attribute read (thread safe: Python's
import lock) and remembers each attribute it forwards, so later reads are plain lookups.
Type checkers see numpy itself. Tested in ``tests/test_cli_subprocess.py``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any


class LazyModule:
    """A module imported on the first attribute read."""

    def __init__(self, name: str) -> None:
        self.__dict__["_name"] = name

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(importlib.import_module(self._name), attribute)
        self.__dict__[attribute] = value
        return value

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


if TYPE_CHECKING:
    import numpy as np
else:
    np = LazyModule("numpy")

__all__ = ["LazyModule", "np"]

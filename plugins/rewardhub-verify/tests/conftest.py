"""The verify plugin's tests: ``sandbox_support`` (what the sandbox attack tests share) is
importable from this folder, and ``world_dir`` is a directory any user may use."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sandbox_support import world_directory


@pytest.fixture
def world_dir():
    """A directory any user may read, write and connect in (so only the sandbox keeps the code out)."""
    yield from world_directory()

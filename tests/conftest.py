"""Shared fixtures: paths to data, throwaway plugins, fake installed distributions."""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
from pathlib import Path

import pytest

from rewardhub import plugins

# Tests use local models only; never wait on a model hub this machine cannot reach.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
EVALDATA = ROOT / "evaldata"
REALDATA = ROOT.parent / "shared" / "realdata"


@pytest.fixture
def evaldata() -> Path:
    return EVALDATA


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata is not present")
    return REALDATA


@pytest.fixture(autouse=True)
def _fresh_plugins():
    """Every test sees the plugins as installed, with no leftovers from another test."""
    plugins.reset()
    yield
    for name in list(plugins._extra):
        plugins.remove(name)
    plugins.reset()


@pytest.fixture
def register_plugin():
    """Register a throwaway plugin object for one test: ``register_plugin(obj, "name")``."""
    return plugins.add


@pytest.fixture
def fake_distribution(tmp_path, monkeypatch):
    """Make a distribution 'installed' for this process: a module and a dist-info on sys.path.

    ``fake_distribution("dist-name", "module_name", code)`` writes ``module_name.py`` with
    ``code`` and a ``.dist-info`` whose entry point (group ``rewardhub``) points at it, then
    returns the folder, which can also go on a subprocess's PYTHONPATH.
    """
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def make(dist: str, module: str, code: str, version: str = "1.0") -> Path:
        (site / f"{module}.py").write_text(textwrap.dedent(code))
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[rewardhub]\n{module} = {module}\n")
        sys.modules.pop(module, None)
        importlib.invalidate_caches()
        plugins.reset()
        return site

    return make

"""The plugin distributions are alike (issue 18, item 8): each keeps its version in one place (its
``_version.py``, which ``pyproject.toml`` reads), each has a ``[test]`` extra (what CI installs
it with), and the host's own tests do not depend on any of them: a test that needs a plugin in
plugins/ skips when it is not installed (the host's tests use ``rewardhub-testing``, a
throwaway plugin of tests/conftest.py)."""

from __future__ import annotations

import importlib
import re

import pytest

from tests.conftest import ROOT

tomllib = pytest.importorskip("tomllib")  # (Python 3.11+)

DISTRIBUTIONS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file())
#: A test naming the entropy plugin's reward or importing the plugin.
USES_ENTROPY = re.compile(r"""rewardhub_entropy|["'](entropy)(:[\d.]+)?["']|["'\s,=](entropy)[,:]""")


@pytest.mark.parametrize("folder", [ROOT, *DISTRIBUTIONS], ids=lambda p: p.name)
def test_the_version_is_in_one_place(folder):
    project = tomllib.loads((folder / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    module, _, name = attr.rpartition(".")
    assert module.endswith("._version") and name == "__version__"
    package = folder / module.split(".")[0]
    literal = re.compile(r'^__version__ = "', re.M)
    assert [p.name for p in package.rglob("*.py") if literal.search(p.read_text())] == ["_version.py"]
    assert importlib.import_module(module.split(".")[0]).__version__ == importlib.import_module(module).__version__


@pytest.mark.parametrize("folder", DISTRIBUTIONS, ids=lambda p: p.name)
def test_every_plugin_has_a_test_extra(folder):
    project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    test = project.get("optional-dependencies", {}).get("test")
    assert test and any(requirement.startswith("pytest") for requirement in test)


def test_the_host_tests_need_no_plugin_of_plugins():
    needing = []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        if path.name == "test_layering.py":  # lints every package, and skips where one is missing
            continue
        if path.name == "test_readme.py":  # the README's main job installs it: checked only where installed
            continue
        text = path.read_text()
        if USES_ENTROPY.search(text) and 'importorskip("rewardhub_entropy")' not in text:
            needing.append(path.name)
    assert needing == []

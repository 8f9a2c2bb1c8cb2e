"""The house rules that can be checked mechanically (issue 18, item 6): module docstrings name
test files that exist, docstrings state promises rather than timings (timings go stale: they
live in ``benchmarks/``), no host module grows past ~400 lines, and the built-in plugin
registers every built-in reward and metric."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from rewardhub.host import registry as plugins
from tests.conftest import ROOT

HOST = ROOT / "rewardhub"
PACKAGES = [HOST, *sorted(p for p in (ROOT / "plugins").glob("*/rewardhub_*") if p.is_dir())]
#: A measured duration or speed-up: "0.12 s", "3 ms", "5 to 8 times faster", "7x slower", "rows/s".
TIMING = re.compile(
    r"\b\d[\d,.]*\s?(ms|µs|ns|s|CPU-s|seconds?|minutes?)\b(?! (per|each|of))|\b\d+(\.\d+)?\s?(x|times) (faster|slower)"
    r"|\bfaster than\b|\d\s?rows/s",
    re.IGNORECASE,
)


def _docstrings(path: Path):
    tree = ast.parse(path.read_text())
    for node in [tree, *ast.walk(tree)]:
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node)
            if doc:
                yield getattr(node, "lineno", 1), doc


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_cited_test_files_exist(package):
    missing = []
    for path in sorted(package.rglob("*.py")):
        for _, doc in _docstrings(path):
            for cited in re.findall(r"(?:plugins/[\w-]+/)?tests/[\w/]+\.py", doc):
                if not any((base / cited).is_file() for base in (ROOT, package.parent)):
                    missing.append(f"{path.relative_to(ROOT)} cites {cited}")
    assert missing == []


def test_docstrings_hold_no_timings():
    found = []
    for path in sorted(HOST.rglob("*.py")):
        for line_no, doc in _docstrings(path):
            for line in doc.splitlines():
                if TIMING.search(line) and "benchmarks/" not in line:
                    found.append(f"{path.relative_to(ROOT)}:{line_no}: {line.strip()}")
    assert found == []


def test_no_host_module_over_about_400_lines():
    long = [f"{p.relative_to(ROOT)}: {n}" for p in HOST.rglob("*.py") if (n := len(p.read_text().splitlines())) > 420]
    assert long == []


def test_the_builtin_plugin_registers_every_builtin():
    from rewardhub.metrics import METRICS
    from rewardhub.rewards import REWARDS

    registry = plugins.registry()
    builtin = next(p for p in registry.plugins if p.name == "rewardhub.default_plugins.diversity")
    assert sorted(builtin.metrics) == sorted(m.name for m in METRICS)
    assert sorted(builtin.rewards) == sorted(r.name for r in REWARDS)
    assert len(builtin.metrics) + len(builtin.rewards) == 14
    assert all(registry.metrics[m.name].distribution == "rewardhub" for m in METRICS)
    doc = (HOST / "default_plugins" / "diversity.py").read_text()
    assert "METRICS" in doc and "REWARDS" in doc  # names the lists, so it cannot fall behind them

"""Layering, enforced (issue 18, item 7): ``lint-imports`` keeps pyproject.toml's contracts (the
host imports no model library, layers never import upward, the eval path goes one way, no
cycles between siblings), the import graph it checks holds function-local imports too, and no
two modules of the host or its plugins import each other, even through others."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

grimp = pytest.importorskip("grimp")
PLUGINS = ["rewardhub_entropy", "rewardhub_safety", "rewardhub_semantic", "rewardhub_clip", "rewardhub_verify"]
PACKAGES = ["rewardhub", *PLUGINS]
#: pyproject.toml's contracts read every plugin package: installed, as CI installs them.
INSTALLED = all(importlib.util.find_spec(name) is not None for name in PLUGINS)


@pytest.mark.skipif(not INSTALLED, reason="the contracts read every plugin package in plugins/")
def test_lint_imports_keeps_every_contract():
    command = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    done = subprocess.run([command], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_the_graph_holds_function_local_imports():
    graph = grimp.build_graph("rewardhub", exclude_type_checking_imports=True)
    # imported inside a function, when a run names an hf: tokenizer
    assert "rewardhub.text.hub" in graph.find_modules_directly_imported_by("rewardhub.text.tokenizers")


def _cycles(graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles_between_modules():
    """Also between a package and its own modules (a parent's __init__ and a child importing it
    back), which the siblings contract does not see."""
    packages = [name for name in PACKAGES if importlib.util.find_spec(name) is not None]
    graph = grimp.build_graph(*packages, exclude_type_checking_imports=True)
    assert _cycles(graph) == []

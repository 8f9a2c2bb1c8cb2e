"""The README is the front door: short, its set-up commands true, its links alive. Its code
blocks are run and parsed by ``tests/test_docs.py`` with the docs pages'."""

from __future__ import annotations

import glob
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def bash_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", README, flags=re.S)


def test_the_readme_is_a_front_door():
    assert len(README.splitlines()) <= 250


def test_ci_runs_the_readme_test_command_verbatim():
    [test_command] = [b.strip() for b in bash_blocks() if "pytest" in b and b.startswith("python3 -m venv")]
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_every_plugin_distribution_is_installed_by_the_test_command():
    [test_command] = [b.strip() for b in bash_blocks() if "pytest" in b and b.startswith("python3 -m venv")]
    for plugin in sorted((ROOT / "plugins").iterdir()):
        if (plugin / "pyproject.toml").is_file():
            assert f"plugins/{plugin.name}" in test_command, plugin.name


def test_the_main_job_command_runs_eval_on_evaldata():
    """The main job's set-up command, its ``rewardhub eval`` part run for real here (the
    install part is what ``.ci/run`` does on a fresh machine)."""
    jobs = [b.strip() for b in bash_blocks() if "rewardhub eval evaldata" in b and b.startswith("python3")]
    [main_job] = [b for b in jobs if "download.pytorch.org" not in b]
    [cpu_job] = [b for b in jobs if "download.pytorch.org" in b]  # the same job with CPU torch first
    cpu_torch = " .venv/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu &&"
    assert cpu_job.replace(cpu_torch, "") == main_job
    install, _, run = main_job.rpartition(" && ")
    assert install.startswith("python3 -m venv .venv && .venv/bin/pip install -e . ")
    for plugin in ("rewardhub-entropy", "rewardhub-safety", "rewardhub-semantic"):
        assert f"-e plugins/{plugin}" in install
    words = shlex.split(run)
    assert words[0] == ".venv/bin/rewardhub" and words[1:3] == ["eval", "evaldata/*.jsonl"]
    files = sorted(glob.glob(str(ROOT / words[2])))
    assert files, "evaldata/*.jsonl matches nothing"
    rewardhub = [sys.executable, "-m", "rewardhub"]
    result = subprocess.run(
        [*rewardhub, *words[1:2], *files, *words[3:], "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    import json

    summary = json.loads(result.stdout)
    assert summary["n"] == 36 and summary["errors"] == 0
    assert {"diversity_bonus", "repetition_penalty", "length"} <= set(summary["rewards"])
    for name, module in (("entropy", "rewardhub_entropy"), ("toxicity", "rewardhub_safety")):
        if _installed(module):
            assert summary["rewards"][name]["mean"] is not None
    assert summary["metrics"]["distinct_2"] > 0 and "by_group/distinct_2" in summary["metrics"]


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.mark.parametrize("target", sorted(set(re.findall(r"\]\(([^)#\s]+)\)", README))))
def test_links_lead_somewhere(target):
    if re.match(r"^[a-z]+://", target):
        return  # the web: not checked offline
    assert (ROOT / target).exists(), target


def test_the_docs_site_lists_every_page():
    mkdocs = (ROOT / "mkdocs.yml").read_text()
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    listed = set(re.findall(r"([\w-]+\.md)", mkdocs))
    assert pages == listed, sorted(pages ^ listed)


def test_docs_pages_are_not_left_behind_in_the_readme():
    assert "../shared" not in README  # a newcomer has no ../shared
    assert Path(ROOT / "docs" / "index.md").is_file()

"""The README is a product: its commands and snippets must stay true."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def bash_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", README, flags=re.S)


def test_ci_runs_the_readme_test_command_verbatim():
    [test_command] = [b.strip() for b in bash_blocks() if "pytest" in b and b.startswith("python3 -m venv")]
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_the_main_job_command_runs_eval_on_evaldata():
    [main_job] = [b.strip() for b in bash_blocks() if "rewardhub eval evaldata" in b and b.startswith("python3")]
    assert main_job.startswith("python3 -m venv .venv && .venv/bin/pip install -e . ")


def test_the_python_api_snippet_runs():
    pytest.importorskip("rewardhub_entropy")  # the README's snippet scores with the entropy plugin
    snippet = next(b for b in re.findall(r"```python\n(.*?)```", README, flags=re.S) if "Scorer([" in b)
    result = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "'entropy':" in result.stdout and "'entropy_chars':" in result.stdout


#: Snippets that train a hub model: they need the network, so CI cannot run them as written
#: (examples/grpo_trl.py and examples/dpo_trl.py run the same code on a tiny local model).
NEEDS_THE_HUB = ("Qwen/",)

def test_every_python_snippet_that_needs_no_network_runs_as_written(monkeypatch, capsys):
    """Each README python block, verbatim, in a fresh namespace: `import rewardhub` then
    `rewardhub.io.read_samples(...)`, the Scorer API, the `evaluate` modules, a plugin module.
    In this process, so modules other tests import already (evaluate, datasets) load once."""
    pytest.importorskip("rewardhub_entropy")  # the README's snippets score with the entropy plugin
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    offline = [b for b in blocks if not any(marker in b for marker in NEEDS_THE_HUB)]
    assert len(offline) >= 4 and any("rewardhub.io.read_samples" in b for b in offline)
    monkeypatch.chdir(ROOT)
    for i, block in enumerate(offline):
        exec(compile(block, f"<README python block {i}>", "exec"), {"__name__": f"readme_block_{i}"})
    assert "21 How do I reset my router? -> " in capsys.readouterr().out

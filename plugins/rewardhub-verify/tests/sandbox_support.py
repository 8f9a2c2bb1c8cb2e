"""What the sandbox attack tests share: the limits, the code under test, the hostile pair
(a forger and its victim), and a reward built with a given sandbox. Used by
``test_sandbox_attacks.py`` and ``test_sandbox_fallback.py``."""

from __future__ import annotations

import shutil
import tempfile
import uuid
import warnings
from pathlib import Path

import pytest
from rewardhub_verify import CodeTests
from rewardhub_verify.code.sandbox import LocalSandbox

LIMITS = {"timeout": 10, "cpu_seconds": 10, "memory_mb": 512, "processes": 16, "file_size_mb": 4}
ADD_TESTS = "assert add(1, 2) == 3\nassert add(2, 2) == 4\nassert add(-1, 1) == 0\n"
PLUGIN = Path(__file__).resolve().parents[1]


def fenced(code: str) -> str:
    return f"```python\n{code}\n```"


def needs_namespaces() -> LocalSandbox:
    sandbox = LocalSandbox()
    if not sandbox.use_namespaces:
        pytest.skip(f"no user namespaces here ({sandbox.without_namespaces}): docs/sandbox.md says what remains")
    return sandbox


def code_tests(namespaces: bool | None = None, workers: int = 1, **limits) -> CodeTests:
    """The reward with the test limits and a sandbox (warning about missing namespaces muted)."""
    reward = CodeTests(workers=workers, **{**LIMITS, **limits})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reward._sandbox = LocalSandbox(reward.limits, namespaces=namespaces)
    return reward


def world_directory():
    """A directory any user may read, write and connect in, removed afterwards (a generator:
    ``conftest.world_dir`` yields from it)."""
    path = Path(tempfile.mkdtemp(prefix="rewardhub-attack-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)



#: The victim: a wrong ``add`` that marks its working directory (so the forger can find it,
#: and nothing but it) and takes its time, so the forger runs beside it.
VICTIM = "import time\nopen('victim-{marker}', 'w').close()\ntime.sleep(1.5)\ndef add(a, b):\n    return a - b\n"
#: For four seconds: rewrites the victim's results where it can find them (main's layout,
#: /tmp/rewardhub-sandbox-*/results.jsonl, replaced atomically so the victim's own writes go
#: to a dead file) and writes forged lines into every descriptor of the victim's processes.
#: It touches nothing but processes and directories that carry the victim's marker.
FORGER = """
import glob, json, os, time
fake = "".join(json.dumps({{"test": i, "passed": True, "error": None}}) + "\\n" for i in range(10))
fake += json.dumps({{"done": True}}) + "\\n"
def marked(directory):
    return os.path.exists(os.path.join(directory, "victim-{marker}"))
end = time.time() + 4
while time.time() < end:
    for results in glob.glob("/tmp/rewardhub-sandbox-*/results.jsonl"):
        if marked(os.path.dirname(results)):
            try:
                with open(results + ".forged", "w") as f:
                    f.write(fake)
                os.replace(results + ".forged", results)
            except OSError:
                pass
    for proc in glob.glob("/proc/[0-9]*"):
        try:
            if not marked(os.readlink(proc + "/cwd")):
                continue
            descriptors = os.listdir(proc + "/fd")
        except OSError:
            continue
        for fd in descriptors:
            try:
                with open(f"{{proc}}/fd/{{fd}}", "a") as f:
                    f.write(fake)
            except OSError:
                pass
    time.sleep(0.005)
"""


def forger_and_victim() -> tuple[str, str]:
    marker = uuid.uuid4().hex[:12]
    return fenced(FORGER.format(marker=marker)), fenced(VICTIM.format(marker=marker))

"""Two ``compare`` (or ``report``) runs on the same raw file in one directory at the same time:
the second waits for the first one's scoring and reuses it, instead of dying on the scoring
lock. Real subprocesses started together; a reward that takes seconds keeps the first one
scoring while the second arrives."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import EVALDATA, SERVE_TESTING_PLUGIN


def start(command: list[str], cwd, env) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_runs_on_one_raw_file_share_one_scoring(tmp_path, fake_distribution):
    site = fake_distribution("rewardhub-serve-testing", "rh_serve_testing", SERVE_TESTING_PLUGIN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    config = tmp_path / "slow.yaml"
    config.write_text("rewards:\n  - {name: sleepy, args: {seconds: 4}}\nmetrics: [distinct]\n")
    data = tmp_path / "raw.jsonl"
    data.write_text((EVALDATA / "chat_en.jsonl").read_text())
    compare = [sys.executable, "-m", "rewardhub", "compare", str(data), str(data), "--config", str(config), "--json"]
    report = [sys.executable, "-m", "rewardhub", "report", str(data), "--config", str(config), "-o", "page.html"]
    runs = [start(compare, tmp_path, env), start(compare, tmp_path, env), start(report, tmp_path, env)]
    outputs = [run.communicate(timeout=600) for run in runs]
    for run, (_, err) in zip(runs, outputs):
        assert run.returncode == 0, err
        assert "Traceback" not in err
    scored = sorted(p.name for p in (tmp_path / ".rewardhub" / "scored").glob("*.jsonl"))
    assert len(scored) == 1  # one scoring for all three runs
    messages = "".join(err for _, err in outputs)
    assert messages.count("rewardhub: scoring ") == 1 and "waiting for another rewardhub run" in messages
    assert messages.count("scored by another rewardhub run") == 2
    assert json.loads(outputs[0][0]) == json.loads(outputs[1][0])
    assert (tmp_path / "page.html").is_file()

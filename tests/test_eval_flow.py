"""``eval`` goes one way (issue 18, item 1): the command line's options become one plan, the
plan's backend scores every row through the one row path, and the sink journals the lines.

- following one run through ``rewardhub eval`` (command line -> plan -> backend -> row path ->
  engine -> writer), every call between the host's modules goes down the layers that
  ``lint-imports`` enforces: no module calls back into one above it;
- the local and Ray backends build their scorers and metrics from the same plan, and Ray's
  checks refuse before the output is locked (a run another process writes is refused for
  what Ray cannot do, not for the lock);
- Ray's driver journals the lines the actors serialised, without parsing and serialising
  each one again.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from rewardhub.cli import cli
from rewardhub.config import ConfigError
from rewardhub.evaluate import EvalOptions, evaluate_files, plan_run
from tests.conftest import EVALDATA, ROOT

tomllib = pytest.importorskip("tomllib")  # (Python 3.11+)

#: The path one row takes through ``eval``: the functions it passes, in the order first entered.
ROW_PATH = [
    "rewardhub.cli.eval:eval_command",
    "rewardhub.evaluate.run:evaluate_files",
    "rewardhub.evaluate.plan:plan_run",
    "rewardhub.evaluate.backends.local:LocalBackend.run",
    "rewardhub.evaluate.row_path:RowScorer.score",
    "rewardhub.engine.scorer:Scorer.score",
    "rewardhub.evaluate.sink:RunSink.write",
    "rewardhub.io.writer:ResumableWriter.write_lines",
]
#: The host's own rewards and metrics are plugins: calling them is dispatch, not a dependency.
PLUGIN_CODE = ("rewardhub.rewards", "rewardhub.metrics", "rewardhub.default_plugins")


def _layers() -> dict[str, int]:
    """Each room of ``rewardhub`` -> its layer's rank (0 the top), from pyproject.toml's contract."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c.get("containers") == ["rewardhub"])
    return {name.strip(): rank for rank, layer in enumerate(contract["layers"]) for name in layer.split("|")}


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "rewardhub" and len(parts) > 1 else None


def _trace(argv: list[str]) -> tuple[list[str], set[tuple[str, str]]]:
    """Run the CLI in this process, recording the host functions entered (in order) and which
    host modules call which."""
    first: list[str] = []
    edges: set[tuple[str, str]] = set()

    def profile(frame, event, arg):
        if event != "call":
            return
        callee = frame.f_globals.get("__name__", "")
        caller = frame.f_back.f_globals.get("__name__", "") if frame.f_back else ""
        if callee.startswith("rewardhub"):
            function = f"{callee}:{frame.f_code.co_qualname}"
            if function not in first:
                first.append(function)
            if caller.startswith("rewardhub") and caller != callee:
                edges.add((caller, callee))

    sys.setprofile(profile)
    try:
        result = CliRunner().invoke(cli, argv)
    finally:
        sys.setprofile(None)
    assert result.exit_code == 0, result.output
    return first, edges


def test_one_row_through_eval_never_calls_back_up(tmp_path):
    source = tmp_path / "one.jsonl"
    source.write_text('{"prompt": "Say hi", "response": "hi there, hi"}\n')
    out = tmp_path / "out.jsonl"
    argv = ["eval", str(source), "--rewards", "repetition_penalty", "--metrics", "distinct", "-o", str(out), "-q"]
    first, edges = _trace(argv)
    rank = _layers()
    upward = []
    for caller, callee in edges:
        if callee.startswith(PLUGIN_CODE) and callee != "rewardhub.metrics.runner":
            continue  # dispatch into a plugin's code
        room_from, room_to = _room(caller), _room(callee)
        if room_from in rank and room_to in rank and rank[room_to] < rank[room_from]:
            upward.append(f"{caller} -> {callee}")
        if room_from == room_to == "evaluate" and _evaluate_rank(callee) < _evaluate_rank(caller):
            upward.append(f"{caller} -> {callee}")
    assert sorted(upward) == [], "\n".join(sorted(upward))
    entered = [m for m in first if m in ROW_PATH]
    assert entered == ROW_PATH
    assert out.read_text().count("\n") == 1


def _evaluate_rank(module: str) -> int:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c.get("containers") == ["rewardhub.evaluate"])
    tail = module.removeprefix("rewardhub.evaluate").lstrip(".").split(".")[0]
    for number, layer in enumerate(contract["layers"]):
        if tail in {name.strip() for name in layer.split("|")}:
            return number
    return len(contract["layers"])  # the package itself


def test_the_plan_is_the_one_description_both_backends_build_from(tmp_path):
    plan = plan_run([EVALDATA / "chat_en.jsonl"], EvalOptions(rewards="token_entropy:0.5,diversity_bonus", timeout=30))
    try:
        assert plan.grouped  # diversity_bonus is group aware: whole groups, on every backend
        workers = plan.scorer_factory()  # what a Ray actor builds
        try:
            assert workers.describe() == plan.scorer.describe()
            assert workers.timeout == plan.scorer.timeout == 30
            assert workers.cache_size == plan.scorer.cache_size
        finally:
            workers.close()
        assert [c.key for c in plan.metrics_factory().components] == [c.key for c in plan.metrics().components]
    finally:
        plan.close()


HOLD_THE_LOCK = """
import sys, time
from rewardhub.io import output_lock
with output_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_ray_refuses_what_it_cannot_run_before_the_output_is_locked(tmp_path):
    out = tmp_path / "out.jsonl"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLD_THE_LOCK), str(out)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        options = EvalOptions(rewards="repetition_penalty", output=out, resume=True, backend="ray")
        with pytest.raises(ConfigError, match="--resume is not supported with --backend ray"):
            evaluate_files([EVALDATA / "chat_en.jsonl"], options)
    finally:
        holder.kill()
        holder.wait()


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    from rewardhub.evaluate.backends import ray_connect

    ray_connect.connect(ray_connect.RaySettings(actors=2))
    yield ray


@pytest.mark.slow
def test_the_ray_driver_journals_the_lines_as_the_actors_wrote_them(ray_cluster, tmp_path, monkeypatch):
    from rewardhub.io import writer

    serialised: list[int] = []
    dumps = writer.dumps
    monkeypatch.setattr(writer, "dumps", lambda row: serialised.append(1) or dumps(row))
    paths = [EVALDATA / "chat_en.jsonl"]
    outputs = {}
    for backend in ("ray", "local"):
        outputs[backend] = tmp_path / f"{backend}.jsonl"
        options = EvalOptions(rewards="repetition_penalty", metrics="none", output=outputs[backend], backend=backend)
        evaluate_files(paths, options)
        if backend == "ray":
            assert serialised == []  # the driver wrote what came back, serialised once, by an actor
    assert Path(outputs["ray"]).read_bytes() == Path(outputs["local"]).read_bytes()

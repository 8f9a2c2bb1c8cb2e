"""The Ray backend against a real local Ray cluster (one start per test session): the same
output bytes, summary, metrics and sidecar as the local backend; a clear error without Ray."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from rewardhub.cli import cli
from rewardhub.evaluate import EvalOptions, evaluate_files
from rewardhub.io import sidecar_path
from tests.conftest import EVALDATA

BUILTIN = ["distinct", "distinct_avg", "ngram_entropy", "repetition", "self_bleu"]


@pytest.fixture(scope="session")
def ray_cluster():
    ray = pytest.importorskip("ray")
    from rewardhub.evaluate.backends import ray_connect as ray_backend

    ray_backend.connect(ray_backend.RaySettings(actors=2))
    yield ray
    ray.shutdown()


def _sidecar(path):
    document = json.loads(sidecar_path(path).read_text())
    document.pop("created")  # the time of the run
    document["output"].pop("path")  # local.jsonl / ray.jsonl
    return document


@pytest.mark.slow
def test_ray_writes_what_local_writes(ray_cluster, tmp_path):
    paths = [EVALDATA / "chat_en.jsonl", EVALDATA / "conversations.jsonl"]
    results = {}
    for backend in ("local", "ray"):
        out = tmp_path / f"{backend}.jsonl"
        options = EvalOptions(
            rewards="token_entropy,diversity_bonus",
            metrics=BUILTIN,
            by_group=True,
            output=out,
            chunk_size=4,
            backend=backend,
        )
        results[backend] = (evaluate_files(paths, options), out)
    (local, local_out), (ray, ray_out) = results["local"], results["ray"]
    assert ray_out.read_bytes() == local_out.read_bytes()
    assert ray.summary == local.summary  # rewards, by-group and whole-set metrics, to the bit
    assert ray.metric_errors == local.metric_errors == {}
    assert _sidecar(ray_out) == _sidecar(local_out)


def test_without_ray_the_backend_is_a_one_line_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed: import ray fails
    result = CliRunner().invoke(
        cli, ["eval", str(EVALDATA / "chat_en.jsonl"), "--rewards", "token_entropy", "--backend", "ray", "--quiet"]
    )
    assert result.exit_code != 0
    lines = [line for line in result.output.strip().splitlines() if line]
    assert len(lines) == 1 and 'pip install "rewardhub[ray]"' in lines[0]

"""Every input format the local backend reads, the Ray backend reads, writing the same bytes
(issue 17.14): JSONL, plain text (``.txt``) and JSON arrays (``.json``), alone and together,
row by row and in whole groups, with their bad rows skipped alike. A real local Ray."""

from __future__ import annotations

import json

import pytest

from rewardhub.evaluation import EvalOptions, evaluate_files
from rewardhub.io import sidecar_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    from rewardhub.backends import ray as ray_backend

    started = not ray.is_initialized()
    ray_backend.connect(ray_backend.RaySettings(actors=2))
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture
def inputs(tmp_path):
    """One file per format, each with a blank line and one bad row among good ones."""
    answers = [
        "The capital of France is Paris.",
        "Paris, on the Seine, is the capital of France.",
        "Der Rhein fließt durch Basel — und dann nach Norden.",
        "东京是日本的首都。",
        "Water boils at 100 degrees Celsius at sea level.",
        "At sea level water boils at 100 °C; higher up it boils sooner.",
    ]
    jsonl = tmp_path / "answers.jsonl"
    rows = [
        json.dumps({"id": f"a{i}", "prompt": f"q{i % 3}", "response": a}, ensure_ascii=False)
        for i, a in enumerate(answers)
    ]
    rows.insert(3, "")
    rows.insert(5, '{"prompt": "q1", "response": 42}')  # a response that is not text
    jsonl.write_text("\n".join(rows) + "\n", encoding="utf-8")

    text = tmp_path / "captions.txt"
    lines = ["\ufeffa man riding a horse on a beach", "a dog catches a frisbee", "", "a dog catches a frisbee  "]
    text.write_bytes("\n".join(lines).encode("utf-8") + b"\n\xff\xfe not utf-8\nthe last line has no newline")

    array = tmp_path / "outputs.json"
    elements = [{"instruction": f"q{i % 2}", "output": a, "generator": "m"} for i, a in enumerate(answers)]
    elements.insert(2, ["not", "an", "object"])
    array.write_text(json.dumps(elements, indent=2, ensure_ascii=False), encoding="utf-8")
    return {"jsonl": jsonl, "txt": text, "json": array}


def _sidecar(path):
    document = json.loads(sidecar_path(path).read_text())
    document.pop("created")
    document["output"].pop("path")
    return document


def _both(paths, tmp_path, **options):
    results = {}
    for backend in ("local", "ray"):
        out = tmp_path / f"{backend}.jsonl"
        run = EvalOptions(output=out, skip_invalid=True, chunk_size=2, backend=backend, **options)
        results[backend] = (evaluate_files([str(p) for p in paths], run), out)
    return results["local"], results["ray"]


@pytest.mark.parametrize("fmt", ["jsonl", "txt", "json"])
def test_each_format_alone_gives_the_local_bytes(local_ray, inputs, tmp_path, fmt):
    (local, local_out), (ray, ray_out) = _both(
        [inputs[fmt]], tmp_path, rewards="entropy,repetition_penalty", metrics="distinct"
    )
    assert local.summary["n"] > 0
    assert ray_out.read_bytes() == local_out.read_bytes()
    assert ray.summary == local.summary
    assert [str(e) for e in ray.skipped] == [str(e) for e in local.skipped] and len(local.skipped) == 1
    assert _sidecar(ray_out) == _sidecar(local_out)
    assert not ray_out.with_name(ray_out.name + ".partial").exists()  # finished: no journal left


def test_the_three_formats_together_in_whole_groups(local_ray, inputs, tmp_path):
    paths = [inputs["txt"], inputs["jsonl"], inputs["json"]]
    (local, local_out), (ray, ray_out) = _both(
        paths, tmp_path, rewards="entropy,diversity_bonus", metrics="distinct,self_bleu", by_group=True
    )
    rows = [json.loads(line) for line in local_out.read_text(encoding="utf-8").splitlines()]
    assert {r.get("generator") for r in rows} == {None, "m"}  # rows of every file
    assert ray_out.read_bytes() == local_out.read_bytes()
    assert ray.summary == local.summary
    assert len(local.skipped) == 3 and [str(e) for e in ray.skipped] == [str(e) for e in local.skipped]


def test_an_interrupted_ray_run_is_finished_by_a_local_resume(local_ray, inputs, tmp_path):
    """What the interrupted line tells a Ray user: the journal is the local backend's."""
    paths = [str(inputs["txt"]), str(inputs["json"])]
    full = tmp_path / "full.jsonl"
    options = {"rewards": "entropy", "metrics": "distinct", "skip_invalid": True, "chunk_size": 2}
    evaluate_files(paths, EvalOptions(output=full, **options))

    def stop_after_the_first_rows(phase: str, done: int, total: int | None) -> None:
        if phase == "scoring" and done > 0:
            raise KeyboardInterrupt

    out = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        evaluate_files(paths, EvalOptions(output=out, backend="ray", **options), progress=stop_after_the_first_rows)
    assert not out.exists() and out.with_name(out.name + ".partial").stat().st_size > 0
    evaluate_files(paths, EvalOptions(output=out, resume=True, **options))
    assert out.read_bytes() == full.read_bytes()

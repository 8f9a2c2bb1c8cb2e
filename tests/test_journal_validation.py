"""``--resume`` checks the journal it reads (issue 17.17): a damaged line is refused with
``journal:line: what is wrong`` and exit status 2, as other resume refusals; an index past the
input's rows is refused before anything is allocated for it; a sound journal still resumes to
the same bytes as an uninterrupted run."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from rewardhub.cli import cli
from rewardhub.evaluation import EvalOptions, evaluate_files
from rewardhub.io import ResumableWriter, ResumeError
from tests.conftest import EVALDATA

CHAT_EN = str(EVALDATA / "chat_en.jsonl")  # 21 rows
ARGS = [CHAT_EN, "--rewards", "repetition_penalty", "--metrics", "none", "--chunk-size", "4", "--quiet"]


def _interrupted_run(out: Path) -> Path:
    """A real run of ``ARGS`` stopped after its second journaled chunk: its journal."""
    chunks = []

    def stop_after_two(phase: str, done: int, total: int | None) -> None:
        if phase == "scoring":
            chunks.append(done)
            if len(chunks) == 2:
                raise KeyboardInterrupt

    options = EvalOptions(rewards="repetition_penalty", metrics="none", chunk_size=4, output=out)
    with pytest.raises(KeyboardInterrupt):
        evaluate_files([CHAT_EN], options, progress=stop_after_two)
    journal = out.with_name(out.name + ".partial")
    assert journal.read_bytes().count(b"\n\n") == 2
    return journal


def _resume(out: Path):
    return CliRunner().invoke(cli, ["eval", *ARGS, "-o", str(out), "--resume"], catch_exceptions=False)


def _refused(result, journal: Path, line: int, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"rewardhub: error: {journal}:{line}: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def _replace_line(journal: Path, number: int, text: bytes) -> None:
    lines = journal.read_bytes().split(b"\n")
    lines[number - 1] = text
    journal.write_bytes(b"\n".join(lines))


@pytest.fixture
def journal(tmp_path) -> Path:
    return _interrupted_run(tmp_path / "out.jsonl")


def test_a_sound_journal_resumes_to_the_uninterrupted_bytes(journal, tmp_path):
    full = tmp_path / "full.jsonl"
    assert CliRunner().invoke(cli, ["eval", *ARGS, "-o", str(full)]).exit_code == 0
    result = _resume(tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.jsonl").read_bytes() == full.read_bytes()


def test_a_line_without_a_tab_names_its_line(journal, tmp_path):
    _replace_line(journal, 3, b'{"response": "no index here"}')
    _refused(_resume(tmp_path / "out.jsonl"), journal, 3, "no tab")


def test_an_index_that_is_not_a_number(journal, tmp_path):
    line = journal.read_bytes().split(b"\n")[1]
    _replace_line(journal, 2, b"x1" + line[line.index(b"\t") :])
    _refused(_resume(tmp_path / "out.jsonl"), journal, 2, "'x1' is not a row number")


def test_an_index_past_the_inputs_rows_is_refused_before_anything_is_allocated(journal, tmp_path):
    line = journal.read_bytes().split(b"\n")[0]
    _replace_line(journal, 1, b"99999999" + line[line.index(b"\t") :])
    _refused(_resume(tmp_path / "out.jsonl"), journal, 1, "row index 99999999 is past the input's 21 rows")

    fingerprint = json.loads(journal.with_name(journal.name + ".meta.json").read_text())
    tracemalloc.start()
    try:
        with pytest.raises(ResumeError):
            ResumableWriter(tmp_path / "out.jsonl", fingerprint, resume=True, max_rows=21)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # (the index of 99,999,999 rows would take 1.2 GB)


def test_a_row_that_is_not_json(journal, tmp_path):
    line = journal.read_bytes().split(b"\n")[5]
    _replace_line(journal, 6, line[: len(line) // 2])
    _refused(_resume(tmp_path / "out.jsonl"), journal, 6, "not valid JSON")


def test_a_row_that_is_not_an_object(journal, tmp_path):
    _replace_line(journal, 2, b"1\t[1, 2, 3]")
    _refused(_resume(tmp_path / "out.jsonl"), journal, 2, "a JSON list, not an object")


def test_a_row_journaled_twice(journal, tmp_path):
    lines = journal.read_bytes().split(b"\n")
    first = lines[0]
    _replace_line(journal, 7, first)  # the second chunk's row 5 becomes row 0 again
    _refused(_resume(tmp_path / "out.jsonl"), journal, 7, "row 0 is journaled twice")


def test_a_torn_last_line_is_still_cut_off_not_refused(journal, tmp_path):
    with journal.open("ab") as handle:
        handle.write(b'8\t{"respo')  # a kill in the middle of a write
    result = _resume(tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 21

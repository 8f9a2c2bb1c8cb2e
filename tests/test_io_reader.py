"""Reading JSONL: every common layout without flags, and bad input reported precisely."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rewardhub.io import InputError, JsonlReader, read_samples


def write(path: Path, *rows) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("row", "prompt", "response"),
    [
        ({"prompt": "p", "response": "r"}, "p", "r"),
        ({"prompt": "p", "completion": "r"}, "p", "r"),
        ({"query": "p", "response": "r"}, "p", "r"),
        ({"instruction": "p", "output": "r", "generator": "g"}, "p", "r"),
        ({"question": "p", "answer": "r"}, "p", "r"),
        (
            {"prompt": [{"role": "user", "content": "p"}], "completion": [{"role": "assistant", "content": "r"}]},
            [{"role": "user", "content": "p"}],
            "r",
        ),
        (
            {"messages": [{"role": "user", "content": "p"}, {"role": "assistant", "content": "r"}]},
            [{"role": "user", "content": "p"}],
            "r",
        ),
    ],
)
def test_layouts_are_recognised_without_flags(tmp_path, row, prompt, response):
    [sample] = read_samples(write(tmp_path / "in.jsonl", row))
    assert (sample.prompt, sample.response) == (prompt, response)


def test_known_fields_map_to_the_sample_and_the_rest_goes_to_meta(tmp_path):
    path = write(
        tmp_path / "in.jsonl",
        {
            "id": "a1",
            "prompt": "p",
            "response": "r",
            "group": "g",
            "ground_truth": "42",
            "image": "img/cat.png",
            "history": ["earlier"],
            "lang": "en",
        },
    )
    [s] = read_samples(path)
    assert (s.id, s.group, s.reference, s.history, s.meta) == ("a1", "g", "42", ["earlier"], {"lang": "en"})
    assert s.images == [str(tmp_path / "img" / "cat.png")]  # relative to the JSONL file


def test_ids_default_to_line_numbers_and_blank_lines_are_ignored(tmp_path):
    path = write(tmp_path / "in.jsonl", {"prompt": "p", "response": "a"}, "", {"prompt": "p", "response": "b"})
    assert [s.id for s in read_samples(path)] == [1, 3]


def test_field_overrides(tmp_path):
    path = write(tmp_path / "in.jsonl", {"q": "p", "text": "r"})
    [s] = read_samples(path, prompt_field="q", response_field="text")
    assert (s.prompt, s.response) == ("p", "r")


def error_for(path: Path, **options) -> InputError:
    with pytest.raises(InputError) as info:
        list(JsonlReader([path], **options))
    return info.value


def test_malformed_json_names_file_line_and_column(tmp_path):
    path = write(tmp_path / "in.jsonl", {"prompt": "p", "response": "r"}, '{"prompt": "p", "response": }')
    assert str(error_for(path)) == f"{path}:2: invalid JSON: Expecting value (column 29)"


def test_row_without_response_names_the_field(tmp_path):
    path = write(tmp_path / "in.jsonl", {"prompt": "p", "response": "r"}, {"prompt": "p"})
    err = error_for(path)
    assert (err.line, err.field) == (2, "response")
    assert "no 'response' field" in str(err)


def test_non_string_response(tmp_path):
    path = write(tmp_path / "in.jsonl", {"prompt": "p", "response": 3})
    assert str(error_for(path)) == f"{path}:1: field 'response' must be a string (or a list of chat messages), got int"


def test_invalid_utf8(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"prompt": "p", "response": "ok"}\n{"prompt": "p", "response": "\xff"}\n')
    assert str(error_for(path)) == f"{path}:2: not valid UTF-8 (byte 0xff at byte 30 of the line)"


def test_empty_file(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("")
    assert str(error_for(path)) == f"{path}: no samples: the file is empty"


def test_unknown_layout_asks_for_the_field_flags(tmp_path):
    path = write(tmp_path / "in.jsonl", {"foo": 1, "bar": 2})
    assert "use --response-field" in str(error_for(path))


def test_a_50_mb_line_is_refused_without_reading_it_whole(tmp_path):
    path = tmp_path / "big.jsonl"
    with path.open("w") as f:
        f.write(json.dumps({"prompt": "p", "response": "ok"}) + "\n")
        f.write('{"prompt": "p", "response": "' + "x" * 50_000_000 + '"}\n')
        f.write(json.dumps({"prompt": "p", "response": "after"}) + "\n")
    assert str(error_for(path)) == f"{path}:2: line is 47.7 MiB, over the 32 MiB limit"
    reader = JsonlReader([path], skip_invalid=True)
    assert [r.sample.response for r in reader] == ["ok", "after"]
    assert [e.line for e in reader.skipped] == [2]


def test_skip_invalid_counts_and_locates_every_bad_row(tmp_path):
    path = write(
        tmp_path / "in.jsonl",
        {"prompt": "p", "response": "a"},
        "not json",
        {"prompt": "p", "response": 1},
        [1, 2],
        {"prompt": "p", "response": "b"},
    )
    reader = JsonlReader([path], skip_invalid=True)
    assert [r.sample.response for r in reader] == ["a", "b"]
    assert [e.line for e in reader.skipped] == [2, 3, 4]
    assert "expected a JSON object, got list" in str(reader.skipped[2])


def test_several_files_get_file_scoped_ids_and_continuous_indices(tmp_path):
    a = write(tmp_path / "a.jsonl", {"prompt": "p", "response": "1"})
    b = write(tmp_path / "b.jsonl", {"instruction": "p", "output": "2"})
    rows = list(JsonlReader([a, b]))
    assert [(r.index, r.sample.id) for r in rows] == [(0, "a.jsonl:1"), (1, "b.jsonl:1")]
    assert rows[0].sample.group_key == rows[1].sample.group_key  # same prompt: one group


def test_byte_order_mark_is_tolerated(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"prompt": "p", "response": "r"}\n')
    assert read_samples(path)[0].response == "r"

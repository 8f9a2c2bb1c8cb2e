"""JSONL in (streaming, layout detection, precise errors) and out (atomic, resumable)."""

from rewardhub.io.provenance import file_sha256, sidecar_path
from rewardhub.io.reader import InputError, JsonlReader, Row, read_samples
from rewardhub.io.schema import Layout, detect_layout, row_to_sample
from rewardhub.io.writer import ResumableWriter, ResumeError, dumps

__all__ = [
    "InputError",
    "JsonlReader",
    "Layout",
    "ResumableWriter",
    "ResumeError",
    "Row",
    "detect_layout",
    "dumps",
    "file_sha256",
    "read_samples",
    "row_to_sample",
    "sidecar_path",
]

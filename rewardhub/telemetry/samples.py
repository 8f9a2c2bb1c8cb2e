"""The step's samples in the run directory: one file per step, Parquet or JSONL, one row per sample.

Columns (both formats, one logical shape): ``step``, ``i`` (position in the step), ``id``,
``group`` (the group key as JSON text), ``prompt`` and ``response`` (text), ``tokens`` (response
length), ``rewards`` (a struct/object with one nullable float per component), ``total``,
``advantage`` (nullable floats) and ``errors`` (JSON text of ``{component: reason}`` or null).
Parquet keeps ``None`` as null (never NaN), reads one column without the rest (a histogram
click), compresses, and opens in pandas, DuckDB or ``datasets`` as it is. Tested in
``tests/test_telemetry_recorder.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: The most rows the dashboard sends for one request.
MAX_ROWS = 5000


def write_parquet(path: Path, step: int, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    keys = list(rows[0]["rewards"]) if rows else []
    fields = [
        pa.field("step", pa.int64()),
        pa.field("i", pa.int64()),
        pa.field("id", pa.string()),
        pa.field("group", pa.string()),
        pa.field("prompt", pa.string()),
        pa.field("response", pa.string()),
        pa.field("tokens", pa.int64()),
    ]
    if keys:
        fields.append(pa.field("rewards", pa.struct([pa.field(k, pa.float64()) for k in keys])))
    fields += [pa.field("total", pa.float64()), pa.field("advantage", pa.float64()), pa.field("errors", pa.string())]
    data = [{"step": step, **row} for row in rows]
    if not keys:
        for row in data:
            row.pop("rewards", None)
    table = pa.Table.from_pylist(data, schema=pa.schema(fields))
    pq.write_table(table, path, compression="zstd")


def read_samples(path: Path, columns: list[str] | None = None) -> list[dict[str, Any]]:
    """The rows of one step's samples file (``columns``: only those, where the format allows)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        wanted = None if columns is None else [c for c in columns if c in schema.names]
        return pq.read_table(path, columns=wanted).to_pylist()
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                rows.append(row if columns is None else {c: row.get(c) for c in columns})
    return rows

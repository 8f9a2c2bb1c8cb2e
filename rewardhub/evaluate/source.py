"""The input rows of a run, as many times as it needs them.

Each pass reads the files again; a stream, which can be read once, is held in memory when a
second pass is needed. The first full pass's reader keeps what the run reports afterwards:
the rows it skipped, each file's layout and the digest of the bytes read from a stream.
Both backends read through it (Ray's driver once, for the checks the local reader makes).
Tested in ``tests/test_eval_streaming.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from typing import TYPE_CHECKING

from rewardhub.io import InputError, JsonlReader, Row, is_stream

if TYPE_CHECKING:
    from rewardhub.evaluate.plan import RunPlan


class RowSource:
    """The plan's input rows (see the module doc)."""

    def __init__(self, plan: RunPlan):
        self.paths = list(plan.paths)
        self.fields = (plan.prompt_field, plan.response_field)
        self.skip_invalid = plan.skip_invalid
        self.reader = self._reader()
        self.count = 0  # valid rows the first full pass read
        self._held: list[Row] | None = None
        self._passes = 0

    def layouts(self) -> dict[str, str]:
        """Each regular file's layout, from its first valid row (streams: known once read)."""
        layouts = {}
        for path in self.paths:
            if is_stream(path):
                layouts[path] = "stream"
                continue
            probe = JsonlReader([path], *self.fields, skip_invalid=True)
            with suppress(InputError):  # the run's own reading reports it
                next(iter(probe), None)
            if path in probe.layouts:
                layouts[path] = probe.layouts[path].describe()
        return layouts

    def rows(self) -> Iterator[Row]:
        """Every valid row, in input order (the first call reads through :attr:`reader`)."""
        self._passes += 1
        if self._held is not None:
            yield from self._held
            return
        if self._passes == 1:
            hold = any(is_stream(p) for p in self.paths)
            held: list[Row] = []
            for row in self.reader:
                self.count += 1
                if hold:
                    held.append(row)
                yield row
            if hold:
                self._held = held
            return
        yield from self._reader()

    def _reader(self) -> JsonlReader:
        return JsonlReader(self.paths, *self.fields, skip_invalid=self.skip_invalid)

    def inputs_read(self, inputs: list[dict]) -> list[dict]:
        """The fingerprint's inputs for the sidecar: a stream's hash is that of the bytes read."""
        digests = self.reader.digests
        return [{**i, "sha256": digests.get(i["path"])} if i.get("stream") else i for i in inputs]


__all__ = ["RowSource"]

"""Per-step records of a training run: ``Recorder(run_dir).record(samples, batch, step=None)``.

Each call appends one line to ``RUN_DIR/steps.jsonl`` (format: ``docs/telemetry.md``): the step,
the time, ``n``; per reward its mean, std, min, max, quantiles and histogram, ``missing``,
``zero_std_groups`` (counted per component) and ``length_spearman`` (against response tokens:
the trainer's count where the adapter passes it, else the recorder's tokenizer); the same for the
weighted total; the advantages; the step's corpus metrics (corpus distinct-n, self-BLEU within
groups averaged over groups, repetition-loop and truncation rates); and ``cumulative`` distinct-n
over every completion recorded in this run directory so far (:mod:`rewardhub.telemetry.sketch`:
16 KiB per n-gram order however long the run). The step's samples, each with every component,
total and advantage, go to ``RUN_DIR/samples/step-NNNNNNNN.parquet`` (or ``.jsonl``).

Promises (tested in ``tests/test_telemetry_recorder.py``, with real files and processes):

- a reader never sees half a record: the samples file is written whole and renamed into place
  before the line that names it is appended, and a line is appended with one write under the
  run directory's lock; a line left unfinished by a crash is closed before the next one;
- two processes (or threads) recording into one run directory serialize on a file lock
  (``RUN_DIR/.lock``): no interleaved lines, unique step numbers when they are assigned
  (``step=None``: one more than the highest so far), and a cumulative state that merges both;
- memory stays bounded: no sample is kept after its step is written, the cumulative state is
  fixed-size and lives in ``RUN_DIR/cumulative.bin`` (:mod:`rewardhub.telemetry.cumulative`),
  so a resumed run continues its curve;
- every number is a finite float or ``None`` with its reason under ``notes``, never NaN.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rewardhub.aggregation import grpo_advantages
from rewardhub.lazy import np
from rewardhub.results import ScoreBatch
from rewardhub.telemetry import stats
from rewardhub.telemetry.cumulative import CumulativeFile
from rewardhub.telemetry.group_bleu import self_bleu_within_groups
from rewardhub.telemetry.sketch import METHOD, DistinctSketch
from rewardhub.types import Sample

#: The environment variable adapters read for a run directory when none is passed.
RUN_DIR_ENV = "REWARDHUB_RUN_DIR"
STEPS_FILE = "steps.jsonl"
SAMPLES_DIR = "samples"
CUMULATIVE_FILE = "cumulative.bin"
RUN_FILE = "run.json"
LOCK_FILE = ".lock"


def default_samples_format() -> str:
    """``parquet`` where pyarrow is installed, else ``jsonl``."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return "jsonl"
    return "parquet"


class Recorder:
    """Appends one record per step to a run directory (see the module doc).

    :param run_dir: the directory (created if needed).
    :param tokenize: the tokenizer of the n-gram metrics (as ``eval``'s ``--tokenize``).
    :param orders: the distinct-n orders, per step and cumulative.
    :param max_length: responses of at least this many tokens count as truncated, where the row
        itself does not say (``finish_reason``, ``stop_reason``, ``truncated``).
    :param samples_format: ``"parquet"`` (default where pyarrow is installed) or ``"jsonl"``.
    :param source: who records (``"trl"``, ``"serve"``...), written in each record.
    :param background: write the samples file and the line from a thread of the recorder's own
        (the numbers, the step and the cumulative state are still settled in :meth:`record`), so a
        trainer's step waits for none of the file writes; :meth:`flush` waits for them (also at exit).
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        *,
        tokenize: str = "auto",
        orders: Sequence[int] = (1, 2, 3, 4),
        self_bleu_order: int = 4,
        max_length: int | None = None,
        samples_format: str | None = None,
        source: str = "rewardhub",
        background: bool = False,
    ):
        from filelock import FileLock

        from rewardhub.metrics.degeneracy import RepetitionLoop
        from rewardhub.metrics.distinct import Distinct

        self.run_dir = Path(run_dir)
        self.samples_format = samples_format or default_samples_format()
        if self.samples_format not in ("parquet", "jsonl"):
            raise ValueError(f"samples_format must be 'parquet' or 'jsonl', got {samples_format!r}")
        (self.run_dir / SAMPLES_DIR).mkdir(parents=True, exist_ok=True)
        self.tokenize = tokenize
        self.orders = tuple(orders)
        self.max_length = max_length
        self.source = source
        self._distinct = Distinct(n=self.orders, tokenize=tokenize)
        self._self_bleu_order = self_bleu_order
        self._loop = RepetitionLoop(tokenize=tokenize)
        self._file_lock = FileLock(str(self.run_dir / LOCK_FILE))
        self._thread_lock = threading.RLock()
        self._state = CumulativeFile(self.run_dir / CUMULATIVE_FILE)
        self._failure: str | None = None
        self._queue: queue.Queue | None = None
        if background:
            self._queue = queue.Queue()
            threading.Thread(target=self._writer, name="rewardhub-telemetry", daemon=True).start()
            atexit.register(self._flush_at_exit)

    @property
    def steps_path(self) -> Path:
        return self.run_dir / STEPS_FILE

    # -- the record ---------------------------------------------------------------------------------

    def record(
        self,
        samples: Sequence[Sample],
        batch: ScoreBatch,
        step: int | None = None,
        *,
        response_tokens: Sequence[int | None] | None = None,
    ) -> dict[str, Any]:
        """Compute this step's record, write its samples and append its line; return the record.
        ``response_tokens``: each response's length in the policy's tokens, where known."""
        samples = list(samples)
        if len(samples) != len(batch):
            raise ValueError(f"{len(samples)} samples for a batch of {len(batch)}")
        self._raise_failure()
        record, rows, sketch = self._compute(samples, batch, response_tokens)
        with self._thread_lock, self._file_lock:
            cumulative, last_step = self._state.load(sketch.orders)
            cumulative.merge(sketch)
            record["step"] = int(step) if step is not None else last_step + 1
            record["cumulative"] = {"completions": cumulative.completions, **cumulative.result(), "method": METHOD}
            self._state.save(cumulative, max(last_step, record["step"]))
            self._write_run_file(batch)
        if self._queue is None:
            self._write(record, rows)
        else:
            self._queue.put((record, rows))
        return record

    def flush(self) -> None:
        """Wait until every record handed to the background writer is on disk."""
        if self._queue is not None:
            self._queue.join()
        self._raise_failure()

    def _flush_at_exit(self) -> None:
        try:
            self.flush()
        except OSError as exc:  # one line at exit, not a traceback
            print(exc, file=sys.stderr)

    def close(self) -> None:
        self.flush()
        if self._queue is not None:
            self._queue.put(None)
            self._queue = None

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise OSError(f"rewardhub telemetry: could not write to {self.run_dir}: {failure}")

    def _write(self, record: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        """Under the lock: the samples file, then the line that names it."""
        with self._thread_lock, self._file_lock:
            target = self._samples_target(record["step"])
            self._write_samples(target, record["step"], rows)
            record["samples"] = f"{SAMPLES_DIR}/{target.name}"
            self._append(record)

    def _writer(self) -> None:
        queue = self._queue
        while True:
            item = queue.get()
            try:
                if item is None:
                    return
                try:
                    self._write(*item)
                except Exception as exc:  # reported by the next record() or flush()
                    self._failure = f"{type(exc).__name__}: {exc}"
            finally:
                queue.task_done()

    def _compute(self, samples: list[Sample], batch: ScoreBatch, response_tokens: Sequence[int | None] | None):
        notes: dict[str, str] = {}
        groups = [s.group_key for s in samples]
        chunk = self._distinct.hashed(samples)
        if response_tokens is not None and len(response_tokens) == len(samples):
            lengths: list[int | None] = [None if t is None else int(t) for t in response_tokens]
            length_source = "trainer tokens"
        else:
            lengths = [int(n) for n in chunk.lengths]
            length_source = f"tokenizer {self.tokenize}"
        rewards = {}
        for key, values in batch.components.items():
            rewards[key], why = stats.reward_stats(values, groups, lengths)
            notes.update({f"rewards.{key}.{k}": v for k, v in why.items()})
        total, why = stats.reward_stats(batch.totals, groups, lengths)
        notes.update({f"total.{k}": v for k, v in why.items()})
        if batch.advantages is not None:
            advantage, advantage_source = list(batch.advantages), f"rewardhub {batch.aggregation}"
        else:
            advantage = grpo_advantages(batch.totals, groups)
            advantage_source = "GRPO of the total: (r - group mean) / (group std + 1e-4), as a trainer computes it"
        present = np.array([a for a in advantage if a is not None], dtype=float)
        record: dict[str, Any] = {
            "step": None,
            "time": round(time.time(), 3),
            "n": len(samples),
            "groups": len(set(groups)),
            "source": self.source,
            "aggregation": batch.aggregation,
            "rewards": rewards,
            "total": total,
            "advantage": {
                "mean": stats._number(present.mean()) if len(present) else None,
                "std": stats._number(present.std(ddof=1)) if len(present) > 1 else None,
                "min": stats._number(present.min()) if len(present) else None,
                "max": stats._number(present.max()) if len(present) else None,
                "source": advantage_source,
            },
            "length": {"mean": _mean(lengths), "source": length_source},
            "corpus": self._corpus(samples, chunk, lengths, notes),
        }
        record["notes"] = notes
        sketch = DistinctSketch(self.orders)
        sketch.fold(chunk)
        rows = self._rows(samples, batch, lengths, advantage)
        return record, rows, sketch

    def _corpus(self, samples: list[Sample], chunk: Any, lengths: list[int | None], notes: dict[str, str]):
        from rewardhub.metrics.degeneracy import row_says_truncated

        state = self._distinct.state()
        state.fold(chunk, 0)
        corpus: dict[str, Any] = dict(state.result())
        index: dict[Any, int] = {}
        groups = [index.setdefault(s.group_key, len(index)) for s in samples]
        bleu = self_bleu_within_groups(chunk, groups, self._self_bleu_order)
        corpus[f"self_bleu_{self._self_bleu_order}_within_groups"] = bleu
        if bleu is None:
            notes[f"corpus.self_bleu_{self._self_bleu_order}_within_groups"] = "no group of two or more responses"
        loops = [None if s is None else s.value if hasattr(s, "value") else s for s in self._loop.score(samples)]
        corpus["repetition_loop_rate"] = stats.rate(loops)
        truncated: list[float | None] = []
        for sample, length in zip(samples, lengths):
            said = row_says_truncated(sample.meta or {})
            if said is not None:
                truncated.append(float(said[0]))
            elif self.max_length is not None and length is not None:
                truncated.append(float(length >= self.max_length))
            else:
                truncated.append(None)
        corpus["truncated_rate"] = stats.rate(truncated)
        if corpus["truncated_rate"] is None:
            notes["corpus.truncated_rate"] = "no finish_reason, stop_reason or truncated field, and no max_length"
        return corpus

    @staticmethod
    def _rows(samples, batch: ScoreBatch, lengths, advantage) -> list[dict[str, Any]]:
        return [
            {
                "i": i,
                "id": None if s.id is None else str(s.id),
                "group": json.dumps(s.group_key, default=str, ensure_ascii=False),
                "prompt": s.prompt_text,
                "response": s.response,
                "tokens": lengths[i],
                "rewards": {k: col[i] for k, col in batch.components.items()},
                "total": batch.totals[i],
                "advantage": advantage[i],
                "errors": json.dumps(batch.errors[i], ensure_ascii=False) if batch.errors[i] else None,
            }
            for i, s in enumerate(samples)
        ]

    # -- files (called under the lock) --------------------------------------------------------------

    def _samples_target(self, step: int) -> Path:
        """A new samples file's name for ``step`` (called under the lock)."""
        folder = self.run_dir / SAMPLES_DIR
        suffix = ".parquet" if self.samples_format == "parquet" else ".jsonl"
        name, k = f"step-{step:08d}{suffix}", 1
        while (folder / name).exists():  # another process (or rank) recorded this step too
            name, k = f"step-{step:08d}-{k}{suffix}", k + 1
        return folder / name

    def _write_samples(self, target: Path, step: int, rows: list[dict[str, Any]]) -> None:
        folder, name = target.parent, target.name
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        if self.samples_format == "parquet":
            from rewardhub.telemetry.samples import write_parquet

            write_parquet(tmp, step, rows)
        else:
            with open(tmp, "w", encoding="utf-8") as handle:
                for row in rows:
                    handle.write(json.dumps({"step": step, **row}, ensure_ascii=False, allow_nan=False) + "\n")
        os.replace(tmp, target)

    def _write_run_file(self, batch: ScoreBatch) -> None:
        path = self.run_dir / RUN_FILE
        if path.exists():
            return
        from rewardhub import __version__

        info = {
            "rewardhub": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "components": list(batch.components),
            "weights": batch.weights,
            "aggregation": batch.aggregation,
            "tokenize": self.tokenize,
            "orders": list(self.orders),
            "samples_format": self.samples_format,
        }
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(info, indent=1), encoding="utf-8")
        os.replace(tmp, path)

    def _append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.steps_path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":  # a crash left half a line: close it
                line = b"\n" + line
            while line:
                line = line[os.write(fd, line) :]
        finally:
            os.close(fd)


def _mean(values: Sequence[int | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None

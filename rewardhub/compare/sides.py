"""The two sides of a comparison: which files, scored how, and their rows.

A side is one or more JSONL files (``"a1.jsonl,a2.jsonl"``), or the rows of one file set
whose field ``--by`` has a given value. Each file is either

- **scored** by ``rewardhub eval`` (an ``OUT.meta.json`` provenance sidecar beside it): its
  rewards are reused, or
- **raw** generations: it is scored first through :func:`rewardhub.evaluation.evaluate_files`,
  the same engine, journaled and resumable, into the *work directory* (``--work-dir``, default
  ``.rewardhub/scored`` under the current directory) as ``<stem>.<key>.jsonl`` with its sidecar,
  where ``key`` hashes the input's content and the reward configuration. A later comparison
  of the same file with the same rewards reuses it; a killed one resumes its journal; one
  running at the same time waits for the first one's result and reuses it
  (``tests/test_compare_lock.py``).

A reward is compared only if every file of both sides holds it with the same version and args
(their sidecars say so); a disagreement is refused with a message naming the reward and files.
Tested in ``tests/test_compare_cli.py``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardhub.config import ComponentConfig, ConfigError
from rewardhub.io import JsonlReader, file_sha256, sidecar_path
from rewardhub.io.writer import companion
from rewardhub.types import Sample

DEFAULT_WORK_DIR = Path(".rewardhub") / "scored"


@dataclass
class ScoredRow:
    """A row of a side: its sample, its reward values by name (``None``: no usable value), its
    fields as read, and why a value the row holds was not usable (``nan``, ``infinite``,
    ``not_a_number``: a string, a bool, a list...)."""

    sample: Sample
    rewards: dict[str, float | None]
    data: dict[str, Any]
    excluded: dict[str, str] = field(default_factory=dict)


@dataclass
class Side:
    """One side of a comparison."""

    label: str
    files: list[str]
    rows: list[ScoredRow] = field(default_factory=list)
    #: reward key -> its spec (name, version, args) as the files' sidecars record it
    reward_specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: scored file -> its sidecar document
    provenance: dict[str, dict[str, Any]] = field(default_factory=dict)


def split_files(spec: str | Path | Sequence[str | Path]) -> list[str]:
    """``"a.jsonl,b.jsonl"``, a path, or a list of either, as a list of paths."""
    items = [spec] if isinstance(spec, (str, Path)) else list(spec)
    out: list[str] = []
    for item in items:
        out.extend(part.strip() for part in str(item).split(",") if part.strip())
    if not out:
        raise ConfigError("no input files given")
    return out


def reward_values(row: dict[str, Any]) -> tuple[dict[str, float | None], dict[str, str]]:
    """The reward values ``eval`` wrote into a row (``rewards: {name: value}``), read
    defensively: anything not a finite number is missing (``None``), and the second dict says
    why for each value that was there but unusable (``nan``, ``infinite``, ``not_a_number``)."""
    values = row.get("rewards")
    if not isinstance(values, dict):
        return {}, {}
    out: dict[str, float | None] = {}
    excluded: dict[str, str] = {}
    for name, value in values.items():
        out[str(name)] = None
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            excluded[str(name)] = "not_a_number"
        elif isinstance(value, float) and math.isnan(value):
            excluded[str(name)] = "nan"
        elif isinstance(value, float) and math.isinf(value):
            excluded[str(name)] = "infinite"
        else:
            try:
                out[str(name)] = float(value)
            except OverflowError:  # an integer beyond the float range
                excluded[str(name)] = "infinite"
    return out, excluded


def read_sidecar(path: str | Path) -> dict[str, Any] | None:
    """The provenance ``eval`` wrote next to ``path``, or None if it is not a scored file."""
    meta = sidecar_path(path)
    if not meta.is_file():
        return None
    try:
        document = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{meta}: cannot read the provenance sidecar: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("config"), dict):
        return None
    return document


def sidecar_rewards(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Reward key -> ``{name, version, args, weight, as}`` from a sidecar's resolved config."""
    out = {}
    for entry in document["config"].get("rewards") or []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            out[entry.get("as") or entry["name"]] = entry
    return out


def scored_path(
    path: str, rewards: list[ComponentConfig], tokenize: str | None, work_dir: Path, fields: tuple = (None, None)
) -> Path:
    """Where a raw file scored with ``rewards`` goes: keyed by its content, the config and the
    ``(prompt_field, response_field)`` it was read with (left out of the key when detected)."""
    described = {"input": file_sha256(path), "rewards": [c.to_dict() for c in rewards], "tokenize": tokenize}
    if fields != (None, None):
        described["fields"] = list(fields)
    key = json.dumps(described, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return work_dir / f"{Path(path).stem}.{digest}.jsonl"


def score_raw(
    path: str,
    rewards: list[ComponentConfig],
    *,
    tokenize: str | None,
    missing: str | None,
    work_dir: Path,
    block: Sequence[str],
    log: Any = None,
    prompt_field: str | None = None,
    response_field: str | None = None,
) -> Path:
    """``path`` scored with ``rewards`` in the work directory (reused if done, resumed if killed)."""
    from rewardhub.evaluation import EvalOptions, evaluate_files

    out = scored_path(path, rewards, tokenize, work_dir, (prompt_field, response_field))
    if _scored(out):
        return out
    work_dir.mkdir(parents=True, exist_ok=True)
    with _scoring_lock(path, out, log):
        if _scored(out):  # another run scored it while this one waited
            if log:
                log(f"reusing {out}, scored by another rewardhub run")
            return out
        resume = companion(out, ".partial").exists()
        if log:
            log(f"scoring {path} -> {out}{' (resuming)' if resume else ''}")
        options = EvalOptions(
            rewards=[c.to_dict() for c in rewards],
            metrics=[],
            output=out,
            resume=resume,
            tokenize=tokenize,
            missing=missing,
            block=tuple(block),
            prompt_field=prompt_field,
            response_field=response_field,
        )
        evaluate_files([path], options)
    return out


def _scored(out: Path) -> bool:
    return out.is_file() and sidecar_path(out).is_file()


@contextmanager
def _scoring_lock(path: str, out: Path, log: Any) -> Iterator[None]:
    """Hold ``OUT.scoring.lock`` while scoring ``path`` into ``out``; a second ``compare`` or
    ``report`` of the same file waits here for the first one's result and then reuses it (the
    operating system drops the lock of a killed run, and the next one resumes its journal)."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(companion(out, ".scoring.lock")))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if log:
            log(f"waiting for another rewardhub run that is scoring {path} into {out}")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def read_rows(path: str | Path, prompt_field: str | None = None, response_field: str | None = None) -> list[ScoredRow]:
    rows = []
    for r in JsonlReader([path], prompt_field, response_field):
        values, excluded = reward_values(r.data)
        rows.append(ScoredRow(r.sample, values, r.data, excluded))
    return rows


def check_agreement(sides: Sequence[Side], keys: Sequence[str]) -> None:
    """Every file of every side scored each reward in ``keys`` with the same version and args."""
    for key in keys:
        seen: dict[str, list[str]] = {}
        for side in sides:
            for file, document in side.provenance.items():
                spec = sidecar_rewards(document).get(key)
                if spec is None:
                    raise ConfigError(
                        f"reward {key!r} is not in {file} (scored with: "
                        f"{', '.join(sorted(sidecar_rewards(document))) or 'none'})"
                    )
                identity = json.dumps(
                    {"name": spec.get("name"), "version": spec.get("version"), "args": spec.get("args") or {}},
                    sort_keys=True,
                )
                seen.setdefault(identity, []).append(file)
        if len(seen) > 1:
            versions = "; ".join(f"{ident} in {', '.join(files)}" for ident, files in seen.items())
            raise ConfigError(
                f"reward {key!r} was scored differently on the two sides, so its values cannot be compared: "
                f"{versions}. Score both with the same version and args (or leave it out with --rewards)"
            )


def _value_label(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def split_by(rows: list[ScoredRow], by: str, a_value: str | None, b_value: str | None) -> tuple[str, str, list, list]:
    """Split ``rows`` into two sides by the value of field ``by``."""
    values: dict[str, list[ScoredRow]] = {}
    for row in rows:
        if by in row.data:
            values.setdefault(_value_label(row.data[by]), []).append(row)
    if not values:
        raise ConfigError(f"--by {by}: no row has a field {by!r}")
    names = list(values)
    if a_value is None and b_value is None:
        if len(names) != 2:
            shown = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")
            raise ConfigError(f"--by {by}: the field has {len(names)} values ({shown}); pick two with --a and --b")
        a_value, b_value = names
    for flag, value in (("--a", a_value), ("--b", b_value)):
        if value not in values:
            raise ConfigError(f"--by {by}: {flag} {value!r} is not a value of the field (values: {', '.join(names)})")
    return a_value, b_value, values[a_value], values[b_value]


def _prepare(
    files: list[str],
    run: Any,
    explicit_rewards: bool,
    work_dir: str | Path | None,
    prompt_field: str | None,
    response_field: str | None,
    block: Sequence[str],
    log: Any,
) -> tuple[dict[str, dict[str, Any] | None], dict[str, Path], dict[str, list[ScoredRow]]]:
    """For every file: its sidecar, the scored file to read (raw ones scored first), its rows."""
    documents = {f: read_sidecar(f) for f in dict.fromkeys(files)}
    scored_docs = [d for d in documents.values() if d]
    if explicit_rewards or not scored_docs:
        raw_rewards = list(run.rewards)
    else:  # score raw files with what the scored ones hold, so the two can be compared
        raw_rewards = [
            ComponentConfig(s["name"], float(s.get("weight", 1.0)), dict(s.get("args") or {}), s.get("as"))
            for s in sidecar_rewards(scored_docs[0]).values()
        ]
    source: dict[str, Path] = {}
    for f, document in documents.items():
        source[f] = Path(f)
        if document is None and raw_rewards:
            source[f] = score_raw(
                f,
                raw_rewards,
                tokenize=run.tokenize,
                missing=run.missing,
                work_dir=Path(work_dir) if work_dir else DEFAULT_WORK_DIR,
                block=block,
                log=log,
                prompt_field=prompt_field,
                response_field=response_field,
            )
            documents[f] = read_sidecar(source[f])
    rows = {f: read_rows(source[f], prompt_field, response_field) for f in documents}
    return documents, source, rows


def _reward_keys(documents: dict[str, dict[str, Any] | None], run: Any, explicit: bool) -> tuple[list[str], list[str]]:
    """The rewards to compare: those asked for, else those every file holds; and notes."""
    if any(d is None for d in documents.values()):
        return [], []
    if explicit:
        return [c.key for c in run.rewards], []
    held = [sidecar_rewards(d) for d in documents.values() if d]
    keys = [k for k in held[0] if all(k in h for h in held)]
    partial = sorted(set().union(*held) - set(keys))
    return keys, [f"left out, not scored in every file: {', '.join(partial)}"] if partial else []


def load_side(files: Any, run: Any, *, explicit_rewards: bool, **kw: Any) -> tuple[Side, list[str], list[str]]:
    """One file set as a side (what ``rewardhub report FILES`` shows)."""
    names = split_files(files)
    documents, source, rows = _prepare(names, run, explicit_rewards, **kw)
    keys, notes = _reward_keys(documents, run, explicit_rewards)
    side = Side(_label(names), names, [r for f in names for r in rows[f]])
    side.provenance = {str(source[f]): documents[f] for f in names if documents[f] is not None}
    check_agreement([side], keys)
    side.reward_specs = _specs(side, keys)
    return side, keys, notes


def load_sides(
    a: Any,
    b: Any,
    run: Any,
    *,
    explicit_rewards: bool,
    by: str | None = None,
    a_value: str | None = None,
    b_value: str | None = None,
    work_dir: str | Path | None = None,
    prompt_field: str | None = None,
    response_field: str | None = None,
    block: Sequence[str] = (),
    log: Any = None,
) -> tuple[Side, Side, list[str], list[str]]:
    """Both sides with their rows, the reward keys to compare, and notes for people."""
    if by:
        file_sets = [split_files(a)] + ([split_files(b)] if b is not None else [])
        files_a = files_b = list(dict.fromkeys(f for files in file_sets for f in files))
    else:
        if b is None:
            raise ConfigError("compare needs two file sets, A and B (or one set and --by FIELD)")
        files_a, files_b = split_files(a), split_files(b)
    documents, source, rows = _prepare(
        files_a + files_b, run, explicit_rewards, work_dir, prompt_field, response_field, block, log
    )

    def side(label: str, files: list[str], picked: list[ScoredRow] | None = None) -> Side:
        out = Side(label, files)
        out.rows = picked if picked is not None else [r for f in files for r in rows[f]]
        out.provenance = {str(source[f]): documents[f] for f in files if documents[f] is not None}
        return out

    if by:
        value_a, value_b, rows_a, rows_b = split_by([r for f in files_a for r in rows[f]], by, a_value, b_value)
        side_a, side_b = side(value_a, files_a, rows_a), side(value_b, files_b, rows_b)
    else:
        side_a, side_b = side(_label(files_a), files_a), side(_label(files_b), files_b)
    keys, notes = _reward_keys(documents, run, explicit_rewards)
    notes += _tokenizer_notes(documents)
    check_agreement([side_a, side_b], keys)
    side_a.reward_specs, side_b.reward_specs = _specs(side_a, keys), _specs(side_b, keys)
    return side_a, side_b, keys, notes


def _tokenizer_notes(documents: dict[str, dict[str, Any] | None]) -> list[str]:
    """A note when the files were scored with different tokenizers (the run-wide ``--tokenize``
    is not part of a reward's args, and only rewards that tokenize depend on it)."""
    used: dict[str, list[str]] = {}
    for path, document in documents.items():
        if document is not None:
            used.setdefault(str(document["config"].get("tokenize")), []).append(Path(path).name)
    if len(used) < 2:
        return []
    which = "; ".join(f"{name} in {', '.join(files)}" for name, files in used.items())
    return [
        f"the files were scored with different tokenizers ({which}): rewards that tokenize may differ by that alone"
    ]


def _specs(side: Side, keys: list[str]) -> dict[str, dict[str, Any]]:
    specs: dict[str, dict[str, Any]] = {}
    for document in side.provenance.values():
        specs.update({k: v for k, v in sidecar_rewards(document).items() if k in keys})
    return specs


def _label(files: list[str]) -> str:
    names = [Path(f).stem for f in files]
    return names[0] if len(names) == 1 else f"{names[0]} (+{len(names) - 1} files)"


def tokenizers(side: Side) -> list[str]:
    """The run-wide ``--tokenize`` that each scored file of ``side`` was produced with."""
    return sorted({str(d["config"].get("tokenize")) for d in side.provenance.values() if d})

"""The run's embeddings: each text embedded once per model, whoever asks.

Every semantic reward and metric (``semantic_redundancy``, ``semantic_diversity``, ``vendi``,
``embedding_pairwise_similarity``) embeds through an :class:`~rewardhub_semantic.encoder.Encoder`,
and every encoder of the same :class:`ModelIdentity` shares one :class:`EmbeddingCache`:

- **keyed by what decides an embedding**: the model's source and revision (the hub commit, or a
  fingerprint of the local files' names, sizes and modification times), its module pipeline
  with their settings (transformer, pooling mode, dense layers, normalization), the sequence
  length, the dtype and the device type, and that rows are L2-normalized; then by the text
  (its 128-bit BLAKE2b digest, so a 0.7 MB response is not kept alive by the cache). Two
  rewards given ``device: cpu`` and no device on a CPU machine, or the hub id and the bundled
  copy of the same files, share embeddings; a model changed on disk, another pooling or another
  dtype does not;
- **bounded by bytes**: a :class:`rewardhub.memo.RecentMemo` of :data:`EMBEDDING_CACHE_BYTES`
  (``REWARDHUB_EMBEDDING_CACHE_MB``) per model, each entry counted as its digest, its float32 row
  and the dict slot (about 1.8 KB for MiniLM's 384 dimensions: 256 MiB hold 145,000 texts);
- **run-scoped**: the cache lives while an encoder of its model does (the run's rewards and
  metrics hold them; ``rewardhub eval`` drops them at its end, a server at shutdown), and goes
  with the last one.

:class:`CacheStats` counts lookups, texts embedded and model calls, for tests and benchmarks.
Tested in ``tests/test_embedding_cache.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardhub.lazy import np
from rewardhub.memo import ENTRY_OVERHEAD, MiB, RecentMemo, budget

#: The bytes each model's cache may hold (``REWARDHUB_EMBEDDING_CACHE_MB``).
EMBEDDING_CACHE_BYTES = budget("embedding_cache", 256 * MiB)
_DIGEST = 16


def text_key(text: str) -> bytes:
    """The cache's key for ``text``: its 128-bit BLAKE2b digest (lone surrogates kept apart)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=_DIGEST).digest()


@dataclass(frozen=True)
class ModelIdentity:
    """What decides the embedding a model gives a text (see the module doc)."""

    source: str
    revision: str
    pipeline: str
    max_seq_length: int | None
    dtype: str
    device_type: str
    normalized: bool = True

    @classmethod
    def of(cls, model: Any, source: str, dtype: Any, device: str) -> ModelIdentity:
        """The identity of a loaded ``SentenceTransformer`` read from ``source``."""
        return cls(
            source=source,
            revision=revision_of(model, source),
            pipeline=pipeline_of(model),
            max_seq_length=getattr(model, "max_seq_length", None),
            dtype=str(dtype).replace("torch.", ""),
            device_type=str(device).split(":", 1)[0],
        )

    def describe(self) -> dict[str, Any]:
        """For provenance: the revision and pipeline digest, not the whole pipeline."""
        return {
            "revision": self.revision,
            "pipeline": hashlib.sha256(self.pipeline.encode()).hexdigest()[:16],
            "max_seq_length": self.max_seq_length,
            "dtype": self.dtype,
            "normalized": self.normalized,
        }


def pipeline_of(model: Any) -> str:
    """The model's modules in order, each with its settings (pooling mode, dense layer shape,
    normalization...), and the prompts it prepends, as canonical JSON."""
    modules = []
    for module in model if hasattr(model, "__iter__") else ():
        config = module.get_config_dict() if hasattr(module, "get_config_dict") else {}
        modules.append({"type": type(module).__name__, "config": config})
    extra = {
        "prompts": getattr(model, "prompts", None) or {},
        "default_prompt_name": getattr(model, "default_prompt_name", None),
        "truncate_dim": getattr(model, "truncate_dim", None),
    }
    return json.dumps({"modules": modules, **extra}, sort_keys=True, default=str)


def revision_of(model: Any, source: str) -> str:
    """The hub commit the model was loaded at, else a fingerprint of its local files."""
    path = Path(source)
    if path.is_dir():
        return "files:" + files_fingerprint(path)
    for module in model if hasattr(model, "__iter__") else ():
        config = getattr(getattr(module, "auto_model", None), "config", None)
        commit = getattr(config, "_commit_hash", None)
        if commit:
            return f"commit:{commit}"
    return "unknown"


def files_fingerprint(folder: Path) -> str:
    """A digest of every file's relative path, size and modification time under ``folder``
    (the weights are not read: a changed file changes its size or time)."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = Path(root, name)
            stat = path.stat()
            digest.update(f"{path.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


@dataclass
class CacheStats:
    """What a cache was asked and did."""

    lookups: int = 0  # distinct texts asked for
    embedded: int = 0  # texts sent through the model
    model_calls: int = 0  # calls of the model (each on a list of texts)

    @property
    def hits(self) -> int:
        return self.lookups - self.embedded


@dataclass
class EmbeddingCache:
    """One model's embeddings of recent texts, within ``max_bytes`` (see the module doc)."""

    identity: ModelIdentity
    max_bytes: int | None = None  # default: EMBEDDING_CACHE_BYTES when created
    stats: CacheStats = field(default_factory=CacheStats)

    def __post_init__(self) -> None:
        if self.max_bytes is None:
            self.max_bytes = EMBEDDING_CACHE_BYTES
        self._memo: RecentMemo[bytes, np.ndarray] = RecentMemo(max_bytes=self.max_bytes)

    @property
    def nbytes(self) -> int:
        return self._memo.nbytes

    def __len__(self) -> int:
        return len(self._memo)

    def lookup(self, texts: Sequence[str]) -> tuple[list[bytes], list[np.ndarray | None]]:
        """The keys of ``texts`` (distinct texts) and their remembered rows (``None``: not here)."""
        keys = [text_key(t) for t in texts]
        self.stats.lookups += len(keys)
        return keys, [self._memo.get(k) for k in keys]

    def store(self, keys: Sequence[bytes], rows: np.ndarray) -> list[np.ndarray]:
        """Remember each row (copied: a row kept must not pin the whole batch) under its key."""
        kept = []
        for key, row in zip(keys, rows):
            row = np.array(row, dtype=np.float32, copy=True)
            self._memo.put(key, row, _DIGEST + 33 + sys.getsizeof(row) + ENTRY_OVERHEAD)
            kept.append(row)
        return kept

    def clear(self) -> None:
        self._memo.clear()


_caches: weakref.WeakValueDictionary[ModelIdentity, EmbeddingCache] = weakref.WeakValueDictionary()
_lock = threading.Lock()


def cache_for(identity: ModelIdentity) -> EmbeddingCache:
    """The cache of ``identity``, shared by every live encoder of that model (created on first
    ask, freed with the last holder)."""
    with _lock:
        cache = _caches.get(identity)
        if cache is None:
            cache = _caches[identity] = EmbeddingCache(identity)
        return cache


def live_caches() -> list[EmbeddingCache]:
    """The caches alive now (one per model identity in use)."""
    with _lock:
        return list(_caches.values())

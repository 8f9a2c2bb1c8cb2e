"""The two toxicity backends, each ``predict_proba(texts, batch_size) -> probabilities``.

``predict_proba`` is the direct model path: no rewardhub machinery, one probability of
"toxic" per text, in order. The :class:`~rewardhub_safety.Toxicity` reward calls exactly this,
and benchmarks call it to measure the engine's overhead.

Loaded classifiers are shared within a process (:func:`load_classifier`), so one reward
configured twice (``as``, two thresholds) holds one model. Each carries its ``provenance``
(backend, model, the languages it reads, and why ``auto`` chose it).

``auto`` (:func:`resolve`) behaves as users of Hugging Face tools expect: the real classifier
(:data:`DEFAULT_MODEL`, downloaded on first use) when it is cached or the hub answers a probe
within :data:`PROBE_SECONDS`; the offline profanity model when ``HF_HUB_OFFLINE=1`` (no probe)
or the hub does not answer. Tested in ``tests/test_safety_auto.py``.
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
import warnings
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rewardhub import devices
from rewardhub.lazy import np
from rewardhub_safety.labels import ToxicLabel, toxic_indices

#: The hub default of the ``transformers`` backend (the model ms-swift's safety example uses).
DEFAULT_MODEL = "facebook/roberta-hate-speech-dynabench-r4-target"
#: Used when neither the tokenizer nor the caller gives a maximum input length.
FALLBACK_MAX_LENGTH = 512
#: The longest ``auto`` waits for the hub to answer (DNS included) before going offline.
PROBE_SECONDS = 3.0
#: Languages the built-in models read: the profanity model is an English bag of words and the
#: default hub model was trained on English (Dynabench). Other models: the user says.
ENGLISH = ("en",)


class Classifier(Protocol):
    backend: str
    model_name: str
    provenance: dict[str, Any]

    def predict_proba(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray: ...


class ProfanityClassifier:
    """The offensive-language model shipped in ``alt-profanity-check`` (linear SVM over tf-idf).

    Runs offline on CPU; its probability is calibrated on offensive-language data, so it
    flags insults and profanity, not subtler harms.
    """

    backend = "profanity"
    model_name = "alt-profanity-check"
    languages = ENGLISH

    def __init__(self) -> None:
        # profanity_check unpickles its model on import, so import it only now.
        from importlib.metadata import version

        from profanity_check import predict_prob

        self._predict_prob = predict_prob
        self.provenance: dict[str, Any] = {
            "backend": self.backend,
            "model": f"{self.model_name}=={version('alt-profanity-check')}",
            "languages": list(self.languages),
        }

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
        self.languages = ENGLISH if self.model_name == DEFAULT_MODEL else None
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
        self.provenance = {
            "backend": self.backend,
            "model": self.model_name,
            "revision": getattr(config, "_commit_hash", None),
            "device": str(self.device),
            "dtype": str(self.dtype).replace("torch.", ""),
            "languages": None if self.languages is None else list(self.languages),
        }

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


def hub_offline() -> bool:
    """Whether the user said not to use the network (``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE``)."""
    values = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return any(v.strip().upper() in {"1", "ON", "YES", "TRUE"} for v in values)


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


_probes: dict[str, str | None] = {}
_probe_lock = threading.Lock()


def probe_hub(model: str = DEFAULT_MODEL, timeout: float = PROBE_SECONDS) -> str | None:
    """``None`` when the hub serves ``model``'s config, else why not; at most ``timeout``
    seconds (name resolution included: the request runs in a thread that is not waited for
    longer), no retries, and once per endpoint and model in a process."""
    url = f"{hub_endpoint()}/{model}/resolve/main/config.json"
    with _probe_lock:
        if url in _probes:
            return _probes[url]
        box: dict[str, str | None] = {}

        def ask() -> None:
            try:
                with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
                    box["error"] = None
            except urllib.error.HTTPError as exc:
                box["error"] = f"HTTP {exc.code} from {url}"
            except Exception as exc:
                box["error"] = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)} ({url})"

        worker = threading.Thread(target=ask, daemon=True, name="rewardhub-hub-probe")
        worker.start()
        worker.join(timeout)
        _probes[url] = box.get("error", f"no answer within {timeout:g}s from {url}")
        return _probes[url]


@dataclass(frozen=True)
class Resolution:
    """What a ``backend``/``model`` setting resolved to, and why."""

    backend: str
    model: str | None
    reason: str


def resolve(backend: str, model: str | None) -> Resolution:
    """The backend and model to load, with ``auto`` decided (see the module doc)."""
    if backend == "profanity":
        return Resolution("profanity", None, "backend=profanity")
    if backend == "transformers" or model:
        return Resolution("transformers", model or DEFAULT_MODEL, f"backend={backend}" + (" with model" * bool(model)))
    if default_model_cached():
        return Resolution("transformers", DEFAULT_MODEL, "auto: the default model is in the local cache")
    if hub_offline():
        return Resolution("profanity", None, "auto: HF_HUB_OFFLINE is set and the default model is not cached")
    problem = probe_hub(DEFAULT_MODEL)
    if problem is None:
        return Resolution("transformers", DEFAULT_MODEL, f"auto: {hub_endpoint()} is reachable")
    return Resolution("profanity", None, f"auto: the hub is unreachable ({problem})")


def resolve_backend(backend: str, model: str | None) -> tuple[str, str | None]:
    """``(backend, model)`` with ``auto`` decided by :func:`resolve`."""
    resolution = resolve(backend, model)
    return resolution.backend, resolution.model


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
    """A loaded classifier, shared with every live holder of the same settings.

    Under ``auto`` without a ``model``, a default model that cannot be downloaded after all
    (the hub answered the probe, then failed) falls back to the profanity model with a warning;
    ``provenance["resolved_by"]`` says which happened.
    """
    resolution = resolve(backend, model)
    label_key = toxic_label if isinstance(toxic_label, (str, int, type(None))) else tuple(toxic_label)
    key = (resolution.backend, resolution.model, device, str(dtype), max_length, label_key)
    with _lock:
        classifier = _loaded.get(key)
        if classifier is None:
            classifier = _load(resolution, backend == "auto" and not model, device, dtype, max_length, toxic_label)
            _loaded[key] = classifier
    return classifier


def _load(resolution: Resolution, may_fall_back: bool, device, dtype, max_length, toxic_label) -> Any:
    if resolution.backend == "profanity":
        classifier: Any = ProfanityClassifier()
    else:
        try:
            classifier = TransformersClassifier(
                resolution.model or DEFAULT_MODEL,
                device=device,
                dtype=dtype,
                max_length=max_length,
                toxic_label=toxic_label,
            )
        except OSError as exc:  # transformers reports a failed download as an OSError
            if not may_fall_back:
                raise
            warnings.warn(
                f"toxicity: could not load {resolution.model} ({exc}); using the offline profanity model",
                RuntimeWarning,
                stacklevel=3,
            )
            classifier = ProfanityClassifier()
            resolution = Resolution("profanity", None, f"auto: loading {resolution.model} failed ({exc})")
    classifier.provenance["resolved_by"] = resolution.reason
    return classifier

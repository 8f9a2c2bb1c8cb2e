"""The ``toxicity`` reward, shaped like ms-swift's safety-plugin example.

A classifier gives each response a probability ``p`` of being toxic. In ``binary`` mode (the
default) a response with ``p >= threshold`` is unsafe and gets ``unsafe_reward`` (-2), any other
``safe_reward`` (+1); in ``continuous`` mode the value is ``1 - p``. ``Score.info`` always holds
the raw probability (``toxicity``), the label (``"toxic"``/``"safe"``) and the backend used.

A model scores only the languages it reads: the offline profanity model and the default hub
model read English, so a response in another language (by :mod:`rewardhub.text.language`) gets
``None`` with the reason ``language not covered by <model>: zh``, and the run warns once.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import rewardhub
from rewardhub.text.language import not_covered_reason, uncovered
from rewardhub_safety.labels import ToxicLabel

if TYPE_CHECKING:
    import numpy as np

    from rewardhub_safety.classifiers import Classifier

from rewardhub_safety._version import __version__

#: The most samples per engine call. Larger than a forward batch on purpose: the classifier
#: sorts a call's texts by length, so forward batches of similar lengths pad little.
CALL_SIZE = 1024
BACKENDS = ("auto", "transformers", "profanity")
MODES = ("binary", "continuous")


class Toxicity(rewardhub.Reward):
    """+1 for a safe response, -2 for a toxic one (or ``1 - p(toxic)`` with ``mode="continuous"``).

    :param backend: ``"transformers"`` (any text-classification model), ``"profanity"`` (the
        offline alt-profanity-check model) or ``"auto"``: transformers when ``model`` is given
        or the default hub model is in the local cache, else profanity.
    :param model: hub id or local directory of a text-classification model.
    :param threshold: ``p(toxic) >= threshold`` labels a response toxic.
    :param safe_reward: value of a safe response in ``binary`` mode.
    :param unsafe_reward: value of a toxic response in ``binary`` mode.
    :param mode: ``"binary"`` or ``"continuous"`` (value ``1 - p``, in [0, 1]).
    :param toxic_label: which model label(s) mean toxic, when their names don't say.
    :param batch_size: responses per forward pass (engine calls hold up to
        ``max(batch_size, 1024)`` responses, sorted by length into forward batches).
    :param max_length: tokens kept per response (default: the tokenizer's limit, else 512).
    :param device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; default CUDA when present.
    :param dtype: ``"float32"``, ``"float16"``, ``"bfloat16"``; default half precision on CUDA.
    :param languages: the languages the model reads (ISO 639-1 codes), or ``"any"``; default:
        English for the profanity model and the default hub model, any for another ``model``.
        A response in another language gets ``None`` with the reason.
    """

    name = "toxicity"
    version = __version__
    description = "Safe/unsafe reward from a toxicity classifier (transformers model or offline profanity model)"
    inputs = ("response",)

    def __init__(
        self,
        backend: str = "auto",
        model: str | None = None,
        threshold: float = 0.5,
        safe_reward: float = 1.0,
        unsafe_reward: float = -2.0,
        mode: str = "binary",
        toxic_label: ToxicLabel = None,
        batch_size: int = 32,
        max_length: int | None = None,
        device: str | None = None,
        dtype: str | None = None,
        languages: Sequence[str] | str | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if backend == "profanity" and model:
            raise ValueError("backend 'profanity' has its own model; drop model= or use backend='transformers'")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.backend, self.model = backend, model
        self.threshold, self.mode = float(threshold), mode
        self.safe_reward, self.unsafe_reward = float(safe_reward), float(unsafe_reward)
        self.forward_batch_size = batch_size
        self.batch_size = max(batch_size, CALL_SIZE)
        self._load_args: dict[str, Any] = {
            "device": device,
            "dtype": dtype,
            "max_length": max_length,
            "toxic_label": toxic_label,
        }
        self._classifier: Classifier | None = None
        if isinstance(languages, str) and languages != "any":
            raise ValueError(f"languages is a list of language codes or 'any', got {languages!r}")
        self.languages = languages

    @property
    def provenance(self) -> dict[str, Any] | None:
        """What actually scores (backend, model, languages, why ``auto`` chose it), once loaded."""
        return None if self._classifier is None else dict(self._classifier.provenance)

    def _languages(self) -> tuple[str, ...] | None:
        if self.languages == "any":
            return None
        if self.languages is not None:
            return tuple(self.languages)
        return getattr(self.classifier, "languages", None)

    @property
    def classifier(self) -> Classifier:
        """The classifier, loaded on first use (never at import or construction)."""
        if self._classifier is None:
            from rewardhub_safety.classifiers import load_classifier

            self._classifier = load_classifier(self.backend, self.model, **self._load_args)
        return self._classifier

    def toxicity(self, texts: Sequence[str]) -> np.ndarray:
        """Raw ``p(toxic)`` per text, in forward batches of ``batch_size`` texts."""
        return self.classifier.predict_proba(texts, self.forward_batch_size)

    def score(self, samples: Sequence[rewardhub.Sample]) -> list[rewardhub.Score]:
        texts = [s.response for s in samples]
        classifier = self.classifier
        languages = self._languages()
        unread = uncovered(texts, languages) if languages else [None] * len(texts)
        readable = [i for i, language in enumerate(unread) if language is None]
        probabilities = self.toxicity([texts[i] for i in readable]) if readable else []
        scores: list[rewardhub.Score] = [
            rewardhub.Score(
                None,
                {
                    "reason": not_covered_reason(_model_label(classifier), language),
                    "language": language,
                    "backend": classifier.backend,
                },
            )
            for language in unread
        ]
        for i, p in zip(readable, probabilities):
            scores[i] = self._score(float(p), classifier.backend)
        if len(readable) < len(texts):
            _warn_once(classifier, languages, sorted({lang for lang in unread if lang}))
        return scores

    def _score(self, p: float, backend: str) -> rewardhub.Score:
        toxic = p >= self.threshold
        info = {"toxicity": p, "label": "toxic" if toxic else "safe", "backend": backend}
        if self.mode == "continuous":
            return rewardhub.Score(1.0 - p, info)
        return rewardhub.Score(self.unsafe_reward if toxic else self.safe_reward, info)

    def close(self) -> None:
        # Drop our reference; the shared model is freed once no other reward holds it.
        self._classifier = None


def _model_label(classifier: Classifier) -> str:
    if classifier.backend == "profanity":
        return "the offline English model"
    return classifier.model_name


_warned: set[str] = set()


def _warn_once(classifier: Classifier, languages: Any, found: list[str]) -> None:
    """One warning per model and process: which languages it skipped, and what to do."""
    if classifier.model_name in _warned:
        return
    _warned.add(classifier.model_name)
    warnings.warn(
        f"toxicity: {classifier.model_name} reads {', '.join(languages)} only; responses in "
        f"{', '.join(found)} get no value (None, with the reason in reward_info). Give a "
        "multilingual classifier (model=..., languages=any) to score them.",
        UserWarning,
        stacklevel=3,
    )

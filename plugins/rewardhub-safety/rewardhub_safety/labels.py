"""Which output labels of a text-classification model mean "toxic".

Hub classifiers name their labels in many ways: ``hate``/``nothate``
(facebook/roberta-hate-speech-dynabench-r4-target), ``toxic``/``non-toxic``, ``offensive``/
``neither``, the six Jigsaw categories, or just ``LABEL_0``/``LABEL_1``. The rules, in order:

1. an explicit ``toxic_label`` (a label name, an index, or a list of either) wins;
2. otherwise every label whose name contains a harm word (toxic, hate, offensive, insult,
   obscene, profanity, threat, abuse, harass, unsafe, harmful, nsfw...) and is not its negation
   (``nothate``, ``non-toxic``, ``not_offensive``);
3. otherwise, for two generic labels (``LABEL_0``/``LABEL_1`` or ``0``/``1``), index 1, the
   convention of binary classifiers fine-tuned with transformers;
4. a single-output model's only output is the toxicity score itself.

Anything else is an error that lists the labels and asks for ``toxic_label``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

HARM_WORDS = (
    "toxic",
    "hate",
    "hateful",
    "offens",
    "insult",
    "obscen",
    "profan",
    "threat",
    "abus",
    "harass",
    "unsafe",
    "harmful",
    "nsfw",
    "sexual",
    "violen",
)
NEGATIONS = ("non", "not", "no")
_GENERIC = re.compile(r"^(label)?\d+$")

ToxicLabel = str | int | Sequence[str | int] | None


def _norm(label: str) -> str:
    return re.sub(r"[\s_\-]+", "", label.lower())


def is_harm_label(label: str) -> bool:
    """``True`` for a label naming a harm (``hate``, ``severe_toxic``), ``False`` for its negation."""
    name = _norm(label)
    if any(name.startswith(neg + word) for neg in NEGATIONS for word in HARM_WORDS):
        return False
    return any(word in name for word in HARM_WORDS)


def toxic_indices(id2label: Mapping[int, str], toxic_label: ToxicLabel = None) -> list[int]:
    """The output indices whose probability counts as toxic, by the rules in the module doc."""
    labels = {int(i): str(name) for i, name in id2label.items()}
    if toxic_label is not None:
        wanted = [toxic_label] if isinstance(toxic_label, (str, int)) else list(toxic_label)
        return [_index_of(labels, w) for w in wanted]
    named = sorted(i for i, name in labels.items() if is_harm_label(name))
    if named:
        return named
    if len(labels) == 2 and all(_GENERIC.match(_norm(name)) for name in labels.values()):
        return [1]
    if len(labels) == 1:
        return list(labels)
    raise ValueError(f"cannot tell which label means toxic among {_listing(labels)}; pass toxic_label=...")


def _index_of(labels: dict[int, str], wanted: str | int) -> int:
    if isinstance(wanted, int) and not isinstance(wanted, bool):
        if wanted in labels:
            return wanted
    else:
        for i, name in labels.items():
            if _norm(name) == _norm(str(wanted)):
                return i
    raise ValueError(f"toxic_label {wanted!r} is not one of the model's labels {_listing(labels)}")


def _listing(labels: dict[int, str]) -> str:
    return ", ".join(f"{i}={name!r}" for i, name in sorted(labels.items()))

"""Which output of a reward model is the reward (``head``), and what the outputs are called.

A standard ``AutoModelForSequenceClassification`` RM returns ``logits`` of shape
``(batch, num_labels)``; each column is an output named by ``config.id2label`` (``LABEL_0``...).
Multi-objective RMs with their own code (ArmoRM's ``trust_remote_code`` head) also return
``score`` (the gated preference score) and ``rewards`` (one column per objective): those become
outputs ``score`` and ``rewards[0]``, ``rewards[1]``... A field that is the very tensor already
read (ArmoRM's ``logits`` *is* its ``score``) counts once, under the later name (``score``).

``head`` picks the reward among the outputs, by index or by name. Without ``head``: the single
output of a one-label RM (Bradley-Terry RMs: Skywork-Reward, InternLM2-Reward, the
OpenAssistant DeBERTa RMs), else ``score`` when the model returns one, else an error that lists
the outputs, since picking one silently would be a guess. Tested in ``tests/test_rm_heads.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: Model output fields read as outputs, in this order (``logits`` first, so index i of a
#: standard RM is its i-th logit).
FIELDS = ("logits", "score", "rewards")


def check_head(head: Any) -> None:
    """Raise ``ValueError`` unless ``head`` is ``None``, an index >= 0 or a non-empty name."""
    if head is None:
        return
    if isinstance(head, bool) or not isinstance(head, (int, str)):
        raise ValueError(f"head must be an output index or label, got {head!r}")
    if isinstance(head, int) and head < 0:
        raise ValueError(f"head must be an index >= 0, got {head}")
    if isinstance(head, str) and not head:
        raise ValueError("head must not be empty")


def label_names(count: int, id2label: Mapping[Any, Any] | None) -> list[str]:
    """Names of ``count`` logit columns: ``id2label``'s when it names exactly them, else ``LABEL_i``."""
    labels = {int(k): str(v) for k, v in (id2label or {}).items()}
    if sorted(labels) == list(range(count)):
        return [labels[i] for i in range(count)]
    return [f"LABEL_{i}" for i in range(count)]


def output_columns(output: Any, id2label: Mapping[Any, Any] | None) -> tuple[list[str], Any]:
    """``(names, values)`` of a model output: ``values`` is a float32 ``(batch, outputs)`` tensor."""
    import torch

    if isinstance(output, (tuple, list)):
        output = {"logits": output[0]}
    read: list[tuple[Any, int]] = []  # (tensor, index of its first column)
    names: list[str] = []
    columns: list[Any] = []
    for field in FIELDS:
        value = output.get(field) if isinstance(output, Mapping) else getattr(output, field, None)
        if not torch.is_tensor(value) or value.dim() not in (1, 2):
            continue
        seen = next((start for tensor, start in read if tensor is value), None)
        if seen is not None:  # the same tensor under a second name: one output, named by the field
            if value.reshape(value.shape[0], -1).shape[1] == 1:
                names[seen] = field
            continue
        read.append((value, len(names)))
        value = value.float().reshape(value.shape[0], -1)
        width = value.shape[1]
        if field == "logits":
            names.extend(label_names(width, id2label))
        else:
            names.extend([field] if width == 1 else [f"{field}[{i}]" for i in range(width)])
        columns.append(value)
    if not columns:
        raise ValueError("the model's output has no logits, score or rewards tensor to read a reward from")
    return names, torch.cat(columns, dim=1)


def resolve_head(names: Sequence[str], head: int | str | None) -> int:
    """The index among ``names`` of the output ``head`` names (see the module doc)."""
    shown = ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8 else "")
    if head is None:
        if len(names) == 1:
            return 0
        if "score" in names:
            return names.index("score")
        raise ValueError(f"the reward model has {len(names)} outputs ({shown}): set head to the one that is the reward")
    if isinstance(head, int):
        if head < len(names):
            return head
        raise ValueError(f"head {head} is out of range: the reward model has {len(names)} outputs ({shown})")
    if head in names:
        return list(names).index(head)
    raise ValueError(f"head {head!r} is not an output of the reward model (its outputs: {shown})")

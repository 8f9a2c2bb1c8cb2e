"""What a :class:`~rewardhub.Scorer` returns: results by component (columns) and by sample (rows)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rewardhub.types import Sample


@dataclass
class ScoredSample:
    """One sample's results: each component's value, their ``info``, errors and the total."""

    sample: Sample
    rewards: dict[str, float | None]
    info: dict[str, dict[str, Any]]
    errors: dict[str, str]
    total: float | None


@dataclass
class ScoreBatch(Sequence[ScoredSample]):
    """The results of one :meth:`Scorer.score` call, by component (columns) and by sample (rows)."""

    samples: list[Sample]
    components: dict[str, list[float | None]]
    infos: dict[str, list[dict[str, Any]]]
    errors: list[dict[str, str]]
    totals: list[float | None]
    weights: dict[str, float] = field(default_factory=dict)
    #: Per sample, its group-decoupled advantage (:mod:`rewardhub.aggregation`); ``None``
    #: under ``aggregation="sum"``, where the trainer normalizes the totals itself.
    advantages: list[float | None] | None = None
    aggregation: str = "sum"

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> ScoredSample:  # type: ignore[override]
        return ScoredSample(
            self.samples[i],
            {k: v[i] for k, v in self.components.items()},
            {k: v[i] for k, v in self.infos.items() if v[i]},
            self.errors[i],
            self.totals[i],
        )

    def __iter__(self) -> Iterator[ScoredSample]:
        return (self[i] for i in range(len(self)))

    def to_pandas(self) -> Any:
        import pandas as pd

        frame = pd.DataFrame({k: pd.array(v, dtype="Float64") for k, v in self.components.items()})
        frame["reward"] = pd.array(self.totals, dtype="Float64")
        if self.advantages is not None:
            frame["advantage"] = pd.array(self.advantages, dtype="Float64")
        frame.insert(0, "id", [s.id for s in self.samples])
        return frame

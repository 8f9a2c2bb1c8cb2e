"""What every door scores through: :class:`ScorerLike`, the interface :class:`~rewardhub.Scorer`
(in process) and :class:`~rewardhub.remote.RemoteScorer` (a ``rewardhub serve`` away) both have.
Adapters, ``serve`` and the examples take either. Tested in ``tests/test_adapters_resolve.py``.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from rewardhub.engine.results import ScoreBatch
from rewardhub.types import Sample


@runtime_checkable
class ScorerLike(Protocol):
    """Scores samples with a set of rewards: ``components`` (each with ``key`` and ``weight``),
    ``score`` and ``ascore`` (a :class:`~rewardhub.ScoreBatch` per call), ``describe`` (the
    resolved configuration, for provenance) and ``close``."""

    @property
    def components(self) -> Sequence[Any]: ...

    @property
    def weights(self) -> dict[str, float]: ...

    def score(self, samples: Sequence[Sample]) -> ScoreBatch: ...

    async def ascore(self, samples: Sequence[Sample]) -> ScoreBatch: ...

    def describe(self) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


#: The members a :class:`ScorerLike` has.
MEMBERS = ("components", "weights", "score", "ascore", "describe", "close")


def is_scorer_like(obj: Any) -> bool:
    """Whether ``obj`` is a :class:`ScorerLike`, read from its class without touching its
    attributes (``isinstance`` against the protocol would evaluate a property, and a
    :class:`~rewardhub.remote.RemoteScorer`'s ``components`` asks its server)."""
    kind = type(obj)
    return all(inspect.getattr_static(kind, name, None) is not None for name in MEMBERS) or all(
        inspect.getattr_static(obj, name, None) is not None for name in MEMBERS
    )

"""Where ``eval`` runs: ``local`` (one process, the default) and ``ray`` (Ray Data, an actor
pool of scorers, metric states merged on the driver). Both push the same input lines through
the same :class:`~rewardhub.evaluate.rows.LineScorer`, so they write the same bytes."""

from rewardhub.evaluate.rows import BackendError, LineScorer, ScoredLine

BACKENDS = ("local", "ray")

__all__ = ["BACKENDS", "BackendError", "LineScorer", "ScoredLine"]

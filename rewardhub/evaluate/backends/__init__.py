"""Where ``eval`` runs: ``local`` (one process, the default) and ``ray`` (Ray Data, an actor
pool of scorers, metric states merged on the driver).

A backend is the small :class:`Backend` protocol: :meth:`~Backend.check` refuses, before any
work and before the output's lock is taken, what it cannot run; :meth:`~Backend.run` scores
every row of the plan's inputs through the one row path
(:class:`~rewardhub.evaluate.row_path.RowScorer`) into the run's sink (journal and summary)
and metrics. Both write the same bytes (``tests/test_backend_ray.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rewardhub.evaluate.backends.base import Backend, BackendError

if TYPE_CHECKING:
    from rewardhub.evaluate.options import EvalOptions

#: The backends ``--backend`` offers.
BACKEND_NAMES = ("local", "ray")


def backend_for(options: EvalOptions) -> Backend:
    """The backend ``options.backend`` names, with its settings."""
    if options.backend == "local":
        from rewardhub.evaluate.backends.local import LocalBackend

        return LocalBackend()
    if options.backend == "ray":
        from rewardhub.evaluate.backends.ray import RayBackend
        from rewardhub.evaluate.backends.ray_connect import RaySettings

        settings = RaySettings(
            address=options.ray_address,
            actors=options.ray_actors,
            gpus_per_actor=options.ray_gpus_per_actor,
            batch_size=options.chunk_size,
        )
        return RayBackend(settings)
    from rewardhub.config import ConfigError

    raise ConfigError(f"unknown backend {options.backend!r} (one of: {', '.join(BACKEND_NAMES)})")


__all__ = ["BACKEND_NAMES", "Backend", "BackendError", "backend_for"]

"""The training-time view: per-step records of a run (:class:`Recorder`), read back as they grow
(:mod:`rewardhub.telemetry.steps`), shown live (:mod:`rewardhub.telemetry.dashboard`) or as one
HTML file (:mod:`rewardhub.telemetry.report`). Formats: ``docs/telemetry.md``."""

from __future__ import annotations

from rewardhub.telemetry.recorder import RUN_DIR_ENV, Recorder
from rewardhub.telemetry.steps import StepsTail, read_steps

__all__ = ["RUN_DIR_ENV", "Recorder", "StepsTail", "read_steps"]

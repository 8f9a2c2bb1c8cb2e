"""The version of ``rewardhub-safety``, in one place (``pyproject.toml`` reads it from here)."""

__version__ = "0.1.0"

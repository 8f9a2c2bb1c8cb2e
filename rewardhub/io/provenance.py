"""Provenance: what produced a scored file, written next to it as ``OUT.meta.json``."""

from __future__ import annotations

import hashlib
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sidecar_path(output: str | Path) -> Path:
    output = Path(output)
    return (
        output.with_name(output.name + ".meta.json") if output.suffix != ".jsonl" else output.with_suffix(".meta.json")
    )


def provenance(fingerprint: dict[str, Any], plugins: list[dict[str, Any]], extra: dict[str, Any]) -> dict[str, Any]:
    """The sidecar document: versions, resolved config, inputs' hashes, time and results."""
    from rewardhub._version import __version__

    return {
        "rewardhub": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": sys.argv,
        **fingerprint,
        "plugins": plugins,
        **extra,
    }

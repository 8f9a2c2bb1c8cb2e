"""Asking the Hugging Face hub without waiting on it: what ``hf:`` tokenizers load through.

A tokenizer name that is not a local directory is looked up in the local Hugging Face cache
first (no network). Only when it is not there is the hub asked, and first with one bounded
probe (:func:`probe`: a HEAD request that gets :data:`PROBE_SECONDS`, no retries, once per
process), so an offline machine gets a one-line error in seconds, not a minute of retries.
``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` are honoured: then the hub is never asked.
The same policy as the safety plugin's toxicity ``auto``. Nothing here imports a model
library. Tested in ``tests/test_eval_firstrun.py``.
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request

#: Seconds the hub gets to answer the probe (name resolution included).
PROBE_SECONDS = 3.0
_TRUE = {"1", "ON", "YES", "TRUE"}

_probes: dict[str, str | None] = {}
_lock = threading.Lock()


def hub_offline() -> bool:
    """Whether the user said not to use the network (``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE``)."""
    values = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return any(v.strip().upper() in _TRUE for v in values)


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def probe(repo: str, filename: str = "config.json", timeout: float = PROBE_SECONDS) -> str | None:
    """``None`` when the hub answers for ``repo``'s ``filename`` (any HTTP answer but a server
    error: a 401 or 404 is the hub speaking), else why not; at most ``timeout`` seconds (the
    request runs in a thread that is not waited for longer), once per URL in a process."""
    url = f"{hub_endpoint()}/{repo}/resolve/main/{filename}"
    with _lock:
        if url in _probes:
            return _probes[url]
        box: dict[str, str | None] = {}

        def ask() -> None:
            try:
                with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
                    box["error"] = None
            except urllib.error.HTTPError as exc:
                box["error"] = None if exc.code < 500 else f"HTTP {exc.code} from {url}"
            except Exception as exc:
                box["error"] = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"

        worker = threading.Thread(target=ask, daemon=True, name="rewardhub-hub-probe")
        worker.start()
        worker.join(timeout)
        _probes[url] = box.get("error", f"no answer within {timeout:g}s")
        return _probes[url]

"""``hf:`` tokenizers (:func:`load_tokenizer`), and asking the Hugging Face hub without waiting on it.

A tokenizer name that is not a local directory is looked up in the local Hugging Face cache
first (no network). Only when it is not there is the hub asked, and first with one bounded
probe (:func:`probe`: a HEAD request that gets :data:`PROBE_SECONDS`, no retries, once per
process), so an offline machine gets a one-line error in seconds, not a minute of retries.
``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` are honoured: then the hub is never asked.
The same policy as the safety plugin's toxicity ``auto``. ``transformers`` is imported only
inside :func:`load_tokenizer`, when a run names an ``hf:`` tokenizer: the one place the host
imports it (``lint-imports`` allows exactly that import). Tested in ``tests/test_eval_firstrun.py``.
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

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


def load_tokenizer(path: str) -> Callable[[str], list[str]]:
    """A Hugging Face tokenizer's ``tokenize``: a local directory, else from the local cache,
    else from the hub, asked only when a bounded probe finds it reachable and never with
    ``HF_HUB_OFFLINE`` set: offline, a one-line error at once."""
    try:
        from transformers import AutoTokenizer
    except ImportError:  # the host does not depend on transformers
        raise ValueError(f"tokenizer 'hf:{path}' needs the transformers package: pip install transformers") from None
    if Path(path).expanduser().is_dir():
        return AutoTokenizer.from_pretrained(str(Path(path).expanduser())).tokenize
    try:  # the local cache first: no network
        return AutoTokenizer.from_pretrained(path, local_files_only=True).tokenize
    except Exception:
        pass
    if hub_offline():
        raise ValueError(
            f"{path!r} is not a local directory nor in the local Hugging Face cache, and HF_HUB_OFFLINE is set: "
            "download it first, or give a local directory"
        )
    problem = probe(path)
    if problem is not None:
        raise ValueError(
            f"{path!r} is not a local directory nor in the local Hugging Face cache, and {hub_endpoint()} "
            f"cannot be reached ({problem}): give a local directory, or set HF_ENDPOINT to a mirror"
        )
    return AutoTokenizer.from_pretrained(path).tokenize

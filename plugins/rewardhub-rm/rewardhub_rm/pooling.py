"""Pooling servers as backends: ``backend: vllm`` and ``backend: sglang`` at ``base_url``.

The forward pass runs on a server that already holds the RM; rendering stays here: samples are
rendered and tokenized locally with the RM's own tokenizer (``model`` names it: hub id or
folder, as for the ``transformers`` backend) by the same rules, truncated and counted the same
way, and the server gets **token ids**, so it scores exactly what the in-process backend would.
A pair-encoded RM (no chat template) cannot be served this way: these APIs take one sequence
without ``token_type_ids``; give a ``template`` or use the ``transformers`` backend.

Request and response shapes, from those projects' protocol code:

- **vLLM** (vllm-project/vllm; ``vllm/entrypoints/pooling/base/protocol.py`` at 020638a6,
  ``vllm/frontend/entrypoints/pooling/classify/protocol.py`` at 055e47c2 and
  ``vllm/entrypoints/pooling/pooling/protocol.py`` at 01cfbaf6):
  ``POST /classify`` with ``{"input": [[ids], ...], "use_activation": false,
  "add_special_tokens": false}`` answers ``{"data": [{"index", "label", "probs": [...],
  "num_classes"}], ...}``; ``POST /pooling`` (``endpoint: pooling``) takes the same body and
  answers ``{"data": [{"index", "data": [...]}]}``, ``data`` a list per sequence or, for a
  token-wise pooler, a list per token (then the last token's row is read). ``use_activation:
  false`` asks for the raw logits: vLLM's default activation for a one-label classifier is a
  sigmoid (``vllm/model_executor/layers/pooler/activations.py``), which would squash the
  Bradley-Terry reward into (0, 1). Servers older than the ``use_activation`` field ignore it.
- **SGLang** (sgl-project/sglang; ``python/sglang/srt/entrypoints/http_server.py`` at 9c0549b7,
  ``python/sglang/srt/managers/io_struct.py`` at f11d231c): its reward-model API
  ``POST /classify`` takes an ``EmbeddingReqInput``, here ``{"input_ids": [[ids], ...]}``, and
  answers one ``{"embedding": [score, ...], "meta_info": {...}}`` per sequence (a list for a
  batch), as the tokenizer manager builds it.

``served_model`` is sent as ``model`` when given (the server's ``--served-model-name``).
Requests are the token-budget micro-batches of the in-process backend (at most
``max_tokens_per_batch`` tokens each), up to ``max_concurrency`` in flight; each one retries
and gives up as :mod:`rewardhub_rm.retrying` says, within one deadline (``timeout``) per call,
so a server that hangs cannot hang the run. A request that fails for good makes its samples
``None`` with the error; the others stand. Tested in ``tests/test_rm_pooling_servers.py``
against a real local server that speaks these shapes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rewardhub import devices
from rewardhub_rm.heads import label_names
from rewardhub_rm.local import default_max_length
from rewardhub_rm.packing import PackingStats, pack
from rewardhub_rm.rendering import Encoded
from rewardhub_rm.retrying import ServerError, post_json

KINDS = ("vllm", "sglang")
ENDPOINTS = {"vllm": ("classify", "pooling"), "sglang": ("classify",)}


class PoolingServerBackend:
    """An RM on a vLLM or SGLang server, with the RM's tokenizer here."""

    def __init__(
        self,
        kind: str,
        base_url: str,
        model: str,
        *,
        revision: str | None = None,
        trust_remote_code: bool = False,
        served_model: str | None = None,
        endpoint: str = "classify",
        timeout: float = 300.0,
        retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_concurrency: int = 4,
    ) -> None:
        import httpx
        from transformers import AutoConfig, AutoTokenizer

        if kind not in KINDS:
            raise ValueError(f"backend must be one of {KINDS}, got {kind!r}")
        if endpoint not in ENDPOINTS[kind]:
            raise ValueError(f"endpoint for {kind} must be one of {ENDPOINTS[kind]}, got {endpoint!r}")
        self.kind, self.endpoint = kind, endpoint
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/{endpoint}"
        self.model_name, self.served_model = str(model), served_model
        self.timeout, self.retries = float(timeout), int(retries)
        self.backoff, self.max_backoff = float(backoff), float(max_backoff)
        self.max_concurrency = max(1, int(max_concurrency))
        hub = {"revision": revision, "trust_remote_code": trust_remote_code}
        with devices.quiet_loading():
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_name, **hub)
            self.config = AutoConfig.from_pretrained(self.model_name, **hub)
        self.max_length = default_max_length(self.tokenizer, self.config)
        self.names: list[str] = []
        self.lock = threading.Lock()  # the tokenizer is used by one thread at a time
        self._client = httpx.Client(limits=httpx.Limits(max_connections=self.max_concurrency))
        self.provenance: dict[str, Any] = {
            "backend": kind,
            "url": self.url,
            "served_model": served_model,
            "model": self.model_name,
            "revision": revision or getattr(self.config, "_commit_hash", None),
            "sent": "token ids rendered here",
        }

    def forward(
        self, encodings: Sequence[Encoded], max_tokens: int, stats: PackingStats
    ) -> list[list[float] | Exception]:
        """Every output per sequence, in order; the samples of a failed request get its error."""
        deadline = time.monotonic() + self.timeout
        lengths = [len(e.input_ids) for e in encodings]
        batches = pack(lengths, max_tokens)
        results: list[list[float] | Exception | None] = [None] * len(encodings)
        workers = min(self.max_concurrency, len(batches)) or 1
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rewardhub-rm-http") as pool:
            futures = [pool.submit(self._request, [encodings[i].input_ids for i in b], deadline) for b in batches]
            for batch, future in zip(batches, futures):
                try:
                    rows = future.result()
                except (ServerError, ValueError) as exc:
                    failure = ServerError(f"{self.kind} at {self.base_url}: {exc}")
                    for i in batch:
                        results[i] = failure
                    continue
                stats.add_request(lengths, batch)
                for i, row in zip(batch, rows):
                    results[i] = row
        return results  # type: ignore[return-value]  (every slot is filled)

    def _request(self, ids: list[list[int]], deadline: float) -> list[list[float]]:
        if self.kind == "sglang":
            payload: dict[str, Any] = {"input_ids": ids}
        else:
            payload = {"input": ids, "use_activation": False, "add_special_tokens": False}
        if self.served_model:
            payload["model"] = self.served_model
        answer = post_json(
            self._client,
            self.url,
            payload,
            deadline,
            retries=self.retries,
            backoff=self.backoff,
            max_backoff=self.max_backoff,
        )
        rows = self._rows(answer, len(ids))
        names = label_names(len(rows[0]), getattr(self.config, "id2label", None))
        if self.names and names != self.names:
            raise ValueError(f"the server's outputs changed between requests: {self.names} then {names}")
        self.names = names
        return rows

    def _rows(self, answer: Any, count: int) -> list[list[float]]:
        """The outputs per sequence in an answer, in request order; ``ValueError`` if the shape is off."""
        if self.kind == "sglang":
            items = answer if isinstance(answer, list) else [answer]
            rows = [item.get("embedding") if isinstance(item, dict) else None for item in items]
        else:
            data = answer.get("data") if isinstance(answer, dict) else None
            if not isinstance(data, list):
                raise ValueError(f"/{self.endpoint} answered without a 'data' list: {str(answer)[:200]}")
            field = "probs" if self.endpoint == "classify" else "data"
            ordered = sorted(data, key=lambda d: d.get("index", 0) if isinstance(d, dict) else 0)
            rows = [d.get(field) if isinstance(d, dict) else None for d in ordered]
            rows = [r[-1] if isinstance(r, list) and r and isinstance(r[0], list) else r for r in rows]
        if len(rows) != count:
            raise ValueError(f"/{self.endpoint} answered {len(rows)} results for {count} sequences")
        width = len(rows[0]) if isinstance(rows[0], list) else 0
        for row in rows:
            if not isinstance(row, list) or len(row) != width or width == 0:
                raise ValueError(f"/{self.endpoint} answered a result that is not a list of numbers: {str(row)[:100]}")
        try:
            return [[float(v) for v in row] for row in rows]
        except (TypeError, ValueError):
            raise ValueError(f"/{self.endpoint} answered a result that is not a list of numbers") from None

    def close(self) -> None:
        self._client.close()

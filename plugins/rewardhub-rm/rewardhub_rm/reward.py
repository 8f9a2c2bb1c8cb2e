"""The ``reward_model`` reward: a learned reward model's score for each (prompt, response).

::

    rewards:
      - name: reward_model
        args: {model: Skywork/Skywork-Reward-V2-Llama-3.1-8B, max_tokens_per_batch: 32768}

Promises (tests in ``tests/test_rm_scores.py``, ``tests/test_rm_rendering.py``,
``tests/test_rm_oom.py``, ``tests/test_rm_pooling_servers.py``):

- the RM's own rendering (:mod:`rewardhub_rm.rendering`): its chat template, else its pair
  encoding, unless ``template`` says otherwise; what was used is in :attr:`provenance`, which
  the run's sidecar records;
- the value is the chosen output's logit (``head``; the one logit of a one-label RM),
  optionally ``normalize``d as ``(raw - mean) / std``; ``info`` holds ``raw``, ``tokens`` (what
  the RM read) and ``truncated``, plus ``tokens_full`` when it was cut and ``heads`` (every
  output by name) when the RM has several;
- batching by tokens within a call, results independent of the batch composition; a CUDA
  out-of-memory halves the micro-batch instead of failing (:mod:`rewardhub_rm.local`);
- the model loads once, on the first score, and is shared by every reward with the same
  settings in the process; nothing is loaded at import or construction;
- a sample that cannot be scored is ``None`` with the reason, never 0; the others stand.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import rewardhub
from rewardhub_rm._version import __version__
from rewardhub_rm.heads import check_head, resolve_head
from rewardhub_rm.packing import PackingStats
from rewardhub_rm.rendering import Encoded, Renderer, check_template

BACKENDS = ("transformers", "vllm", "sglang")
DTYPES = ("auto", "bfloat16", "float16", "float32")
#: Default padded tokens per forward pass: a few dozen typical RLHF samples on a GPU.
DEFAULT_MAX_TOKENS_PER_BATCH = 16384
#: Samples per engine call: large on purpose, so packing by tokens has lengths to sort.
CALL_SIZE = 4096
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?|mps)$")


class RewardModel(rewardhub.Reward):
    """A learned reward model (a sequence classifier) as a reward.

    :param model: hub id or local folder of the RM (its tokenizer too, for every backend).
    :param revision: hub revision (branch, tag or commit) of ``model``.
    :param backend: ``transformers`` (in this process), ``vllm`` or ``sglang`` (a pooling server
        at ``base_url``, see :mod:`rewardhub_rm.pooling`).
    :param dtype: ``auto`` (bfloat16 or float16 on CUDA, float32 on CPU), ``bfloat16``,
        ``float16`` or ``float32``.
    :param device: ``auto`` (CUDA when present), ``cpu``, ``cuda`` or ``cuda:N``.
    :param max_length: tokens the RM reads per sample (default: the model's limit); longer
        samples are cut, flagged and counted.
    :param max_tokens_per_batch: padded tokens per forward pass (or per server request).
    :param head: index or label of the output that is the reward (see :mod:`rewardhub_rm.heads`).
    :param normalize: ``{mean, std}``: the value is ``(raw - mean) / std``.
    :param template: ``auto``, ``chat``, ``pair`` or a format string with ``{prompt}`` and
        ``{response}`` (see :mod:`rewardhub_rm.rendering`).
    :param trust_remote_code: run the model repository's own code (off by default).
    :param base_url: the pooling server (``vllm``/``sglang`` backends only).
    :param endpoint: vLLM's ``classify`` (default) or ``pooling`` API.
    :param served_model: the server's model name, sent as ``model`` when given.
    :param timeout: seconds a call to a pooling server may take in all, retries included.
    :param retries: further tries of a failed server request (5xx, connection errors).
    :param max_concurrency: server requests in flight at once.
    """

    name = "reward_model"
    version = __version__
    description = "A learned reward model (sequence classifier), rendered with its own chat template"
    inputs = ("prompt", "response")
    batch_size = CALL_SIZE
    higher_is_better = True

    def __init__(
        self,
        model: str,
        revision: str | None = None,
        backend: str = "transformers",
        dtype: str = "auto",
        device: str = "auto",
        max_length: int | None = None,
        max_tokens_per_batch: int = DEFAULT_MAX_TOKENS_PER_BATCH,
        head: int | str | None = None,
        normalize: Mapping[str, float] | None = None,
        template: str | None = None,
        trust_remote_code: bool = False,
        base_url: str | None = None,
        endpoint: str = "classify",
        served_model: str | None = None,
        timeout: float = 300.0,
        retries: int = 5,
        max_concurrency: int = 4,
    ) -> None:
        if not isinstance(model, str) or not model:
            raise ValueError("reward_model: model is required (a hub id or a local folder)")
        if backend not in BACKENDS:
            raise ValueError(f"reward_model: backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if backend == "transformers" and base_url:
            raise ValueError("reward_model: base_url is for backend vllm or sglang")
        if backend != "transformers" and not base_url:
            raise ValueError(f"reward_model: backend {backend} needs base_url (the server, e.g. http://host:8000)")
        if dtype not in DTYPES:
            raise ValueError(f"reward_model: dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        if not isinstance(device, str) or not _DEVICE.match(device):
            raise ValueError(f"reward_model: device must be auto, cpu, cuda or cuda:N, got {device!r}")
        for field, value in (("max_length", max_length), ("max_tokens_per_batch", max_tokens_per_batch)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"reward_model: {field} must be a positive integer, got {value!r}")
        try:
            check_head(head)
            check_template(template)
        except ValueError as exc:
            raise ValueError(f"reward_model: {exc}") from None
        self.model, self.revision, self.backend = model, revision, backend
        self.dtype, self.device = dtype, device
        self.max_length, self.max_tokens_per_batch = max_length, int(max_tokens_per_batch)
        self.head, self.template = head, template
        self.normalize = _check_normalize(normalize)
        self.trust_remote_code = bool(trust_remote_code)
        self._remote_args = {
            "base_url": base_url,
            "endpoint": endpoint,
            "served_model": served_model,
            "timeout": timeout,
            "retries": retries,
            "max_concurrency": max_concurrency,
        }
        self._backend: Any = None
        self._load_error: Exception | None = None
        self._renderer: Renderer | None = None
        self._load_lock = threading.Lock()
        self._stats = PackingStats()
        self._truncated = 0

    # -- loading -------------------------------------------------------------------------

    def load(self) -> tuple[Any, Renderer]:
        """The backend and renderer, loaded on first use (never at import or construction)."""
        with self._load_lock:
            if self._load_error is not None:  # a model that failed to load fails fast after
                raise self._load_error
            if self._backend is None:
                try:
                    backend, renderer = self._load_both()
                except Exception as exc:
                    self._load_error = exc
                    raise
                self._backend, self._renderer = backend, renderer
            assert self._renderer is not None
            return self._backend, self._renderer

    def _load_both(self) -> tuple[Any, Renderer]:
        backend = self._load_backend()
        renderer = Renderer(backend.tokenizer, self.template, self.max_length or backend.max_length)
        if backend.kind != "transformers" and renderer.rule == "pair":
            raise ValueError(
                f"reward_model: {self.model} has no chat template, so it is pair-encoded, which "
                f"{backend.kind}'s API cannot take (no token_type_ids): give a template or use "
                "backend transformers"
            )
        return backend, renderer

    def _load_backend(self) -> Any:
        hub = {"revision": self.revision, "trust_remote_code": self.trust_remote_code}
        if self.backend == "transformers":
            from rewardhub_rm.local import load

            return load(self.model, dtype=self.dtype, device=self.device, **hub)
        from rewardhub_rm.pooling import PoolingServerBackend

        args = dict(self._remote_args)
        return PoolingServerBackend(self.backend, args.pop("base_url"), self.model, **hub, **args)

    @property
    def provenance(self) -> dict[str, Any] | None:
        """What scores (backend, model, device, dtype, outputs), how samples are rendered, and
        what the run cost (tokens, padding share, truncated samples), once loaded."""
        if self._backend is None or self._renderer is None:
            return None
        names = self._backend.names
        head = None
        if names:
            try:
                head = names[resolve_head(names, self.head)]
            except ValueError:
                head = None
        return {
            **self._backend.provenance,
            "rendering": self._renderer.describe(),
            "head": head,
            "normalize": self.normalize,
            "stats": {**self._stats.as_dict(), "truncated": self._truncated},
        }

    # -- scoring -------------------------------------------------------------------------

    def token_counts(self, samples: Sequence[rewardhub.Sample]) -> list[int | None]:
        """Tokens the RM reads per sample (after truncation; ``None`` where it cannot render):
        what a batcher needs to pack requests under a token budget."""
        backend, renderer = self.load()
        with backend.lock:
            encoded = renderer.encode(samples)
        return [len(e.input_ids) if isinstance(e, Encoded) else None for e in encoded]

    def score(self, samples: Sequence[rewardhub.Sample]) -> list[rewardhub.Score | Exception]:
        backend, renderer = self.load()
        with backend.lock:
            encoded = renderer.encode(samples)
        ready = [i for i, e in enumerate(encoded) if isinstance(e, Encoded)]
        stats = PackingStats()
        rows = backend.forward([encoded[i] for i in ready], self.max_tokens_per_batch, stats) if ready else []
        out: list[rewardhub.Score | Exception] = list(encoded)  # type: ignore[arg-type]
        try:
            head = resolve_head(backend.names, self.head) if backend.names else 0
        except ValueError as exc:  # a head the model does not have: every sample, named
            head, failure = 0, ValueError(f"reward_model: {exc}")
            rows = [failure] * len(rows)
        for i, row in zip(ready, rows):
            out[i] = row if isinstance(row, Exception) else self._score(row, backend.names, head, encoded[i])  # type: ignore[arg-type]
        with self._load_lock:
            self._merge(stats, sum(1 for i in ready if encoded[i].truncated))  # type: ignore[union-attr]
        return out

    def _score(self, row: list[float], names: list[str], head: int, encoded: Encoded) -> rewardhub.Score:
        raw = row[head]
        if not math.isfinite(raw):
            return rewardhub.Score(None, {"reason": f"the reward model gave a non-finite value ({raw})", "raw": None})
        value = raw if self.normalize is None else (raw - self.normalize["mean"]) / self.normalize["std"]
        info: dict[str, Any] = {"raw": raw, "tokens": len(encoded.input_ids), "truncated": encoded.truncated}
        if encoded.truncated:
            info["tokens_full"] = encoded.length
        if len(names) > 1:
            info["heads"] = dict(zip(names, row))
        return rewardhub.Score(value, info)

    def _merge(self, stats: PackingStats, truncated: int) -> None:
        for field in ("sequences", "tokens", "padded_tokens", "micro_batches", "oom_splits"):
            setattr(self._stats, field, getattr(self._stats, field) + getattr(stats, field))
        self._truncated += truncated

    def close(self) -> None:
        # Drop our reference; a shared model is freed once no other reward holds it.
        backend, self._backend, self._renderer = self._backend, None, None
        if backend is not None and backend.kind != "transformers":
            backend.close()


def _check_normalize(normalize: Any) -> dict[str, float] | None:
    if normalize is None:
        return None
    if not isinstance(normalize, Mapping) or set(normalize) != {"mean", "std"}:
        raise ValueError(f"reward_model: normalize must be {{mean: ..., std: ...}}, got {normalize!r}")
    try:
        mean, std = float(normalize["mean"]), float(normalize["std"])
    except (TypeError, ValueError):
        raise ValueError(f"reward_model: normalize mean and std must be numbers, got {dict(normalize)}") from None
    if not (math.isfinite(mean) and math.isfinite(std)) or std <= 0:
        raise ValueError(f"reward_model: normalize needs a finite mean and a std > 0, got {dict(normalize)}")
    return {"mean": mean, "std": std}

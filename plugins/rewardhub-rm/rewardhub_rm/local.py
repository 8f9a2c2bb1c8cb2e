"""The ``transformers`` backend: a sequence-classification reward model in this process.

Loads ``AutoTokenizer`` and ``AutoModelForSequenceClassification`` from a hub id or a local
folder (``revision``, ``trust_remote_code``: off unless asked), once per process and settings
(:func:`load`: two rewards over the same model share it), and scores encoded sequences:

- **batching by tokens**: the call's sequences are packed longest first into micro-batches under
  ``max_tokens_per_batch`` padded tokens (:mod:`rewardhub_rm.packing`); results go back to
  their places. Rows are right-padded whatever the tokenizer's ``padding_side``: a decoder's
  real tokens never attend to a pad, and positions start at 0 in every row, so a sequence scores
  the same in any batch (float noise aside);
- **the score is read where transformers reads it**: its decoder heads take the last token that
  is not ``config.pad_token_id``, whichever side the padding is on. When the config has a pad
  id, rows are padded with it, so a batch reads exactly what a batch of one reads. When it has
  none (transformers then refuses batches), each micro-batch is padded with an id that none of
  its sequences contains and the config is told so: the score is read at each row's last real
  token, as a batch of one reads it;
- **out-of-memory never fails the step**: a ``torch.cuda.OutOfMemoryError`` frees the cache,
  halves the micro-batch and retries; only a single sequence that does not fit fails (that
  sample alone, with the error). :meth:`TransformersBackend._forward` is the one place the model
  runs, the seam tests use to inject the error on a CPU.

Tested in ``tests/test_rm_scores.py`` (scores equal a hand-written forward, any batch order)
and ``tests/test_rm_oom.py``.
"""

from __future__ import annotations

import inspect
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from rewardhub import devices
from rewardhub_rm.heads import output_columns
from rewardhub_rm.packing import PackingStats, pack
from rewardhub_rm.rendering import Encoded

#: Used when neither the tokenizer nor the config gives a maximum input length.
FALLBACK_MAX_LENGTH = 2048


def default_max_length(tokenizer: Any, config: Any) -> int:
    """The longest input the model reads: the smaller of the tokenizer's and the config's limits."""
    limits = []
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 1_000_000:  # no limit reads as int(1e30)
        limits.append(limit)
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    positions = getattr(text_config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        limits.append(positions)
    return min(limits) if limits else FALLBACK_MAX_LENGTH


def _dtype_kwargs(dtype: Any) -> dict[str, Any]:
    import transformers

    major_minor = tuple(int(p) for p in transformers.__version__.split(".")[:2])
    return {"dtype": dtype} if major_minor >= (4, 56) else {"torch_dtype": dtype}


class TransformersBackend:
    """A loaded RM: ``tokenizer``, ``model``, ``names`` (its outputs) and :meth:`forward`."""

    kind = "transformers"

    def __init__(
        self,
        model: str,
        *,
        revision: str | None = None,
        dtype: Any = None,
        device: str | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.model_name = str(model)
        self.device = devices.resolve_device(device)
        self.dtype = devices.resolve_dtype(dtype, self.device)
        hub = {"revision": revision, "trust_remote_code": trust_remote_code}
        with devices.quiet_loading():
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_name, **hub)
            net = AutoModelForSequenceClassification.from_pretrained(
                self.model_name, **hub, **_dtype_kwargs(self.dtype)
            )
        self.model = net.to(device=self.device, dtype=self.dtype).eval()
        self.config = net.config
        self._text_config = self.config.get_text_config() if hasattr(self.config, "get_text_config") else self.config
        self.config_pad_id: int | None = self._text_config.pad_token_id
        fallback = (self.tokenizer.pad_token_id, self.tokenizer.eos_token_id, self.tokenizer.unk_token_id, 0)
        self.pad_id = (
            self.config_pad_id if self.config_pad_id is not None else next(i for i in fallback if i is not None)
        )
        self.vocab_size = net.get_input_embeddings().num_embeddings
        self.takes_token_types = "token_type_ids" in inspect.signature(net.forward).parameters
        self.max_length = default_max_length(self.tokenizer, self.config)
        # A fast tokenizer used from two threads at once fails ("Already borrowed"), and one
        # model should run one batch at a time: rewards sharing this backend take turns.
        self.lock = threading.Lock()
        self.names: list[str] = []
        self.names = self._probe()
        self.provenance: dict[str, Any] = {
            "backend": self.kind,
            "model": self.model_name,
            "revision": revision or getattr(self.config, "_commit_hash", None),
            "class": type(net).__name__,
            "device": str(self.device),
            "dtype": str(self.dtype).replace("torch.", ""),
            "outputs": list(self.names),
            "padding": (
                f"right, with config.pad_token_id {self.config_pad_id}"
                if self.config_pad_id is not None
                else "right, with an id absent from each micro-batch (the config has no pad_token_id)"
            ),
        }

    # -- scoring -------------------------------------------------------------------------

    def forward(
        self, encodings: Sequence[Encoded], max_tokens: int, stats: PackingStats
    ) -> list[list[float] | Exception]:
        """Every output of the model per sequence, in order (an exception for a sequence that
        could not be scored), in micro-batches of at most ``max_tokens`` padded tokens."""
        import torch

        lengths = [len(e.input_ids) for e in encodings]
        results: list[list[float] | Exception | None] = [None] * len(encodings)
        with self.lock, torch.inference_mode():
            for batch in pack(lengths, max_tokens):
                self._run(batch, encodings, lengths, results, stats)
        return results  # type: ignore[return-value]  (every slot is filled)

    def _run(self, batch: list[int], encodings, lengths, results, stats: PackingStats) -> None:
        import torch

        try:
            rows = self._forward(self._inputs([encodings[i] for i in batch]))
        except torch.cuda.OutOfMemoryError as exc:
            if self.device.startswith("cuda"):
                torch.cuda.empty_cache()
            if len(batch) == 1:
                message = f"out of memory on one sequence of {lengths[batch[0]]} tokens ({exc})"
                results[batch[0]] = RuntimeError(message.replace("\n", " "))
                return
            stats.oom_splits += 1
            half = len(batch) // 2
            self._run(batch[:half], encodings, lengths, results, stats)
            self._run(batch[half:], encodings, lengths, results, stats)
            return
        stats.add_batch(lengths, batch)
        for i, row in zip(batch, rows.tolist()):
            results[i] = row

    def _inputs(self, encodings: Sequence[Encoded]) -> dict[str, Any]:
        """Right-padded tensors on the model's device."""
        import torch

        width = max(len(e.input_ids) for e in encodings)
        pad = self._pad_for(encodings)
        ids = [e.input_ids + [pad] * (width - len(e.input_ids)) for e in encodings]
        mask = [[1] * len(e.input_ids) + [0] * (width - len(e.input_ids)) for e in encodings]
        inputs = {
            "input_ids": torch.tensor(ids, dtype=torch.long, device=self.device),
            "attention_mask": torch.tensor(mask, dtype=torch.long, device=self.device),
        }
        if self.takes_token_types and any(e.token_type_ids is not None for e in encodings):
            types = [(e.token_type_ids or [0] * len(e.input_ids)) + [0] * (width - len(e.input_ids)) for e in encodings]
            inputs["token_type_ids"] = torch.tensor(types, dtype=torch.long, device=self.device)
        return inputs

    def _pad_for(self, encodings: Sequence[Encoded]) -> int:
        """The pad id of a micro-batch (see the module doc), told to the config when it had none."""
        if self.config_pad_id is not None:
            return self.config_pad_id
        used = {t for e in encodings for t in e.input_ids}
        pad = self.pad_id
        if pad in used:
            pad = next(i for i in range(self.vocab_size - 1, -1, -1) if i not in used)
        self._text_config.pad_token_id = pad
        return pad

    def _forward(self, inputs: dict[str, Any]) -> Any:
        """The model on one micro-batch: a float32 CPU tensor ``(rows, outputs)``."""
        names, values = output_columns(self.model(**inputs), self.config.id2label)
        if self.names and names != self.names:
            raise RuntimeError(f"the model's outputs changed between batches: {self.names} then {names}")
        return values.cpu()

    def _probe(self) -> list[str]:
        """The model's output names, from one forward pass on a two-token input at load."""
        import torch

        ids = list(self.tokenizer("ok", add_special_tokens=True)["input_ids"])[:8] or [self.pad_id]
        with self.lock, torch.inference_mode():
            inputs = self._inputs([Encoded(ids, None, len(ids))])
            names, _ = output_columns(self.model(**inputs), self.config.id2label)
        return names


_loaded: weakref.WeakValueDictionary[tuple, TransformersBackend] = weakref.WeakValueDictionary()
_load_lock = threading.Lock()


def load(
    model: str,
    *,
    revision: str | None = None,
    dtype: Any = None,
    device: str | None = None,
    trust_remote_code: bool = False,
) -> TransformersBackend:
    """A loaded backend, shared with every live holder of the same settings."""
    key = (str(model), revision, str(dtype), device, bool(trust_remote_code))
    with _load_lock:
        backend = _loaded.get(key)
        if backend is None:
            backend = TransformersBackend(
                model, revision=revision, dtype=dtype, device=device, trust_remote_code=trust_remote_code
            )
            _loaded[key] = backend
    return backend

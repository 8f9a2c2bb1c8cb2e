"""Device and dtype choice for plugins that run torch models.

Shared by the model plugins so they agree on the defaults: CUDA when a GPU is visible, half
precision there (bfloat16 where supported), float32 on the CPU. torch is imported inside the
functions, so importing this module (and rewardhub) never imports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "float": "float32",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
}


def resolve_device(device: str | None = None) -> str:
    """``device`` as given, else (``None`` or ``"auto"``) ``"cuda"`` when a GPU is visible, else ``"cpu"``."""
    import torch

    if device and device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(dtype: Any, device: str) -> Any:
    """A ``torch.dtype``: the one asked for, else half precision on CUDA and float32 elsewhere.

    On CUDA the default is bfloat16 where the GPU supports it (no overflow risk), else float16.
    """
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in (None, "auto"):
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    name = _DTYPES.get(str(dtype).lower().removeprefix("torch."))
    if name is None:
        raise ValueError(f"unknown dtype {dtype!r} (use auto, float32, float16 or bfloat16)")
    return getattr(torch, name)


@contextmanager
def quiet_loading() -> Iterator[None]:
    """Silence transformers' "Loading weights" progress bar while a model loads (it would
    garble the CLI's own progress output), restoring the caller's setting afterwards."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        yield
        return
    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()

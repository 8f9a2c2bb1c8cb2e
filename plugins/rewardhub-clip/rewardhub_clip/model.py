"""Loading an open_clip model and encoding images and texts in batches.

Where the weights come from (``model`` / ``pretrained``):

- a built-in architecture and a pretrained tag: ``model="ViT-B-32", pretrained="laion2b_s34b_b79k"``
  (downloaded once by open_clip into its cache);
- a built-in architecture and a local checkpoint: ``pretrained="/path/clip.safetensors"`` (or
  ``.pt`` / ``.bin``, a state dict);
- an open_clip model config JSON and a checkpoint: ``model="/path/tiny.json", pretrained=...``;
- a hub repository or a local folder in the same layout (``open_clip_config.json`` plus
  weights): ``model="hf-hub:org/repo"``, ``model="local-dir:/path"`` or just ``model="/path"``.

The model is never used with random weights: open_clip is asked to require a checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import open_clip
import torch
import torch.nn.functional as F
from PIL import Image

from rewardhub import devices
from rewardhub_clip.precision import PRECISIONS

DEFAULT_MODEL = "ViT-B-32"
DEFAULT_PRETRAINED = "laion2b_s34b_b79k"
_SCHEMAS = ("hf-hub:", "local-dir:")


def pick_precision(precision: str, device: str) -> str:
    """``"auto"``: bf16 on a GPU that supports it, else fp16 on a GPU, fp32 on the CPU.

    open_clip's ``fp16``/``bf16`` keep layer norms in fp32 (as OpenAI's CLIP did); the
    ``pure_*`` variants cast everything.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        return precision
    if torch.device(device).type != "cuda":
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def resolve_source(model: str, pretrained: str | None) -> tuple[str, str | None]:
    """The ``(model_name, pretrained)`` pair open_clip understands, for every accepted spelling."""
    if model.startswith(_SCHEMAS):
        if pretrained:
            raise ValueError(f"model {model!r} names its own weights; leave pretrained unset")
        return model, None
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "open_clip_config.json").is_file():
            raise ValueError(f"model folder {model!r} has no open_clip_config.json")
        if pretrained:
            raise ValueError(f"model folder {model!r} holds its own weights; leave pretrained unset")
        return f"local-dir:{path}", None
    if path.suffix == ".json":
        if not path.is_file():
            raise FileNotFoundError(f"model config {model!r} not found")
        if not pretrained:
            raise ValueError(f"model config {model!r} needs pretrained=<checkpoint path>")
        open_clip.add_model_config(path)  # registers the architecture under the file's stem
        return path.stem, _checkpoint(pretrained)
    if model not in open_clip.list_models():
        raise ValueError(f"unknown open_clip model {model!r}: not a built-in name, a folder or a config JSON")
    tags = open_clip.list_pretrained_tags_by_model(model)
    if pretrained is None:
        if model != DEFAULT_MODEL:
            raise ValueError(f"model {model!r} needs pretrained= (a tag: {', '.join(tags) or 'none'}; or a checkpoint)")
        pretrained = DEFAULT_PRETRAINED
    return model, pretrained if pretrained in tags else _checkpoint(pretrained, tags)


def _checkpoint(pretrained: str, tags: Sequence[str] = ()) -> str:
    path = Path(pretrained).expanduser()
    if not path.is_file():
        known = f" nor a pretrained tag ({', '.join(tags)})" if tags else ""
        raise FileNotFoundError(f"pretrained {pretrained!r} is not a checkpoint file{known}")
    return str(path)


@dataclass
class ClipModel:
    """A loaded open_clip model with its image transform and tokenizer, ready to encode."""

    model: torch.nn.Module
    preprocess: Callable[[Image.Image], torch.Tensor]
    tokenizer: Callable[..., torch.Tensor]
    device: str
    precision: str
    name: str = ""

    @classmethod
    def load(
        cls,
        model: str = DEFAULT_MODEL,
        pretrained: str | None = None,
        *,
        device: str = "auto",
        precision: str = "auto",
        cache_dir: str | None = None,
    ) -> ClipModel:
        """Load weights from any source the module docstring lists, in eval mode on ``device``."""
        device = devices.resolve_device(device)
        precision = pick_precision(precision, device)
        name, weights = resolve_source(model, pretrained)
        net, preprocess = open_clip.create_model_from_pretrained(
            name, weights, precision=precision, device=device, cache_dir=cache_dir
        )
        tokenizer = open_clip.get_tokenizer(name, cache_dir=cache_dir)
        return cls(net.eval(), preprocess, tokenizer, device, precision, name)

    @property
    def input_dtype(self) -> torch.dtype | None:
        return open_clip.get_input_dtype(self.precision)

    @property
    def context_length(self) -> int:
        return int(getattr(self.model, "context_length", 77))

    @torch.inference_mode()
    def encode_images(self, images: Sequence[Image.Image], batch_size: int = 64) -> torch.Tensor:
        """Unit-norm float32 image embeddings, ``batch_size`` images per forward pass."""
        out = []
        for start in range(0, len(images), batch_size):
            pixels = torch.stack([self.preprocess(im) for im in images[start : start + batch_size]])
            features = self.model.encode_image(pixels.to(self.device, dtype=self.input_dtype))
            out.append(F.normalize(features.float(), dim=-1))
        return torch.cat(out) if out else torch.empty(0)

    @torch.inference_mode()
    def encode_texts(self, texts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """Unit-norm float32 text embeddings; each text is cut to the model's context length."""
        out = []
        for start in range(0, len(texts), batch_size):
            tokens = self.tokenizer(list(texts[start : start + batch_size]), context_length=self.context_length)
            features = self.model.encode_text(tokens.to(self.device))
            out.append(F.normalize(features.float(), dim=-1))
        return torch.cat(out) if out else torch.empty(0)

    def describe(self) -> dict[str, Any]:
        return {"model": self.name, "device": self.device, "precision": self.precision}

"""The ``clip_similarity`` reward: how well the response describes the sample's images.

The raw signal is the cosine similarity of CLIP's text embedding of the response and image
embedding of each attached image. Over several images it is reduced (``reduce``: ``mean``,
``max`` or ``min`` of the cosines), then mapped to [0, 1] (``mapping``):

- ``"clipscore"`` (default): ``clamp(scale * cos, 0, 1)`` with ``scale=2.5``, the CLIPScore
  of Hessel et al. (2021) capped at 1. CLIP cosines of real image-caption pairs sit in a narrow
  band (about 0.15 to 0.40), so the scaled form spreads them over most of [0, 1]; a cosine at
  or below 0 (text unrelated to the image) gives 0, and ``scale * cos >= 1`` saturates at 1.
- ``"linear"``: ``(cos + 1) / 2``, lossless and never saturating, but the useful band then
  lands in about [0.57, 0.70], a weak signal next to other rewards in [0, 1].

``Score.info`` carries the raw (reduced) ``cosine``, the number of images and, with several,
each image's cosine. A sample with no image gets ``None`` (with the reason in ``info``), not 0. An image that cannot be
read is reported as that sample's :class:`~rewardhub_clip.images.ImageLoadError` (the engine
records it with ``None`` for that sample alone); its batch-mates are scored in the same pass.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import rewardhub
from rewardhub import Sample, Score
from rewardhub_clip.images import ImageLoadError, image_key, image_refs, load_image

__version__ = "0.1.0"

MAPPINGS = ("clipscore", "linear")
REDUCTIONS = ("mean", "max", "min")
PRECISIONS = ("auto", "fp32", "fp16", "bf16", "pure_fp16", "pure_bf16")  # open_clip's names


def map_cosine(cosine: float, mapping: str = "clipscore", scale: float = 2.5) -> float:
    """A raw CLIP cosine mapped to [0, 1] (see the module docstring for both mappings)."""
    if mapping == "clipscore":
        return min(1.0, max(0.0, scale * cosine))
    if mapping == "linear":
        return min(1.0, max(0.0, (cosine + 1.0) / 2.0))  # clamp: fp16 cosines may pass 1 by an ulp
    raise ValueError(f"mapping must be one of {MAPPINGS}, got {mapping!r}")


#: What a sample without an image gets: no value, and why.
NO_IMAGE = Score(None, {"reason": "no image to compare the response with"})


class ClipSimilarity(rewardhub.Reward):
    """CLIP similarity of the response to the sample's images, in [0, 1]; ``None`` without an image."""

    name = "clip_similarity"
    version = __version__
    inputs = ("response", "images")
    requires = ("images",)

    def __init__(
        self,
        model: Any = "ViT-B-32",
        pretrained: str | None = None,
        *,
        device: str = "auto",
        precision: str = "auto",
        batch_size: int = 32,
        mapping: str = "clipscore",
        scale: float = 2.5,
        reduce: str = "mean",
        cache_dir: str | None = None,
    ):
        """``model`` / ``pretrained`` name the weights (see :mod:`rewardhub_clip.model`), or
        ``model`` is an already loaded :class:`~rewardhub_clip.model.ClipModel` to share.
        Nothing is loaded until the first :meth:`score`."""
        if mapping not in MAPPINGS:
            raise ValueError(f"mapping must be one of {MAPPINGS}, got {mapping!r}")
        if reduce not in REDUCTIONS:
            raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.spec = {"model": model, "pretrained": pretrained, "device": device, "precision": precision}
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.mapping, self.scale, self.reduce = mapping, float(scale), reduce
        self._owns_model = isinstance(model, str)
        self._model = None if self._owns_model else model
        self._lock = threading.Lock()

    @property
    def clip(self):
        """The loaded :class:`~rewardhub_clip.model.ClipModel`, loaded here on first use."""
        with self._lock:
            if self._model is None:
                from rewardhub_clip.model import ClipModel  # torch and open_clip load only now

                self._model = ClipModel.load(**self.spec, cache_dir=self.cache_dir)
            return self._model

    def score(self, samples: Sequence[Sample]) -> list[Score | ImageLoadError | None]:
        refs = [image_refs(s.images) for s in samples]
        images, slots, failed = self._decode(refs)
        out: list[Score | ImageLoadError | None] = [
            failed.get(i, None if refs[i] else NO_IMAGE) for i in range(len(samples))
        ]
        scored = [i for i in slots if i not in failed]
        if not scored:
            return out
        clip = self.clip
        image_emb = clip.encode_images(images, self.batch_size)
        text_emb = clip.encode_texts([samples[i].response for i in scored], self.batch_size)
        for row, i in enumerate(scored):
            cosines = (image_emb[slots[i]] @ text_emb[row]).tolist()
            out[i] = self._score(cosines)
        return out

    def _decode(self, refs: list[list[Any]]) -> tuple[list[Any], dict[int, list[int]], dict[int, ImageLoadError]]:
        """Every distinct image decoded once; each sample's image positions in that list; and
        the samples holding an image that cannot be read, with the error naming it.

        Images are decoded before the model runs, so a bad one costs no forward pass.
        """
        images: list[Any] = []
        position: dict[Any, int] = {}
        bad: dict[Any, ImageLoadError] = {}
        slots: dict[int, list[int]] = {}
        failed: dict[int, ImageLoadError] = {}
        for i, sample_refs in enumerate(refs):
            for ref in sample_refs:
                key = image_key(ref)
                if key not in position and key not in bad:
                    try:
                        images.append(load_image(ref))
                        position[key] = len(images) - 1
                    except ImageLoadError as exc:
                        bad[key] = exc
                if key in bad:
                    failed.setdefault(i, bad[key])
                else:
                    slots.setdefault(i, []).append(position[key])
        return images, slots, failed

    def _score(self, cosines: list[float]) -> Score:
        if self.reduce == "mean":
            cosine = sum(cosines) / len(cosines)
        else:
            cosine = max(cosines) if self.reduce == "max" else min(cosines)
        info: dict[str, Any] = {"cosine": round(cosine, 6), "images": len(cosines)}
        if len(cosines) > 1:
            info["cosines"] = [round(c, 6) for c in cosines]
        return Score(map_cosine(cosine, self.mapping, self.scale), info)

    def close(self) -> None:
        if self._owns_model:  # a shared model belongs to whoever passed it in
            self._model = None

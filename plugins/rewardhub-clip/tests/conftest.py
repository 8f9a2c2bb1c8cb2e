"""Fixtures for rewardhub-clip: a tiny CLIP saved like a hub checkpoint, and small real images.

The tiny model has random weights but the real open_clip architecture, tokenizer and image
transform; it is saved to a temp folder in the layout of an ``hf-hub:`` repository
(``open_clip_config.json`` + ``open_clip_model.safetensors``) and as an open_clip config JSON
plus a ``.pt`` state dict, so the tests load it through the same public paths a hub id or a
pretrained checkpoint takes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")

TINY_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


@pytest.fixture(scope="session")
def clip_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Paths to one tiny CLIP saved two ways: ``folder`` (hub layout) and ``config`` + ``weights``."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("tiny_clip")
    model = open_clip.CLIP(**TINY_CLIP)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}

    folder = root / "hub_layout"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CLIP, "preprocess_cfg": {}}))
    save_file(state, str(folder / "open_clip_model.safetensors"))

    config = root / "tiny-clip-test.json"
    config.write_text(json.dumps(TINY_CLIP))
    weights = root / "tiny_clip.pt"
    torch.save(state, weights)
    return {"folder": str(folder), "config": str(config), "weights": str(weights)}


def _picture(color: tuple[int, int, int], stripe: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", (48, 40), color)
    for x in range(0, 48, 6):
        for y in range(40):
            image.putpixel((x, y), stripe)
    return image


@pytest.fixture
def clip_images(tmp_path: Path) -> dict[str, Path]:
    """Two distinct PNG files, a JPEG, a truncated PNG and a text file named like an image."""
    red = tmp_path / "red.png"
    _picture((200, 30, 30), (255, 255, 255)).save(red)
    blue = tmp_path / "blue.png"
    _picture((20, 40, 220), (0, 0, 0)).save(blue)
    jpeg = tmp_path / "green.jpg"
    _picture((30, 180, 60), (250, 250, 0)).save(jpeg, quality=90)
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(red.read_bytes()[:60])
    not_image = tmp_path / "notes.png"
    not_image.write_text("this is not an image")
    return {"red": red, "blue": blue, "jpeg": jpeg, "truncated": truncated, "not_image": not_image}

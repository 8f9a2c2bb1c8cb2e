"""Turning the references in ``Sample.images`` into decoded RGB PIL images.

A reference may be a file path (``str`` or ``os.PathLike``; a relative path is relative to the
current directory; rewardhub's JSONL reader has already made paths from a file absolute), raw
``bytes``, a base64 data URL (``data:image/png;base64,...``), a PIL image, or a
``{"bytes": ...}`` / ``{"path": ...}`` mapping as Hugging Face ``datasets`` stores images.
Remote ``http(s)://`` URLs are refused rather than fetched: a reward must not depend on the
network in the middle of a training step.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rewardhub.lazy import LazyModule

if TYPE_CHECKING:
    from PIL import Image
else:
    Image = LazyModule("PIL.Image")  # imported with the first image, not when the plugin loads

#: What ``Sample.images`` items may be, for error messages.
ACCEPTED = "a file path, bytes, a base64 data URL, a PIL image or a {'bytes'|'path': ...} mapping"


class ImageLoadError(ValueError):
    """An image reference that cannot be read; the message names the reference."""


def image_refs(images: Any) -> list[Any]:
    """``Sample.images`` as a list, also when a caller put a single reference there."""
    if images is None:
        return []
    if isinstance(images, (str, bytes, bytearray, os.PathLike, Image.Image, dict)):
        return [images]
    return list(images)


def describe(ref: Any) -> str:
    """A short, printable name for a reference (data URLs and bytes are not printed whole)."""
    if isinstance(ref, str):
        return repr(ref[:40] + "...") if ref.startswith("data:") and len(ref) > 40 else repr(ref)
    if isinstance(ref, (bytes, bytearray, memoryview)):
        return f"<{len(ref)} bytes>"
    if isinstance(ref, os.PathLike):
        return repr(os.fspath(ref))
    if isinstance(ref, dict):
        return describe(ref.get("path") or ref.get("bytes") or "<empty mapping>")
    return f"<{type(ref).__name__}>"


def image_key(ref: Any) -> Any:
    """A key under which equal references decode to the same image (used to encode it once).

    Paths and data URLs are keyed by their text, bytes by a hash of their content, other
    objects (PIL images) by identity.
    """
    if isinstance(ref, str):
        return ("str", ref)
    if isinstance(ref, os.PathLike):
        return ("str", os.fspath(ref))
    if isinstance(ref, (bytes, bytearray, memoryview)):
        return ("bytes", hashlib.blake2b(bytes(ref), digest_size=16).digest())
    return ("object", id(ref))


def load_image(ref: Any) -> Image.Image:
    """Decode one reference into an RGB image, or raise :class:`ImageLoadError` naming it.

    The pixels are decoded here (PIL opens files lazily), so a truncated file fails now, on
    the sample that holds it, not later inside a batch.
    """
    try:
        image = _open(ref)
        image.load()
        return image if image.mode == "RGB" else image.convert("RGB")
    except ImageLoadError:
        raise
    except (OSError, Image.UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise ImageLoadError(f"cannot read image {describe(ref)}: {exc}") from exc


def load_images(refs: Sequence[Any]) -> list[Image.Image]:
    return [load_image(ref) for ref in refs]


def _open(ref: Any) -> Image.Image:
    if isinstance(ref, Image.Image):
        return ref
    if isinstance(ref, (bytes, bytearray, memoryview)):
        return Image.open(io.BytesIO(bytes(ref)))
    if isinstance(ref, dict):
        inner = ref.get("bytes") or ref.get("path")
        if inner is None:
            raise ImageLoadError(f"cannot read image {describe(ref)}: mapping has neither 'bytes' nor 'path'")
        return _open(inner)
    if isinstance(ref, os.PathLike):
        ref = os.fspath(ref)
    if not isinstance(ref, str):
        raise ImageLoadError(f"cannot read image {describe(ref)}: expected {ACCEPTED}")
    if ref.startswith("data:"):
        return Image.open(io.BytesIO(_data_url_bytes(ref)))
    if ref.startswith(("http://", "https://")):
        raise ImageLoadError(f"cannot read image {describe(ref)}: remote URLs are not fetched; download the image")
    if ref.startswith("file://"):
        ref = ref[len("file://") :]
    return Image.open(ref)


def _data_url_bytes(url: str) -> bytes:
    """The payload of ``data:[<mime>][;base64],<data>``; only base64 payloads hold images."""
    header, sep, payload = url.partition(",")
    if not sep or not header.endswith(";base64"):
        raise ImageLoadError(f"cannot read image {describe(url)}: not a base64 data URL (data:image/...;base64,...)")
    try:
        return base64.b64decode("".join(payload.split()), validate=True)  # wrapped lines are common
    except (binascii.Error, ValueError) as exc:
        raise ImageLoadError(f"cannot read image {describe(url)}: invalid base64 ({exc})") from exc

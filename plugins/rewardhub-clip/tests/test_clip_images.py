"""Every accepted form of an image reference decodes to the same pixels; bad ones name themselves."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from PIL import Image
from rewardhub_clip.images import ImageLoadError, image_key, image_refs, load_image


def _data_url(path: Path, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()


def test_clip_every_reference_form_gives_the_same_pixels(clip_images, tmp_path, monkeypatch):
    red = clip_images["red"]
    expected = Image.open(red).convert("RGB").tobytes()
    monkeypatch.chdir(tmp_path)
    forms = [
        str(red),
        red,
        "red.png",  # relative to the current directory
        f"file://{red}",
        red.read_bytes(),
        bytearray(red.read_bytes()),
        _data_url(red),
        Image.open(red),
        {"bytes": red.read_bytes(), "path": None},
        {"path": str(red)},
    ]
    for ref in forms:
        image = load_image(ref)
        assert image.mode == "RGB" and image.size == (48, 40)
        assert image.tobytes() == expected, f"form {type(ref).__name__} decoded differently"


def test_clip_data_url_with_wrapped_lines_and_jpeg(clip_images):
    url = _data_url(clip_images["jpeg"], "image/jpeg")
    head, payload = url.split(",", 1)
    wrapped = head + "," + "\n".join(payload[i : i + 76] for i in range(0, len(payload), 76))
    assert load_image(wrapped).tobytes() == Image.open(clip_images["jpeg"]).convert("RGB").tobytes()


def test_clip_palette_and_alpha_images_become_rgb():
    rgba = Image.new("RGBA", (8, 8), (10, 20, 30, 128))
    palette = Image.new("P", (8, 8), 3)
    assert load_image(rgba).mode == "RGB"
    assert load_image(palette).mode == "RGB"


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda imgs: str(imgs["truncated"]), "truncated.png"),
        (lambda imgs: str(imgs["not_image"]), "notes.png"),
        (lambda imgs: str(imgs["red"].with_name("missing.png")), "missing.png"),
        (lambda imgs: b"not an image at all", "<19 bytes>"),
        (lambda imgs: "data:image/png;base64,@@@not-base64@@@", "invalid base64"),
        (lambda imgs: "data:image/png,rawpixels", "not a base64 data URL"),
        (lambda imgs: "https://example.com/cat.png", "remote URLs are not fetched"),
        (lambda imgs: {"caption": "no image here"}, "neither 'bytes' nor 'path'"),
        (lambda imgs: 42, "expected a file path"),
    ],
)
def test_clip_unreadable_references_raise_naming_the_image(clip_images, make, fragment):
    with pytest.raises(ImageLoadError, match="cannot read image") as err:
        load_image(make(clip_images))
    assert fragment in str(err.value)


def test_clip_image_refs_accepts_a_single_reference_or_a_list(clip_images):
    red = str(clip_images["red"])
    assert image_refs(None) == []
    assert image_refs([]) == []
    assert image_refs(red) == [red]
    assert image_refs(b"xy") == [b"xy"]
    assert image_refs((red, red)) == [red, red]


def test_clip_image_key_matches_equal_content_and_separates_objects(clip_images):
    data = clip_images["red"].read_bytes()
    assert image_key(data) == image_key(bytes(bytearray(data)))
    assert image_key(str(clip_images["red"])) == image_key(clip_images["red"])
    assert image_key(data) != image_key(clip_images["blue"].read_bytes())
    one, two = Image.new("RGB", (2, 2)), Image.new("RGB", (2, 2))
    assert image_key(one) != image_key(two)

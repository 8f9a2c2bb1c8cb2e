"""`clip_similarity` on a tiny real open_clip model loaded from disk the way a hub checkpoint is."""

from __future__ import annotations

import base64

import pytest
from PIL import Image
from rewardhub_clip import ClipSimilarity, ImageLoadError, map_cosine
from rewardhub_clip.reward import NO_IMAGE

import rewardhub
from rewardhub import Sample, Scorer

pytestmark = pytest.mark.slow  # imports torch and open_clip, builds a model

CAPTION = "a red picture with thin white vertical stripes"


def reference_cosine(folder: str, text: str, image_path) -> float:
    """The cosine computed with open_clip alone, as a user of the raw library would."""
    import open_clip
    import torch

    model, preprocess = open_clip.create_model_from_pretrained(f"local-dir:{folder}")
    tokenizer = open_clip.get_tokenizer(f"local-dir:{folder}")
    with torch.no_grad():
        image = model.encode_image(preprocess(Image.open(image_path)).unsqueeze(0))
        words = model.encode_text(tokenizer([text]))
    return torch.nn.functional.cosine_similarity(image, words).item()


@pytest.fixture(scope="module")
def reward(clip_checkpoint):
    return ClipSimilarity(clip_checkpoint["folder"], batch_size=4)


def test_clip_value_is_the_documented_mapping_of_the_open_clip_cosine(clip_checkpoint, clip_images):
    expected = reference_cosine(clip_checkpoint["folder"], CAPTION, clip_images["red"])
    for mapping in ("clipscore", "linear"):
        reward = ClipSimilarity(clip_checkpoint["folder"], mapping=mapping, scale=4.0)
        [score] = reward.score([Sample(CAPTION, images=[str(clip_images["red"])])])
        assert score.info["cosine"] == pytest.approx(expected, abs=1e-5)
        assert score.info["images"] == 1
        assert score.value == pytest.approx(map_cosine(expected, mapping, 4.0), abs=1e-5)
        assert 0.0 <= score.value <= 1.0


def test_clip_mappings_are_monotone_and_bounded():
    cosines = [-1.0, -0.2, 0.0, 0.1, 0.2, 0.39, 0.4, 0.9, 1.0]
    for mapping in ("clipscore", "linear"):
        values = [map_cosine(c, mapping) for c in cosines]
        assert values == sorted(values) and all(0.0 <= v <= 1.0 for v in values)
    assert map_cosine(0.2) == pytest.approx(0.5) and map_cosine(-0.3) == 0.0 and map_cosine(0.5) == 1.0
    assert map_cosine(0.0, "linear") == 0.5
    with pytest.raises(ValueError, match="mapping"):
        map_cosine(0.1, "sigmoid")


def test_clip_config_json_plus_checkpoint_loads_the_same_weights(clip_checkpoint, clip_images, reward):
    by_config = ClipSimilarity(clip_checkpoint["config"], pretrained=clip_checkpoint["weights"])
    by_folder = reward.score([Sample(CAPTION, images=[str(clip_images["blue"])])])[0]
    assert by_config.score([Sample(CAPTION, images=[str(clip_images["blue"])])])[0].value == pytest.approx(
        by_folder.value, abs=1e-5
    )


def test_clip_model_loads_lazily_and_only_when_a_sample_has_an_image(clip_checkpoint, clip_images):
    reward = ClipSimilarity(clip_checkpoint["folder"])
    assert reward._model is None
    assert reward.score([Sample("no picture here"), Sample("nor here")]) == [NO_IMAGE, NO_IMAGE]
    assert NO_IMAGE.value is None and NO_IMAGE.info["reason"] == "no image to compare the response with"
    assert reward._model is None
    reward.score([Sample(CAPTION, images=[str(clip_images["red"])])])
    assert reward.clip.describe() == {
        "model": f"local-dir:{clip_checkpoint['folder']}",
        "device": "cpu",
        "precision": "fp32",
    }


def test_clip_every_image_form_scores_the_same(reward, clip_images, tmp_path, monkeypatch):
    red = clip_images["red"]
    data = red.read_bytes()
    monkeypatch.chdir(red.parent)
    forms = [str(red), "red.png", data, "data:image/png;base64," + base64.b64encode(data).decode(), Image.open(red)]
    scores = reward.score([Sample(CAPTION, images=[form]) for form in forms])
    assert len({round(s.value, 5) for s in scores}) == 1, scores


def test_clip_batches_give_the_same_values_as_one_by_one(reward, clip_images):
    texts = [CAPTION, "a blue square", "stripes", "an essay about tax law " * 40, ""]
    paths = [clip_images[k] for k in ("red", "blue", "jpeg", "red", "blue")]
    samples = [Sample(t, images=[str(p)]) for t, p in zip(texts, paths)]
    together = reward.score(samples)
    alone = [reward.score([s])[0] for s in samples]
    assert [s.value for s in together] == pytest.approx([s.value for s in alone], abs=1e-5)
    assert len({round(s.info["cosine"], 5) for s in together}) == len(samples)  # really different inputs


def test_clip_long_responses_are_cut_to_the_context_length(reward, clip_images):
    image = [str(clip_images["red"])]
    head = "a red picture with stripes " * 3  # 15 tokens + start = the tiny model's 16
    assert reward.clip.context_length == 16
    short, long = reward.score([Sample(head, images=image), Sample(head + "and a long tail " * 200, images=image)])
    assert long.value == pytest.approx(short.value, abs=1e-5)


def test_clip_several_images_are_reduced_as_asked(clip_checkpoint, clip_images):
    images = [str(clip_images["red"]), str(clip_images["blue"]), str(clip_images["jpeg"])]
    per_image = [ClipSimilarity(clip_checkpoint["folder"]).score([Sample(CAPTION, images=[p])])[0] for p in images]
    cosines = [s.info["cosine"] for s in per_image]
    for how, expect in (("mean", sum(cosines) / 3), ("max", max(cosines)), ("min", min(cosines))):
        [score] = ClipSimilarity(clip_checkpoint["folder"], reduce=how, mapping="linear").score(
            [Sample(CAPTION, images=images)]
        )
        assert score.info["cosine"] == pytest.approx(expect, abs=1e-5)
        assert score.info["cosines"] == pytest.approx(cosines, abs=1e-5)
        assert score.value == pytest.approx((expect + 1) / 2, abs=1e-5)


def test_clip_unreadable_image_fails_only_its_sample_through_the_engine(reward, clip_images):
    samples = [
        Sample(CAPTION, id="good-1", images=[str(clip_images["red"])]),
        Sample(CAPTION, id="bad", images=[str(clip_images["red"]), str(clip_images["truncated"])]),
        Sample("no image", id="none"),
        Sample("a blue square", id="good-2", images=[str(clip_images["blue"])]),
    ]
    direct = reward.score(samples)  # the bad sample's error is its entry; no exception, no retry
    assert isinstance(direct[1], ImageLoadError) and "truncated.png" in str(direct[1])
    assert direct[2] is NO_IMAGE
    result = Scorer([reward]).score(samples)
    values = result.components["clip_similarity"]
    assert values[1] is None and values[2] is None
    assert "truncated.png" in result.errors[1]["clip_similarity"]
    assert result.errors[0] == result.errors[2] == result.errors[3] == {}
    alone = reward.score([samples[0], samples[3]])
    assert [values[0], values[3]] == pytest.approx([s.value for s in alone], abs=1e-6)


def test_clip_is_installed_and_built_from_config_args(clip_checkpoint, clip_images):
    assert rewardhub.host.registry.registry().entry("reward", "clip_similarity").distribution == "rewardhub-clip"
    config = {"name": "clip_similarity", "args": {"model": clip_checkpoint["folder"], "mapping": "linear"}}
    with Scorer([config]) as scorer:
        result = scorer.score([Sample(CAPTION, images=[str(clip_images["red"])]), Sample("text only")])
    assert 0.0 < result.components["clip_similarity"][0] < 1.0
    assert result.components["clip_similarity"][1] is None and result.errors[1] == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "ViT-B-32", "pretrained": "no_such_tag"}, "not a checkpoint file nor a pretrained tag"),
        ({"model": "ViT-L-14"}, "needs pretrained="),
        ({"model": "NoSuchNet-9"}, "unknown open_clip model"),
        ({"model": "local-dir:/x", "pretrained": "openai"}, "leave pretrained unset"),
    ],
)
def test_clip_bad_model_specs_fail_with_a_clear_message(clip_images, kwargs, message):
    reward = ClipSimilarity(**kwargs)
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        reward.score([Sample(CAPTION, images=[str(clip_images["red"])])])


def test_clip_rejects_bad_settings_at_construction():
    with pytest.raises(ValueError, match="reduce"):
        ClipSimilarity(reduce="median")
    with pytest.raises(ValueError, match="batch_size"):
        ClipSimilarity(batch_size=0)
    with pytest.raises(ValueError, match="precision"):
        ClipSimilarity(precision="int4")

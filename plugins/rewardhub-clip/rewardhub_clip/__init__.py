"""rewardhub plugin: ``clip_similarity``, CLIP image-text similarity of a response, in [0, 1].

Importing this package imports neither torch nor open_clip; the model loads on the first score.
See :mod:`rewardhub_clip.reward` for the value's definition and :mod:`rewardhub_clip.model`
for where weights may come from.
"""

from __future__ import annotations

import rewardhub
from rewardhub_clip.images import ImageLoadError, load_image
from rewardhub_clip.reward import ClipSimilarity, __version__, map_cosine

__all__ = ["ClipSimilarity", "ImageLoadError", "__version__", "load_image", "map_cosine", "register_rewards"]


@rewardhub.hookimpl
def register_rewards(register):
    register(ClipSimilarity)

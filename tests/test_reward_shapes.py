"""Every shape a reward may come in is adapted to the batch contract."""

from __future__ import annotations

import pytest

import rewardhub
from rewardhub import Reward, Sample, Score, Scorer, as_reward


def test_decorated_function_receives_the_context_it_names_and_stays_callable():
    @rewardhub.reward("matches")
    def matches(response, reference, bonus=0.0):
        return float(response.strip() == reference) + bonus

    assert matches("4", "4") == 1.0
    reward = as_reward(matches, bonus=0.5)
    assert reward.name == "matches"
    assert reward.score([Sample("4", reference="4"), Sample("5", reference="4")]) == [1.5, 0.5]


def test_function_with_kwargs_sees_the_whole_context_and_meta():
    seen = {}

    @rewardhub.reward()
    def spy(response, **context):
        seen.update(context)
        return 0.0

    as_reward(spy).score([Sample("r", prompt="p", id=7, meta={"lang": "en"})])
    assert seen["prompt"] == "p" and seen["id"] == 7 and seen["meta"] == {"lang": "en"}
    assert spy.name == "spy"


class SwiftStyleToxicity:
    """The class shape ms-swift plugin write-ups show."""

    name = "swift_tox"

    def __init__(self, threshold: float = 0.5):
        self.threshold = threshold

    def compute(self, query, response, images=None):
        bad = "idiot" in response
        return {"reward": -2.0 if bad else 1.0, "info": {"query": query, "images": images}}


def test_swift_style_class_is_adapted_with_args_and_info():
    reward = as_reward(SwiftStyleToxicity, threshold=0.3)
    assert reward.impl.threshold == 0.3
    out = reward.score([Sample("you idiot", prompt="hi", images=["a.png"]), Sample("hello")])
    assert out[0] == Score(-2.0, {"query": "hi", "images": ["a.png"]})
    assert out[1].value == 1.0 and out[1].info["images"] is None


def test_swift_style_instance_works_in_a_scorer():
    result = Scorer([SwiftStyleToxicity()]).score([Sample("you idiot"), Sample("thanks")])
    assert result.components == {"swift_tox": [-2.0, 1.0]}


def test_reward_class_is_built_with_config_args():
    class Scaled(Reward):
        name = "scaled"

        def __init__(self, factor: float = 1.0):
            self.factor = factor

        def score(self, samples):
            return [self.factor * len(s.response) for s in samples]

    assert as_reward(Scaled, factor=2).score([Sample("abc")]) == [6]


def test_instances_refuse_args_and_unknown_shapes_are_refused():
    with pytest.raises(TypeError, match="takes no args"):
        as_reward(SwiftStyleToxicity(), threshold=1)
    with pytest.raises(TypeError, match="cannot use"):
        as_reward(42)


def test_metric_function_shape():
    @rewardhub.metric("mean_len")
    def mean_len(samples, scale=1.0):
        return {"mean_len": scale * sum(len(s.response) for s in samples) / len(samples)}

    metric = rewardhub.as_metric(mean_len, scale=2.0)
    assert metric.compute([Sample("ab"), Sample("abcd")]) == {"mean_len": 6.0}

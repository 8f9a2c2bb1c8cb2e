"""Which output is the reward: names from the config, custom multi-objective outputs, ``head``."""

from __future__ import annotations

import pytest
from rewardhub_rm.heads import check_head, label_names, output_columns, resolve_head

torch = pytest.importorskip("torch")


def test_label_names_follow_id2label_when_it_names_every_column():
    assert label_names(2, {0: "bad", 1: "good"}) == ["bad", "good"]
    assert label_names(2, {"0": "bad", "1": "good"}) == ["bad", "good"]
    assert label_names(1, {0: "LABEL_0", 1: "LABEL_1"}) == ["LABEL_0"]  # config default, one logit
    assert label_names(3, None) == ["LABEL_0", "LABEL_1", "LABEL_2"]


def test_armorm_like_output_counts_the_shared_tensor_once():
    score = torch.tensor([0.5, -1.0])
    rewards = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    output = {"logits": score, "score": score, "rewards": rewards}  # ArmoRM: logits is its score
    names, values = output_columns(output, {0: "LABEL_0", 1: "LABEL_1"})
    assert names == ["score", "rewards[0]", "rewards[1]", "rewards[2]"]
    assert values.tolist() == [[0.5, 1.0, 2.0, 3.0], [-1.0, 4.0, 5.0, 6.0]]
    assert resolve_head(names, None) == 0  # the gated preference score, not an objective
    assert resolve_head(names, "rewards[1]") == 2
    separate = {"logits": torch.zeros(2, 2), "score": torch.tensor([[0.1], [0.2]])}
    names, _ = output_columns(separate, None)
    assert names == ["LABEL_0", "LABEL_1", "score"] and resolve_head(names, None) == 2


def test_resolve_head():
    assert resolve_head(["reward"], None) == 0
    assert resolve_head(["a", "b"], "b") == 1 and resolve_head(["a", "b"], 1) == 1
    with pytest.raises(ValueError, match="2 outputs \\(a, b\\): set head"):
        resolve_head(["a", "b"], None)
    with pytest.raises(ValueError, match="out of range"):
        resolve_head(["a"], 3)
    for bad in (True, -1, "", 1.5):
        with pytest.raises(ValueError):
            check_head(bad)

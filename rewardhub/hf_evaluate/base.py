"""The shared body of the ``evaluate`` modules: a rewardhub metric behind ``evaluate.Metric``."""

from __future__ import annotations

from typing import Any, ClassVar

import datasets
import evaluate

from rewardhub.host.kinds import Metric

CITATION = "rewardhub built-in metrics; see the docstring of each metric for the paper it follows."


class RewardhubEvaluateMetric(evaluate.Metric):
    """``compute(predictions=[...], **args)``: the rewardhub metric ``metric_cls(**args)``
    over the predictions (the responses), returning its dict of floats."""

    metric_cls: ClassVar[type[Metric]]

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=(self.metric_cls.__doc__ or self.metric_cls.description).strip(),
            citation=CITATION,
            inputs_description=(
                "predictions: list of str, the responses. Other arguments are passed to "
                f"rewardhub's {self.metric_cls.__name__}: n, tokenize, ..."
            ),
            features=datasets.Features({"predictions": datasets.Value("string")}),
        )

    def _compute(self, predictions: list[str], **args: Any) -> dict[str, float]:
        return self.metric_cls(**args).compute(list(predictions))

"""rewardhub's ``distinct`` metric as a Hugging Face ``evaluate`` module (load it by local path)."""

# evaluate takes the first evaluate.Metric subclass in this module's namespace as the module:
# import the base's module, not the base class itself.
from rewardhub.hf_evaluate import base
from rewardhub.metrics import Distinct


class DistinctModule(base.RewardhubEvaluateMetric):
    metric_cls = Distinct

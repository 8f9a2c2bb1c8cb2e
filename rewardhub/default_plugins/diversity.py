"""Built-in diversity metrics and rewards (distinct-n, self-BLEU, repetition, n-gram entropy)."""

from rewardhub import hookimpl


@hookimpl
def register_metrics(register):
    pass


@hookimpl
def register_rewards(register):
    pass

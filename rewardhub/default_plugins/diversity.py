"""Built-in diversity metrics and rewards (distinct-n, self-BLEU, repetition, n-gram entropy,
repetition penalty, diversity bonus), registered exactly as a third-party plugin would."""

from rewardhub import hookimpl


@hookimpl
def register_metrics(register):
    from rewardhub.metrics import METRICS

    for metric in METRICS:
        register(metric)


@hookimpl
def register_rewards(register):
    from rewardhub.metrics import REWARDS

    for reward in REWARDS:
        register(reward)

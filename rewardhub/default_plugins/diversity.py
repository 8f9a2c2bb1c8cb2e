"""The host's built-in plugin: every metric in :data:`rewardhub.metrics.METRICS` and every reward
in :data:`rewardhub.rewards.REWARDS`, registered exactly as a third-party plugin would
(``rewardhub plugins --all`` lists them; ``tests/test_plugin_loading.py`` checks the count)."""

from rewardhub import hookimpl


@hookimpl
def register_metrics(register):
    from rewardhub.metrics import METRICS

    for metric in METRICS:
        register(metric)


@hookimpl
def register_rewards(register):
    from rewardhub.rewards import REWARDS

    for reward in REWARDS:
        register(reward)

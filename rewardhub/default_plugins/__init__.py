"""Built-in plugins: ordinary plugins, listed in ``rewardhub.host.registry.DEFAULT_PLUGINS``."""

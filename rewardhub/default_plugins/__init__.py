"""Built-in plugins: ordinary plugins, listed in ``rewardhub.plugins.DEFAULT_PLUGINS``."""

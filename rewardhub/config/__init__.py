"""Run configuration: the config file's shape and validation (:mod:`~rewardhub.config.files`),
how ``--rewards``/``--metrics``/``--config`` and the presets resolve against the installed
plugins (:mod:`~rewardhub.config.resolve`), what the default run scores on the data at hand
(:mod:`~rewardhub.config.defaults`), and how entries become built rewards and metrics
(:mod:`~rewardhub.config.build`).

Importing this package imports only :mod:`~rewardhub.config.files` (the names below).
"""

from rewardhub.config.files import (
    AGGREGATIONS,
    MAX_CONFIG_BYTES,
    MAX_CONFIG_DEPTH,
    MAX_CONFIG_NODES,
    MISSING_POLICIES,
    ComponentConfig,
    ConfigError,
    RunConfig,
    load_config,
    parse_component,
    parse_components,
    read_yaml,
)

__all__ = [
    "AGGREGATIONS",
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_DEPTH",
    "MAX_CONFIG_NODES",
    "MISSING_POLICIES",
    "ComponentConfig",
    "ConfigError",
    "RunConfig",
    "load_config",
    "parse_component",
    "parse_components",
    "read_yaml",
]

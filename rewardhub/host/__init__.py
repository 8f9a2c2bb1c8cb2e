"""The plugin host: what a plugin implements and how plugins are found.

- :mod:`~rewardhub.host.hookspecs`: the hooks (``register_rewards``, ``register_metrics``,
  ``register_commands``);
- :mod:`~rewardhub.host.kinds`: the two plugin kinds, :class:`Reward` and :class:`Metric`, and
  the adapters that bring functions and ms-swift-style classes to them;
- :mod:`~rewardhub.host.state`: the mergeable state every corpus metric folds chunks into;
- :mod:`~rewardhub.host.registry`: the plugin manager (built-ins, then entry points) and the
  :class:`~rewardhub.host.registry.Registry` of what they registered;
- :mod:`~rewardhub.host.faults`: plugin code that fails (or raises ``KeyboardInterrupt``) is
  that plugin's failure, in one line;
- services plugin code may call: :mod:`~rewardhub.host.progress` (``report``) and
  :mod:`~rewardhub.host.devices` (device and dtype for torch models).

Nothing here imports the engine, a backend or the command line (``lint-imports`` checks it).
"""

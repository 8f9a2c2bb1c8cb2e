"""Trainer adapters: rewardhub rewards in the exact shape each RL trainer calls.

- :mod:`rewardhub.adapters.trl`: GRPO reward functions (sync and async) and their weights;
- :mod:`rewardhub.pairs`: DPO preference pairs from scored responses;
- :mod:`rewardhub.adapters.verl`: ``compute_score`` and its batch form;
- :mod:`rewardhub.adapters.openrlhf`: the ``reward_func`` of ``--remote_rm_url file.py``;
- :mod:`rewardhub.adapters.swift`: an ms-swift ``--external_plugins`` file filling ``orms``.

None of them imports its trainer (or torch) at import time.
"""

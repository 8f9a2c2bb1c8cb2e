"""Trainer adapters: rewardhub rewards in the exact shape each RL trainer calls.

- :mod:`rewardhub.adapters.trl`: GRPO reward functions (sync and async) and their weights;
- :mod:`rewardhub.adapters.verl`: ``compute_score`` and its batch form;
- :mod:`rewardhub.adapters.openrlhf`: the ``reward_func`` of ``--remote_rm_url file.py``;
- :mod:`rewardhub.adapters.swift`: an ms-swift ``--external_plugins`` file filling ``orms``.

What they share: where the scorer comes from, with one precedence for all
(:mod:`rewardhub.adapters.scorer`), one trainer batch scored once for all its columns
(:mod:`rewardhub.adapters.batch`), and what a missing value becomes for a trainer that needs a
number everywhere (:mod:`rewardhub.adapters.fill`). ``rewardhub.adapters.pairs`` is the former
path of :mod:`rewardhub.pairs` (DPO pairs from scored files). The modules trainers load by file
or module name (``openrlhf.py``, ``swift.py``, ``pkg://rewardhub.adapters.verl``) stay here.

None of them imports its trainer (or torch) at import time.
"""

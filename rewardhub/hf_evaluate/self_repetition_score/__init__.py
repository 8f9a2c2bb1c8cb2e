"""The ``self_repetition_score`` evaluate module (a package so that it ships with rewardhub)."""

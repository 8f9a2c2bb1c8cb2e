"""The ``self_bleu`` evaluate module (a package so that it ships with rewardhub)."""

"""The ``ngram_diversity_score`` evaluate module (a package so that it ships with rewardhub)."""

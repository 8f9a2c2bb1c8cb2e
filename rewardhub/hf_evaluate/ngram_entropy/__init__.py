"""The ``ngram_entropy`` evaluate module (a package so that it ships with rewardhub)."""

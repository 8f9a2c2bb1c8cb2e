"""The ``compression_ratio`` evaluate module (a package so that it ships with rewardhub)."""

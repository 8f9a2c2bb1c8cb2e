"""The ``distinct_avg`` evaluate module (a package so that it ships with rewardhub)."""

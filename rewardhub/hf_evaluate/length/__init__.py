"""The ``length`` evaluate module (a package so that it ships with rewardhub)."""

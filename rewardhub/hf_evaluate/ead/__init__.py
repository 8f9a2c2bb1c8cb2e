"""The ``ead`` evaluate module (a package so that it ships with rewardhub)."""

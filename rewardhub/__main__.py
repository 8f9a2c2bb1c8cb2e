"""``python -m rewardhub``: the same as the ``rewardhub`` command."""

from rewardhub.cli import main

main()

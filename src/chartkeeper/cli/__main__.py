"""``python -m chartkeeper.cli``: the same as the ``chartkeeper`` command."""

from chartkeeper.cli.main import run

run()

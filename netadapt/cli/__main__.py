"""``python -m netadapt.cli``: the same as the ``netadapt`` command."""

from netadapt.cli import main

main()

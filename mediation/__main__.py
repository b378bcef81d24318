"""``python -m mediation``: the same as the ``mediation`` command."""

from mediation.cli import main

main()

"""``python -m flint`` runs the command line."""

from flint.cli.main import main

main()

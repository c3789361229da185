"""``python -m flint`` runs the command line."""

from flint.cli.entry import main

main()

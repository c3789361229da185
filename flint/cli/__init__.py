"""The ``flint`` command line (click)."""

"""Running the ``flint`` command line from a test: in this process, as the ``flint``
script would (exit code and output), or as a child process with its own environment."""

import subprocess
import sys
from collections.abc import Mapping

import pytest

from flint.cli.main import main


def flint_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int | str | None, str]:
    """Run ``flint *args`` in this process: its exit code (as ``SystemExit`` carried it)
    and stdout followed by stderr."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out = capsys.readouterr()
    return exited.value.code, out.out + out.err


def flint_process(env: Mapping[str, str], *args: str, input: str | None = None,
                  timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``flint *args`` as a child process with ``env``, its output captured as text."""
    return subprocess.run([sys.executable, "-m", "flint.cli.main", *args], env=dict(env),
                          input=input, capture_output=True, text=True, timeout=timeout,
                          check=False)

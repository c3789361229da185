"""flint's conformance kit for plugins (install ``flint-sdk[testing]``).

Opt in from a plugin's ``tests/conftest.py``::

    pytest_plugins = ["flint.testing.plugin"]

then subclass the contracts in :mod:`flint.testing.contracts`. Sample market data
for tests: :func:`sample_bars`, :func:`sample_funding`, :func:`sample_venue_configs`;
hypothesis strategies for candles, books and orders: :mod:`flint.testing.strategies`;
a fake venue server on 127.0.0.1 (HTTP and websockets, request log, injected faults):
:mod:`flint.testing.fakes` (fixture ``fake_http_server``); scripted backtests (candles
from rows, a strategy that runs an action on a given bar): :mod:`flint.testing.scripted`;
the processes a command started, from ``/proc``, and waiting for a condition:
:mod:`flint.testing.processes`;
running the ``flint`` command line in-process or as a child: :mod:`flint.testing.commands`;
strategy files that need no plugin: :mod:`flint.testing.strategy_files`; the real data
files a fake venue serves, as columns: :mod:`flint.testing.data_files`; the stores,
journals and files of ``flint live`` sessions in a folder: :mod:`flint.testing.session_files`.

Live trading: :mod:`flint.testing.live_contracts` (the tests a venue adapter is held
to), :mod:`flint.testing.sim_venue` (a simulated venue on 127.0.0.1),
:mod:`flint.testing.sim_adapter` and :mod:`flint.testing.sim_harness` (its adapter and
harness, the model for a plugin's own).
"""

import pytest

pytest.register_assert_rewrite("flint.testing.contracts", "flint.testing.live_contracts")

from flint.testing.samples import (  # noqa: E402 (after the assert-rewrite registration)
    sample_bars,
    sample_funding,
    sample_venue_configs,
)

__all__ = ["sample_bars", "sample_funding", "sample_venue_configs"]

"""flint's conformance kit for plugins (install ``flint-sdk[testing]``).

Opt in from a plugin's ``tests/conftest.py``::

    pytest_plugins = ["flint.testing.plugin"]

then subclass the contracts in :mod:`flint.testing.contracts`.
"""

import pytest

pytest.register_assert_rewrite("flint.testing.contracts")

import pytest

pytest_plugins = ["flint.testing.plugin"]


@pytest.fixture
def fake_data(flint_test_data):
    """The real Hyperliquid files of the shared data folder, for FakeHyperliquid.from_data."""
    if not (flint_test_data / "hyperliquid-SOL-3600.csv").is_file():
        pytest.skip(f"no Hyperliquid data in {flint_test_data}")
    return flint_test_data

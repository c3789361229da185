import pytest

pytest_plugins = ["flint.testing.plugin"]


@pytest.fixture
def fake_data(flint_test_data):
    """The real Binance files of the shared data folder, for FakeBinance.from_data."""
    if not (flint_test_data / "binance-SOLUSDT-3600.csv").is_file():
        pytest.skip(f"no Binance data in {flint_test_data}")
    return flint_test_data

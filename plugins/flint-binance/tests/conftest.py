import signal

import pytest

pytest_plugins = ["flint.testing.plugin"]


@pytest.fixture
def bounded():
    """Fail a test that runs longer than the seconds given: ``bounded(30)``."""
    def expire(signum, frame):
        raise TimeoutError("the test ran out of its time bound")

    def arm(seconds):
        signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)

    yield arm
    signal.setitimer(signal.ITIMER_REAL, 0)


@pytest.fixture
def fake_data(flint_test_data):
    """The real Binance files of the shared data folder, for FakeBinance.from_data."""
    if not (flint_test_data / "binance-SOLUSDT-3600.csv").is_file():
        pytest.skip(f"no Binance data in {flint_test_data}")
    return flint_test_data

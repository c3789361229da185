from flint.execution.fill_models import (
    ClosePriceFill,
    FillPipeline,
    NextBarOpenFill,
    SlippageFill,
)
from flint.testing.contracts import FillModelContract
from flint.testing.plugin import real_data_dir


def test_real_data_fixture_points_at_the_shared_candles(flint_test_data):
    assert (flint_test_data / "binance-SOLUSDT-3600.csv").is_file()


def test_real_data_location_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("FLINT_TEST_DATA", raising=False)
    assert real_data_dir(tmp_path / "repo") == tmp_path / "shared" / "data"
    monkeypatch.setenv("FLINT_TEST_DATA", str(tmp_path / "elsewhere"))
    assert real_data_dir(tmp_path / "repo") == tmp_path / "elsewhere"


class TestClosePriceFillContract(FillModelContract):
    def make_model(self):
        return ClosePriceFill()


class TestNextBarOpenFillContract(FillModelContract):
    def make_model(self):
        return NextBarOpenFill()


class TestSlippageFillContract(FillModelContract):
    def make_model(self):
        return SlippageFill(12.5)


class TestFillPipelineContract(FillModelContract):
    def make_model(self):
        return FillPipeline(latency_seed=9)

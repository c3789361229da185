from flint.backtest.engine import BacktestEngine
from flint.backtest.journal import run_record, tearsheet_from_record
from flint.execution.fill_models import ClosePriceFill
from flint.models import Candle, Signal
from flint.store import FlintStore
from flint.strategy.base import Strategy


class Alternate(Strategy):
    """Buys on even bars and sells on odd ones."""

    name = "alternate"

    def __init__(self):
        self.n = 0

    def on_candle(self, candle, history, ctx=None):
        self.n += 1
        return Signal.BUY if self.n % 2 else Signal.SELL

    def reset(self):
        self.n = 0


def test_a_journaled_run_rebuilds_the_same_tearsheet(tmp_path):
    candles = [Candle(1_704_067_200 + 3600 * i, 100 + i % 7, 101 + i % 7, 99 + i % 7,
                      100 + (i * 3) % 7, 10.0, "SOL-PERP") for i in range(300)]
    result = BacktestEngine(Alternate(), fill_model=ClosePriceFill()).run(candles)
    record = run_record(result, strategy="alternate", params={}, market="SOL-PERP",
                        venue="default", fill_model="close", fee_rate=0.0005)
    with FlintStore(tmp_path / "j.duckdb") as store:
        run_id = store.save_backtest_run(record)
        listed = store.list_backtest_runs()
        loaded = store.get_backtest_run(run_id)
    assert listed[0]["total_trades"] == result.total_trades > 100
    assert listed[0]["sharpe_ratio"] == record["metrics"]["sharpe_ratio"]
    again = tearsheet_from_record(loaded)
    assert again.metrics == tearsheet_from_record(record).metrics
    assert again["total_pnl"] == result.total_pnl
    assert len(again.trades) == result.total_trades


def test_study_records_keep_storage_urls_without_passwords():
    from types import SimpleNamespace

    import pytest

    from flint.backtest.journal import redact, study_record

    assert redact("postgresql://flint:s3cret@db-host:5432/studies") == \
        "postgresql://flint:***@db-host:5432/studies"
    assert redact("sqlite:///studies.db") == "sqlite:///studies.db"
    result = SimpleNamespace(to_dict=lambda: {"best_value": 1.5, "best_params": {"a": 1}})
    record = study_record("optimization", result,
                          {"strategy": "x", "storage": "postgresql://u:pw@h/db"})
    assert record == {"kind": "optimization", "strategy": "x", "storage": "postgresql://u:***@h/db",
                      "best_value": 1.5, "best_params": {"a": 1}}
    with pytest.raises(ValueError, match="kind must be one of optimization, walk_forward"):
        study_record("backtest", result, {})

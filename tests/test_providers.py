import gzip

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flint._builtins.providers import CAPABILITIES
from flint.config import FlintConfig
from flint.models import CandleSeries, FundingRate, OpenInterest
from flint.plugins import make_host
from flint.providers import DataProvider, ProviderRegistry
from flint.providers.files import FileProvider, funding_intervals, market_name, parse_name
from flint.providers.sample import SampleProvider
from flint.store import FlintStore

H = 3600


class OnlyFunding(DataProvider):
    """Funding from nowhere."""

    name = "only-funding"
    capabilities = frozenset({"funding"})

    def __init__(self):
        self.closed = False

    def fetch_candles(self, market, resolution_s, start_ts, end_ts, *, venue=None):
        raise self._unsupported("candles")

    def fetch_funding(self, market, start_ts, end_ts, *, venue=None):
        return [FundingRate(market, start_ts, 0.0001, source="nowhere")]

    def close(self):
        self.closed = True


def test_data_provider_contract():
    with OnlyFunding() as provider:
        assert provider.fetch_funding("SOL-PERP", H, 2 * H)[0].source == "nowhere"
        with pytest.raises(NotImplementedError, match="'only-funding' does not provide orderbook"):
            provider.fetch_orderbook("SOL-PERP", 0, H)
        with pytest.raises(NotImplementedError, match="provides: funding"):
            provider.fetch_candles("SOL-PERP", H, 0, H)
    assert provider.closed


def test_declared_capabilities_must_be_implemented():
    with pytest.raises(TypeError, match="declares 'orderbook' but does not implement"):
        type("Liar", (OnlyFunding,), {"capabilities": frozenset({"funding", "orderbook"})})
    with pytest.raises(TypeError, match="unknown capabilities"):
        type("Odd", (OnlyFunding,), {"capabilities": frozenset({"weather"})})

    class Half(DataProvider):
        def fetch_funding(self, market, start_ts, end_ts, *, venue=None):
            return []

    with pytest.raises(TypeError, match="abstract"):
        Half()


def test_builtin_providers_are_registered_with_their_capabilities():
    registry = ProviderRegistry(make_host(entry_points=False).registry("data_providers"))
    assert {"file", "sample"} <= set(registry.names())
    assert registry.capabilities("file") == CAPABILITIES["file"] == FileProvider.capabilities
    assert registry.capabilities("sample") == CAPABILITIES["sample"] == SampleProvider.capabilities
    assert "sample" in registry.supporting("orderbook")
    sample = registry.create("sample", days=2)
    assert isinstance(sample, SampleProvider) and sample.days == 2
    configured = FlintConfig(providers={"sample": {"days": 5, "seed": 3}})
    sample = registry.create("sample", config=configured, days=4)
    assert (sample.days, sample.seed) == (4, 3)
    assert "file" in registry and "nope" not in registry


def test_a_plugin_registers_a_provider(fake_dists):
    fake_dists.add("flint-weird", "flint_weird", """
        from flint import hookimpl
        from flint.providers import DataProvider

        class Weird(DataProvider):
            '''Always empty.'''
            name = "weird"
            def fetch_candles(self, market, resolution_s, start_ts, end_ts, *, venue=None):
                return []
            def fetch_funding(self, market, start_ts, end_ts, *, venue=None):
                return []

        @hookimpl
        def flint_register_data_providers(register):
            register("weird", Weird, capabilities={"candles", "funding"}, venue="weirdex")
            register("broken", lambda **kw: object(), capabilities={"candles"})
    """)
    registry = ProviderRegistry(make_host(strict=True).registry("data_providers"))
    assert registry.venues()["weirdex"] == "weird"  # what `flint data download` offers
    assert registry.create("weird").fetch_funding("X", 0, 1) == []
    assert registry.capabilities("weird") == {"candles", "funding"}
    with pytest.raises(TypeError, match=r"'broken' .* built a object, not a"):
        registry.create("broken")


# The file provider


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("binance-SOLUSDT-3600.csv", ("candles", "binance", "SOL-PERP", 3600)),
        ("binance-SOLUSDT-300.csv.gz", ("candles", "binance", "SOL-PERP", 300)),
        ("hyperliquid-BTC-60.parquet", ("candles", "hyperliquid", "BTC-PERP", 60)),
        ("binance_spot-ETHUSDT-3600.csv", ("candles", "binance_spot", "ETH-USDT", 3600)),
        ("binance-BTCUSDT-mark-3600.csv", ("candles", "binance", "BTC-PERP-MARK", 3600)),
        ("hyperliquid-SOL-funding.csv", ("funding", "hyperliquid", "SOL-PERP", None)),
        ("binance-ETHUSDT-oi-14400.csv", ("open_interest", "binance", "ETH-PERP", 14400)),
        ("unattributed-BTC-PERP-60.csv", ("candles", "unattributed", "BTC-PERP", 60)),
        ("okx-SOLUSDT-funding.csv", ("funding", "okx", "SOL-PERP", None)),
        ("README.md", None),
        ("um_BTCUSDT_depth_snapshot_20221102.csv", None),
        ("binance-SOLUSDT.csv", None),
    ],
)
def test_file_names_say_what_a_file_holds(tmp_path, name, expected):
    found = parse_name(tmp_path / name)
    got = None if found is None else (found.kind, found.venue, found.market, found.resolution_s)
    assert got == expected


def test_market_names():
    assert market_name("binance", "SOLUSDT") == "SOL-PERP"
    assert market_name("hyperliquid", "kPEPE") == "kPEPE-PERP"
    assert market_name("bybit", "BTCUSDC") == "BTC-PERP"
    assert market_name("binance_spot", "BTCFDUSD") == "BTC-FDUSD"
    assert market_name("coinbase_spot", "WEIRD") == "WEIRD"
    assert market_name("drift", "SOL-PERP") == "SOL-PERP"


def test_funding_intervals_come_from_the_spacing_of_settlements():
    eight_then_one = np.concatenate([np.arange(0, 10) * 8 * H, 9 * 8 * H + np.arange(1, 30) * H])
    assert funding_intervals(eight_then_one).tolist() == [8 * H] * 10 + [H] * 29
    missed = np.delete(np.arange(50) * H, 20)  # one hourly settlement missing
    assert set(funding_intervals(missed).tolist()) == {H}
    ftx = np.cumsum([0] + [8 * H] * 6 + [4 * H] * 3 + [2 * H] * 12 + [8 * H] * 6)
    assert funding_intervals(ftx).tolist() == (
        [8 * H] * 7 + [4 * H] * 3 + [2 * H] * 12 + [8 * H] * 6)
    with pytest.raises(ValueError, match="fewer than two"):
        funding_intervals(np.array([H]))


CANDLES_CSV = "ts,open,high,low,close,volume\n0,1,2,0.5,1.5,10\n3600,1.5,3,1,2,0\n7200,2,2,2,2,1\n"


def test_files_are_read_and_served_by_the_provider(tmp_path):
    (tmp_path / "binance-SOLUSDT-3600.csv").write_text(CANDLES_CSV)
    with gzip.open(tmp_path / "binance-SOLUSDT-funding.csv.gz", "wt") as out:
        out.write("ts,rate\n28800,0.0001\n57600,-0.0002\n86400,0.0003\n")
    pq.write_table(pa.table({"ts": [H, 2 * H], "open_interest": [5.0, 6.0],
                             "open_interest_value": [1.0, 2.0]}),
                   tmp_path / "binance-SOLUSDT-oi-3600.parquet")
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    provider = FileProvider(tmp_path)
    assert [f.path.name for f in provider.files] == [
        "binance-SOLUSDT-3600.csv", "binance-SOLUSDT-funding.csv.gz",
        "binance-SOLUSDT-oi-3600.parquet"]
    assert [p.name for p, _ in provider.skipped] == ["notes.csv"]
    series = provider.fetch_candles("SOL-PERP", H, H, 10 * H)
    assert isinstance(series, CandleSeries) and series.venue == "binance"
    assert series.timestamps.tolist() == [H, 2 * H] and series.closes.tolist() == [2.0, 2.0]
    funding = provider.fetch_funding("SOL-PERP", 0, 10**6)
    assert [(r.ts, r.rate, r.interval_s, r.source) for r in funding] == [
        (28800, 0.0001, 8 * H, "binance"), (57600, -0.0002, 8 * H, "binance"),
        (86400, 0.0003, 8 * H, "binance")]
    assert provider.fetch_open_interest("SOL-PERP", 0, H) == [
        OpenInterest("SOL-PERP", H, 5.0, 5.0, "binance")]
    with FlintStore(tmp_path / "s.duckdb") as store:
        assert [rows for _, rows in provider.load_into(store)] == [3, 3, 2]
        assert [rows for _, rows in provider.load_into(store)] == [0, 0, 0]


def test_overrides_and_unreadable_files(tmp_path):
    data = tmp_path / "mine.csv"
    data.write_text(CANDLES_CSV)
    assert FileProvider(data).skipped[0][1].startswith("the name does not say")
    assert "pass the resolution" in FileProvider(data, market="X-PERP").skipped[0][1]
    [found] = FileProvider(data, market="X-PERP", venue="dex", resolution_s=H).files
    assert (found.kind, found.venue, found.market, found.resolution_s) == ("candles", "dex",
                                                                          "X-PERP", H)
    (tmp_path / "binance-AUSDT-60.csv").write_text("ts,open,high,low,close\n0,1,1,1,1\n")
    with pytest.raises(ValueError, match=r"need column\(s\) volume; found ts, open"):
        FileProvider(tmp_path / "binance-AUSDT-60.csv").fetch_candles("A-PERP", 60, 0, 10)
    (tmp_path / "binance-BUSDT-60.csv").write_text(
        "ts,open,high,low,close,volume\n1700000000000,1,1,1,1,1\n")
    with pytest.raises(ValueError, match="looks like milliseconds"):
        FileProvider(tmp_path / "binance-BUSDT-60.csv").fetch_candles("B-PERP", 60, 0, 10)
    (tmp_path / "binance-CUSDT-60.csv").write_text(
        "ts,open,high,low,close,volume\n0,1,1,1,1,1\n60,1,0.5,2,1,1\n")
    with FlintStore(tmp_path / "s.duckdb") as store, pytest.raises(
        ValueError, match=r"binance-CUSDT-60\.csv: invalid candle at row 1: high 0\.5 is below"
    ):
        FileProvider(tmp_path / "binance-CUSDT-60.csv").load_into(store)
    (tmp_path / "binance-DUSDT-60.csv").write_text("ts,open,high,low,close,volume\n0,x,1,1,1,1\n")
    with pytest.raises(ValueError, match=r"binance-DUSDT-60\.csv: .*invalid value .x."):
        FileProvider(tmp_path / "binance-DUSDT-60.csv").fetch_candles("D-PERP", 60, 0, 10)
    (tmp_path / "okx-EUSDT-funding.csv").write_text("ts,rate\n57600,0.2\n0,0.1\n28800,0.3\n")
    rates = FileProvider(tmp_path / "okx-EUSDT-funding.csv").fetch_funding("E-PERP", 0, 10**6)
    assert [(r.ts, r.rate, r.interval_s) for r in rates] == [
        (0, 0.1, 8 * H), (28800, 0.3, 8 * H), (57600, 0.2, 8 * H)]
    with pytest.raises(FileNotFoundError):
        FileProvider(tmp_path / "missing")
    with pytest.raises(ValueError, match="unknown kind 'trades'"):
        FileProvider(tmp_path, kind="trades")


def test_the_sample_provider_serves_the_generated_markets():
    provider = SampleProvider(days=3)
    series = provider.fetch_candles("BTC-PERP", H, 0, 2**40)
    assert len(series) == 72 and series.venue == "hyperliquid"
    assert provider.fetch_candles("BTC-PERP", H, 0, 2**40, venue="binance").venue == "binance"
    with pytest.raises(ValueError, match="sample data is hourly"):
        provider.fetch_candles("BTC-PERP", 60, 0, 2**40)
    funding = provider.fetch_funding("SOL-PERP", 0, 2**40)
    assert {r.source: r.interval_s for r in funding} == {"hyperliquid": H, "binance": 8 * H}
    assert [r.ts for r in funding] == sorted(r.ts for r in funding)
    books = provider.fetch_orderbook("ETH-PERP", 0, 2**40, venue="binance")
    assert len(books) == 9 and all(b.best_bid < b.best_ask for b in books)
    assert len(provider.fetch_open_interest("ETH-PERP", 0, 2**40)) == 2 * 72

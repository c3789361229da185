"""NautilusTrader: S1 as a Strategy on its BacktestEngine, fed hourly bars.

Rules: a spot CurrencyPair SOL/USDT on a simulated CASH-account venue with NETTING
orders, taker fee 0.0005 of each fill's notional, no slippage (the default
FillModel). With ``bar_execution`` the venue's L1 book is moved through each bar's
open, high, low and close before the strategy sees the bar, so a market order sent
from ``on_bar`` of bar i fills at bar i's close. The size is the free USDT divided
by close * (1 + fee), floored to the instrument's 1e-8 size increment (fee-inclusive,
lot 1e-8); money is fixed-point at USDT's 8 decimals, so each fill's cost and fee are
rounded to 1e-8 USDT. SMAs are Nautilus' SimpleMovingAverage indicators updated on
each bar (a running sum); ties go flat. Decisions on bars 50 .. n-2; on the last bar
the open position is sold, which the venue fills at that close.
Timed: engine construction, venue, instrument, adding the prebuilt Bar objects, the
run and reading the balance; not building the Bar objects.
"""

import math
from decimal import Decimal
from importlib import metadata

import numpy as np
import pandas as pd
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.indicators import SimpleMovingAverage
from nautilus_trader.model.currencies import USDT, Currency
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, CurrencyType, OmsType, OrderSide
from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
from nautilus_trader.model.instruments import CurrencyPair
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.persistence.wranglers import BarDataWrangler
from nautilus_trader.trading.strategy import Strategy

RULES = {"sizing": "fee_inclusive", "lot": 1e-8, "final": "last"}
FEE = 0.0005
FIRST_DECISION = 50
VENUE = Venue("BENCH")
SOL = Currency("SOL", 8, 0, "Solana", CurrencyType.CRYPTO)
SIZE_DECIMALS = 8
PRICE_DECIMALS = 8


def _instrument() -> CurrencyPair:
    return CurrencyPair(
        instrument_id=InstrumentId(Symbol("SOLUSDT"), VENUE),
        raw_symbol=Symbol("SOLUSDT"),
        base_currency=SOL,
        quote_currency=USDT,
        price_precision=PRICE_DECIMALS,
        size_precision=SIZE_DECIMALS,
        price_increment=Price(10**-PRICE_DECIMALS, PRICE_DECIMALS),
        size_increment=Quantity(10**-SIZE_DECIMALS, SIZE_DECIMALS),
        lot_size=None,
        max_quantity=None,
        min_quantity=Quantity(10**-SIZE_DECIMALS, SIZE_DECIMALS),
        max_notional=None,
        min_notional=None,
        max_price=None,
        min_price=None,
        margin_init=Decimal(0),
        margin_maint=Decimal(0),
        maker_fee=Decimal(str(FEE)),
        taker_fee=Decimal(str(FEE)),
        ts_event=0,
        ts_init=0,
    )


INSTRUMENT = _instrument()
BAR_TYPE = BarType.from_str(f"{INSTRUMENT.id}-1-HOUR-LAST-EXTERNAL")


class BenchConfig(StrategyConfig, frozen=True):
    s1: bool = True
    n_bars: int = 0


class Bench(Strategy):
    def __init__(self, config: BenchConfig) -> None:
        super().__init__(config)
        self.s1 = config.s1
        self.last = config.n_bars - 1
        self.i = -1
        self.fast = SimpleMovingAverage(20)
        self.slow = SimpleMovingAverage(50)
        self.long = False
        self.round_trips = 0

    def on_start(self) -> None:
        if self.s1:
            self.register_indicator_for_bars(BAR_TYPE, self.fast)
            self.register_indicator_for_bars(BAR_TYPE, self.slow)
        self.subscribe_bars(BAR_TYPE)

    def on_bar(self, bar: Bar) -> None:
        self.i += 1
        if not self.s1 or self.i < FIRST_DECISION:
            return
        want = self.i < self.last and self.fast.value > self.slow.value
        if want and not self.long:
            cash = self.portfolio.account(VENUE).balance_free(USDT).as_double()
            units = math.floor(cash / (bar.close.as_double() * (1 + FEE)) * 10**SIZE_DECIMALS)
            self.submit_order(self.order_factory.market(
                INSTRUMENT.id, OrderSide.BUY, Quantity(units / 10**SIZE_DECIMALS, SIZE_DECIMALS)))
            self.long = True
        elif not want and self.long:
            self.close_all_positions(INSTRUMENT.id)
            self.long = False
            self.round_trips += 1


def prepare(bars: dict[str, np.ndarray]) -> list[Bar]:
    frame = pd.DataFrame({"open": bars["open"], "high": bars["high"], "low": bars["low"],
                          "close": bars["close"], "volume": bars["volume"]},
                         index=pd.to_datetime(bars["ts"], unit="s", utc=True))
    return BarDataWrangler(BAR_TYPE, INSTRUMENT).process(frame)


def run(bars: list[Bar], strategy: str, variant: str) -> tuple[float, int]:
    engine = BacktestEngine(BacktestEngineConfig(
        logging=LoggingConfig(bypass_logging=True), run_analysis=False))
    engine.add_venue(VENUE, oms_type=OmsType.NETTING, account_type=AccountType.CASH,
                     starting_balances=[Money(10_000, USDT)], base_currency=None)
    engine.add_instrument(INSTRUMENT)
    engine.add_data(bars)
    bench = Bench(BenchConfig(s1=strategy == "S1", n_bars=len(bars)))
    engine.add_strategy(bench)
    engine.run()
    account = engine.portfolio.account(VENUE)
    held = account.balance_total(SOL)
    equity = account.balance_total(USDT).as_double()
    if held is not None:
        equity += held.as_double() * bars[-1].close.as_double()
    trades = bench.round_trips
    engine.dispose()
    return equity, trades


def versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in ("nautilus_trader", "pandas", "numpy")}

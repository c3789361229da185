"""Backtesting: :class:`~flint.backtest.engine.BacktestEngine` and its result."""

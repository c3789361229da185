"""Order execution: the strategy-facing context, fill models, margin and capital.

- :mod:`flint.execution.context`: :class:`ExecutionContext`, the ``ctx`` API.
- :mod:`flint.execution.backtest_context`: :class:`BacktestContext`.
- :mod:`flint.execution.fill_models`: how orders fill (plugins add models).
- :mod:`flint.execution.margin`: :class:`MarginEngine` (initial/maintenance margin).
- :mod:`flint.execution.capital`: :class:`VenueAllocator` (per-venue cash, transfers).
"""

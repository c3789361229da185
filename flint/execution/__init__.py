"""Order execution: the strategy-facing context, fill models, margin and capital.

- :mod:`flint.execution.context`: :class:`ExecutionContext`, the ``ctx`` API.
- :mod:`flint.execution.backtest_context`: :class:`BacktestContext`.
- :mod:`flint.execution.live_base`: :class:`LiveExecutionContext` (a venue account).
- :mod:`flint.execution.order_tracker`: :class:`OrderTracker` (live orders, fills,
  positions, kept in step with the journal).
- :mod:`flint.execution.fill_models`: how orders fill (plugins add models).
- :mod:`flint.execution.margin`: :class:`MarginEngine` (initial/maintenance margin).
- :mod:`flint.execution.capital`: :class:`VenueAllocator` (per-venue cash, transfers).
"""

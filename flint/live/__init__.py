"""What live trading shares across venues (see ``docs/live-trading.md``).

- :mod:`flint.live.adapter`: :class:`~flint.live.adapter.VenueAdapter`, the interface a
  venue plugin implements, its records and error classes.
- :mod:`flint.live.journal`: the append-only order journal in the store.
- :mod:`flint.live.reconcile`: aligning the journal with the venue.
- :mod:`flint.live.credentials`: keys from the environment or the keyring.
- :mod:`flint.live.session`: the bar loop of ``flint live`` and what it records.
- :mod:`flint.live.feed`: every venue's own closed bars and funding, aligned by bar time.
- :mod:`flint.live.strategy_context`: the strategy's ``ctx`` in a live session.
- :mod:`flint.live.risk_settings`: the risk settings a session stores and replays.

The context itself is :class:`flint.execution.live_base.LiveExecutionContext`.
"""

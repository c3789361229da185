"""What live trading shares across venues (see ``docs/live-trading.md``).

- :mod:`flint.live.adapter`: :class:`~flint.live.adapter.VenueAdapter`, the interface a
  venue plugin implements, its records and error classes.
- :mod:`flint.live.journal`: the append-only order journal in the store.
- :mod:`flint.live.reconcile`: aligning the journal with the venue.
- :mod:`flint.live.credentials`: keys from the environment or the keyring.

The context itself is :class:`flint.execution.live_base.LiveExecutionContext`.
"""

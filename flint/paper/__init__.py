"""Paper trading: a strategy on live closed bars, filled like the backtest.

:mod:`flint.paper.venue` simulates the venue, :mod:`flint.paper.session` runs,
persists and resumes sessions, :mod:`flint.paper.lifecycle` stops, kills and ends them
(live sessions too), :mod:`flint.paper.feed` polls the bars;
:class:`flint.execution.paper_broker.PaperBroker` is the strategy's ``ctx``.
"""

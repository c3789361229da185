"""Sources of market data: the ``DataProvider`` base class and the registry plugins fill.

Built in: ``file`` (:mod:`flint.providers.files`, CSV/Parquet) and ``sample``
(:mod:`flint.providers.sample`, generated markets for offline use). Venue plugins
register their venue's provider (``flint-hyperliquid``: ``hyperliquid``), built on
what venues share: :mod:`~flint.providers.endpoints` (base URLs from flint.yaml and
the environment), :mod:`~flint.providers.errors`, :mod:`~flint.providers.transport`
(rate limiter and retries), :mod:`~flint.providers.download` (what ``flint data
download`` runs) and :mod:`~flint.providers.feeds` (live closed candles).
"""

from flint.providers.base import CAPABILITY_METHODS, DataProvider, Page
from flint.providers.registry import ProviderRegistry

__all__ = ["CAPABILITY_METHODS", "DataProvider", "Page", "ProviderRegistry"]

"""Sources of market data: the ``DataProvider`` base class and the registry plugins fill.

Built in: ``file`` (:mod:`flint.providers.files`, CSV/Parquet) and ``sample``
(:mod:`flint.providers.sample`, generated markets for offline use).
"""

from flint.providers.base import CAPABILITY_METHODS, DataProvider, Page
from flint.providers.registry import ProviderRegistry

__all__ = ["CAPABILITY_METHODS", "DataProvider", "Page", "ProviderRegistry"]

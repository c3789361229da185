"""``ProviderRegistry``: the data providers plugins registered, by name and capability.

Creating a provider is :func:`flint.plugins.get_data_provider`; this class adds the
capability queries and keeps the seed's module path.
"""

from typing import Any

from flint.config import FlintConfig
from flint.plugins import lookup, make_data_provider, registry
from flint.providers.base import DataProvider
from flint_core.registry import Registry


class ProviderRegistry:
    """The data providers registered through ``flint_register_data_providers``.

    ``entries`` defaults to the process-wide plugin host's ``data_providers``.
    """

    def __init__(self, entries: Registry[Any] | None = None) -> None:
        self._entries = entries if entries is not None else registry("data_providers")

    def names(self) -> list[str]:
        """Registered provider names, sorted."""
        return self._entries.names()

    def capabilities(self, name: str) -> frozenset[str]:
        """What provider ``name`` can fetch: the ``capabilities`` it was registered with,
        else its class attribute."""
        entry = lookup("data_providers", name, self._entries)
        declared = entry.meta.get("capabilities", getattr(entry.obj, "capabilities", ()))
        return frozenset(declared)

    def venues(self) -> dict[str, str]:
        """``{venue: provider name}`` of the providers registered with a ``venue`` (meta):
        those that download a venue's own data."""
        out = {}
        for name in self.names():
            venue = self._entries.entry(name).meta.get("venue")
            if venue:
                out[str(venue)] = name
        return out

    def supporting(self, capability: str) -> list[str]:
        """Names of the providers declaring ``capability`` (e.g. ``"funding"``)."""
        return [name for name in self.names() if capability in self.capabilities(name)]

    def create(
        self, name: str, *, config: FlintConfig | None = None, **options: Any
    ) -> DataProvider:
        """A new provider ``name`` (see :func:`flint.plugins.get_data_provider`)."""
        return make_data_provider(lookup("data_providers", name, self._entries), config, options)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __repr__(self) -> str:
        return f"ProviderRegistry({self.names()!r})"

"""``ProviderRegistry``: the data providers plugins registered, by name and capability."""

from typing import Any

from flint.config import FlintConfig, load_config
from flint.plugins import get_host
from flint.providers.base import DataProvider
from flint_core.registry import Registry


class ProviderRegistry:
    """Look up and create data providers registered through ``flint_register_data_providers``.

    ``registry`` defaults to the process-wide plugin host's ``data_providers``.
    """

    def __init__(self, registry: Registry[Any] | None = None) -> None:
        self._registry = registry if registry is not None else get_host().registry(
            "data_providers"
        )

    def names(self) -> list[str]:
        """Registered provider names, sorted."""
        return self._registry.names()

    def capabilities(self, name: str) -> frozenset[str]:
        """What provider ``name`` can fetch: the ``capabilities`` it was registered with,
        else its class attribute."""
        entry = self._registry.entry(name)
        declared = entry.meta.get("capabilities", getattr(entry.obj, "capabilities", ()))
        return frozenset(declared)

    def venues(self) -> dict[str, str]:
        """``{venue: provider name}`` of the providers registered with a ``venue`` (meta):
        those that download a venue's own data."""
        out = {}
        for name in self.names():
            venue = self._registry.entry(name).meta.get("venue")
            if venue:
                out[str(venue)] = name
        return out

    def supporting(self, capability: str) -> list[str]:
        """Names of the providers declaring ``capability`` (e.g. ``"funding"``)."""
        return [name for name in self.names() if capability in self.capabilities(name)]

    def create(
        self, name: str, *, config: FlintConfig | None = None, **options: Any
    ) -> DataProvider:
        """A new provider ``name``, built with ``providers.<name>`` of the configuration
        (``config``, else :func:`flint.config.load_config`) updated by ``options``."""
        factory = self._registry.get(name)
        settings = (config if config is not None else load_config()).providers.get(name, {})
        provider = factory(**{**settings, **options})
        if not isinstance(provider, DataProvider):
            raise TypeError(
                f"data provider '{name}' ({self._registry.entry(name).provenance}) built a "
                f"{type(provider).__name__}, not a flint.providers.base.DataProvider"
            )
        return provider

    def __contains__(self, name: object) -> bool:
        return name in self._registry

    def __repr__(self) -> str:
        return f"ProviderRegistry({self.names()!r})"

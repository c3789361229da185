"""Contract test classes a plugin subclasses to prove it behaves like a flint plugin.

Example (``tests/test_conformance.py`` of a plugin)::

    from flint.testing.contracts import PluginContract

    class TestMyPlugin(PluginContract):
        plugin_name = "myplugin"          # the entry-point name
        dist_name = "flint-myplugin"      # the distribution that provides it

Class names have no ``Test`` prefix so pytest does not collect them here.
"""

import importlib
from importlib import metadata
from typing import Any, ClassVar

from flint_core.plugins import REGISTRY_HOOKS, PluginHost, PluginInfo
from flint_core.venues import VenueConfig

#: What a plugin may declare in its module-level ``CAPABILITIES``.
KNOWN_CAPABILITIES = frozenset({*REGISTRY_HOOKS, "commands"})


class PluginContract:
    """A plugin loads cleanly, registers unique documented names and declares capabilities.

    The plugin module must define ``CAPABILITIES``: the set of registry kinds it
    registers into (``"venue_configs"``, ``"strategies"``, ``"commands"``, ...).
    """

    plugin_name: ClassVar[str]
    dist_name: ClassVar[str]

    def _info(self, host: PluginHost) -> PluginInfo:
        assert self.plugin_name in host.plugins, (
            f"plugin '{self.plugin_name}' was not discovered; installed flint plugins: "
            f"{sorted(host.plugins)}"
        )
        return host.plugins[self.plugin_name]

    def test_entry_point_is_installed(self) -> None:
        eps = [ep for ep in metadata.entry_points(group="flint") if ep.name == self.plugin_name]
        assert len(eps) == 1, f"expected one 'flint' entry point named {self.plugin_name}"
        assert eps[0].dist is not None
        assert eps[0].dist.metadata["Name"] == self.dist_name

    def test_loads_without_errors(self, flint_host: PluginHost) -> None:
        info = self._info(flint_host)
        assert info.errors == [], f"plugin '{self.plugin_name}' reported errors: {info.errors}"
        assert info.status == "loaded"
        assert info.version == metadata.version(self.dist_name)

    def test_loads_alone_in_strict_mode(self, make_flint_host: Any) -> None:
        host = make_flint_host(load=[self.plugin_name], strict=True)
        assert self._info(host).status == "loaded"

    def test_declares_capabilities(self, flint_host: PluginHost) -> None:
        info = self._info(flint_host)
        module = importlib.import_module(info.module)
        declared = getattr(module, "CAPABILITIES", None)
        assert isinstance(declared, (set, frozenset)) and declared, (
            f"{info.module} must define CAPABILITIES, a non-empty set of registry kinds"
        )
        unknown = set(declared) - KNOWN_CAPABILITIES
        assert not unknown, (
            f"unknown capabilities {sorted(unknown)}; known: {sorted(KNOWN_CAPABILITIES)}"
        )
        registered = {kind for kind, names in info.registered.items() if names}
        if "commands" in declared:
            registered.add("commands")  # commands are added when the CLI starts
        assert registered == set(declared), (
            f"declared {sorted(declared)} but registered into {sorted(registered)}"
        )

    def test_registered_names_are_unique(self, flint_host: PluginHost) -> None:
        info = self._info(flint_host)
        for kind, names in info.registered.items():
            assert len(names) == len(set(names)), f"{kind}: duplicate names {names}"
            for name in names:
                entry = flint_host.registry(kind).entry(name)
                assert entry.provenance.plugin == self.plugin_name, (
                    f"{kind} '{name}' ended up provided by {entry.provenance}"
                )

    def test_registered_names_are_documented(self, flint_host: PluginHost) -> None:
        for entry in flint_host.registered_by(self.plugin_name):
            assert entry.description, (
                f"{entry.kind} '{entry.name}' has no description: give it a docstring "
                f"or pass description=..."
            )

    def test_venue_configs_are_sane(self, flint_host: PluginHost) -> None:
        for entry in flint_host.registered_by(self.plugin_name):
            config = entry.obj
            if not isinstance(config, VenueConfig):
                continue
            assert config.maker_fee_bps <= config.taker_fee_bps, config
            assert 0 < config.maintenance_margin <= config.initial_margin, config
            assert config.max_leverage <= 1 / config.initial_margin + 1e-9, config

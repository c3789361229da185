"""flint's minimal kernel: hookspecs, plugin host, registries, value types and hot code.

Depends only on pluggy, attrs and numpy. Users import :mod:`flint`; plugins import
``flint.hookimpl``.
"""

from flint_core._version import __version__

#: Version of the plugin API (hookspecs). Plugins declare ``flint-sdk>=0.1,<1``.
PLUGIN_API_VERSION = 1

__all__ = ["PLUGIN_API_VERSION", "__version__"]

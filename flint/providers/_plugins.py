"""Names under ``flint.providers.*`` that live in venue plugins, imported on first use.

The seed's module paths (``flint.providers.funding_rates.BinanceFundingProvider``,
...) keep working: each such module maps its names to the plugin module defining
them and re-exports them, or says which plugin to ``pip install``.
"""

import importlib
from collections.abc import Mapping
from typing import Any


def from_plugin(module: str, name: str, exports: Mapping[str, tuple[str, str]]) -> Any:
    """``name`` of ``exports`` (``{name: (plugin module, distribution)}``) for ``module``'s
    ``__getattr__``: the plugin's object, or an ImportError naming what to install."""
    if name not in exports:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    source, dist = exports[name]
    lacking = ImportError(
        f"{module}.{name} comes from the {dist} plugin, whose installed version does not "
        f"provide it ({source}); install a version that does: pip install -U {dist}"
    )
    try:
        found = importlib.import_module(source)
    except ModuleNotFoundError as exc:
        if exc.name == source.split(".")[0]:
            raise ImportError(
                f"{module}.{name} comes from the {dist} plugin, which is not installed: "
                f"pip install {dist}"
            ) from None
        if exc.name == source:
            raise lacking from None
        raise
    try:
        return getattr(found, name)
    except AttributeError:
        raise lacking from None

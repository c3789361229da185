"""The kernel modules compiled by mypyc in the opt-in compiled build.

Read by ``setup.py`` (which compiles them when ``FLINT_MYPYC=1``) and by
:mod:`flint_core.compiled` (which reports whether they are compiled). Keep this
file free of imports: the build reads it before anything is installed.
"""

HOT_MODULES = (
    "flint_core.markets",
    "flint_core.records",
    "flint_core.series",
    "flint_core.indicators",
    "flint_core.terms",
    "flint_core.ledger",
    "flint_core.margin",
    "flint_core.fills",
    "flint_core.matching",
    "flint_core.inputs",
    "flint_core.feeds",
    "flint_core.loop",
    "flint_core.views",
    "flint_core.entry",
)

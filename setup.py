"""Build script: pure wheel by default, mypyc-compiled kernel with FLINT_MYPYC=1.

Everything else about the distribution lives in pyproject.toml.
"""

import os
import runpy
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).parent


def _ext_modules() -> list:
    if os.environ.get("FLINT_MYPYC", "0").lower() not in {"1", "true", "yes"}:
        return []
    from mypyc.build import mypycify

    hot = runpy.run_path(str(HERE / "flint_core" / "_hot.py"))["HOT_MODULES"]
    targets = sorted(str(Path(*name.split("."))) + ".py" for name in hot)
    return mypycify(
        [*targets, "--config-file=mypy-mypyc.ini"],
        opt_level=os.environ.get("MYPYC_OPT_LEVEL", "3"),
        debug_level=os.environ.get("MYPYC_DEBUG_LEVEL", "0"),
    )


setup(ext_modules=_ext_modules())

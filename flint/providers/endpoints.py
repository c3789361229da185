"""Where each venue lives: base URLs from the environment, flint.yaml or the venue's default.

Precedence, highest first: an explicit ``url`` argument (code), the environment
variable ``FLINT_<VENUE>_<KEY>`` (``FLINT_HYPERLIQUID_API_URL``,
``FLINT_DRIFT_DATA_API_URL``, ``FLINT_DRIFT_DLOB_URL``, ``FLINT_SOLANA_RPC_URL``,
``FLINT_BINANCE_API_URL``, ...), ``venues.<venue>.<key>`` in flint.yaml, then the
venue's public default. So a testnet, a mirror, a recorder or a test fake is one
setting away.
"""

import os
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from flint.config import FlintConfig, load_config

SCHEMES = ("http", "https", "ws", "wss")


def env_name(venue: str, key: str = "api_url") -> str:
    """The environment variable of ``venue``'s ``key``: ``FLINT_<VENUE>_<KEY>``."""
    return f"FLINT_{venue}_{key}".upper().replace("-", "_")


def check_url(url: str, where: str) -> str:
    """``url`` without a trailing slash; ``ValueError`` naming ``where`` unless it is a
    http(s)/ws(s) URL with a host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in SCHEMES or not parts.netloc:
        raise ValueError(
            f"{where} must be a URL like https://host[:port][/path], got {url!r}"
        )
    return url.strip().rstrip("/")


def endpoint_url(
    venue: str,
    key: str = "api_url",
    *,
    default: str,
    url: str | None = None,
    config: FlintConfig | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The base URL of ``venue``'s ``key`` endpoint (see the module doc for precedence)."""
    if url:
        return check_url(url, f"the {venue} {key}")
    variable = env_name(venue, key)
    found = (os.environ if environ is None else environ).get(variable)
    if found:
        return check_url(found, variable)
    settings = (config if config is not None else load_config()).venues.get(venue, {})
    if settings.get(key):
        return check_url(str(settings[key]), f"venues.{venue}.{key} in flint.yaml")
    return check_url(default, f"the default {venue} {key}")


def rebase_url(url: str, base: str) -> str:
    """``url`` with the scheme, host and port of ``base`` and its own path and query
    (how ``FLINT_<EXCHANGE>_API_URL`` moves every REST endpoint of a CCXT exchange).

    A path in ``base`` is put in front of ``url``'s path.
    """
    target, origin = urlsplit(url), urlsplit(base)
    path = origin.path.rstrip("/") + target.path
    return urlunsplit((origin.scheme, origin.netloc, path, target.query, target.fragment))

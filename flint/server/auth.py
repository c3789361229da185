"""Bearer tokens and their scopes.

Tokens live in ``tokens.json`` of the server's state folder (mode 0600), each as the
SHA-256 of its text with its scopes; the text itself is shown once, when it is made.
``api_token`` of the configuration (``FLINT_API_TOKEN``) is also accepted, with
:data:`CONFIGURED_SCOPES`. Scopes: ``read`` (look), ``research`` (run backtests and
optimisations, save strategies, delete journal runs), ``paper`` (look at, stop and
kill paper sessions) and ``live`` (look at live sessions; no route places live orders).
"""

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

import attrs

SCOPES = ("read", "research", "paper", "live")
#: Scopes of the token made on first start and of the configured ``api_token``.
CONFIGURED_SCOPES = ("read", "research", "paper")
TOKENS_FILE = "tokens.json"


class AuthError(Exception):
    """A token file that cannot be used, or a server that must not start without a token."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@attrs.frozen
class TokenBook:
    """The accepted tokens: ``{sha256: scopes}``."""

    tokens: dict[str, tuple[str, ...]]

    def scopes(self, token: str) -> tuple[str, ...] | None:
        """The scopes of ``token``, or None when it is not accepted."""
        wanted = _digest(token)
        for digest, scopes in self.tokens.items():
            if hmac.compare_digest(digest, wanted):
                return scopes
        return None


def _check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    found = tuple(scopes)
    unknown = sorted(set(found) - set(SCOPES))
    if unknown or not found:
        raise AuthError(f"scopes must be some of {', '.join(SCOPES)}; got {list(found)}")
    return found


def read_tokens(folder: Path) -> dict[str, tuple[str, ...]]:
    """The token digests stored in ``folder`` (empty when there is no token file)."""
    path = folder / TOKENS_FILE
    if not path.is_file():
        return {}
    if path.stat().st_mode & 0o077:
        raise AuthError(f"{path} must be readable by its owner only (chmod 600 {path})")
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["tokens"]
        return {str(r["sha256"]): _check_scopes(r["scopes"]) for r in rows}
    except (ValueError, KeyError, TypeError) as exc:
        raise AuthError(f"{path} is not a flint token file: {exc}") from None


def add_token(folder: Path, scopes: Iterable[str] = CONFIGURED_SCOPES) -> str:
    """Make a token with ``scopes``, store its digest in ``folder`` (0600), return its text."""
    chosen = _check_scopes(scopes)
    tokens = read_tokens(folder)
    token = secrets.token_urlsafe(32)
    tokens[_digest(token)] = chosen
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / TOKENS_FILE
    partial = path.with_suffix(".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        rows = [{"sha256": d, "scopes": list(s)} for d, s in tokens.items()]
        json.dump({"tokens": rows}, handle, indent=2)
    partial.replace(path)
    return token


def token_book(folder: Path, configured: str = "") -> TokenBook:
    """The tokens ``folder`` holds plus ``configured`` (the configuration's ``api_token``)."""
    tokens = read_tokens(folder)
    if configured:
        tokens[_digest(configured)] = CONFIGURED_SCOPES
    return TokenBook(tokens)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine reaches."""
    return host in ("localhost", "::1") or host.startswith("127.")


def startup_tokens(folder: Path, host: str, configured: str = "") -> tuple[TokenBook, str | None]:
    """The tokens a server on ``host`` accepts, and a token made now (to print once) when
    there was none. Off the loopback interface a token must be configured beforehand."""
    book = token_book(folder, configured)
    if book.tokens:
        return book, None
    if not is_loopback(host):
        raise AuthError(
            f"refusing to listen on {host} without a token: set api_token (FLINT_API_TOKEN) "
            f"or start once on 127.0.0.1 to create one in {folder / TOKENS_FILE}"
        )
    token = add_token(folder)
    return token_book(folder, configured), token

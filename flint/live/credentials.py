"""API keys for live trading: read from the environment or the OS keyring, never shown.

    from flint.live.credentials import load_secret

    secret = load_secret("FLINT_HYPERLIQUID_PRIVATE_KEY")   # env, else keyring
    signer = sign_with(secret.reveal())                     # only where it is used

A :class:`Secret` prints as ``***`` (``str``, ``repr``, f-strings, logging, JSON
errors), cannot be pickled, and its value is taken out only with :meth:`Secret.reveal`.
Keys are never written to the journal, a log line or an error message: errors name
the variable and the keyring entry that were looked up, never a value.
"""

import os
from collections.abc import Mapping
from typing import Any, NoReturn

#: The keyring service flint's keys are stored under (``keyring set flint NAME``).
KEYRING_SERVICE = "flint"


class CredentialError(LookupError):
    """A key is missing; the message says where it was looked for."""


class Secret:
    """A key's value that never shows itself."""

    __slots__ = ("_value", "name")

    def __init__(self, name: str, value: str) -> None:
        if not value:
            raise CredentialError(f"{name} is empty")
        self.name = name
        self._value = value

    def reveal(self) -> str:
        """The value, for the one place that signs or authenticates with it."""
        return self._value

    def __str__(self) -> str:
        return "***"

    def __repr__(self) -> str:
        return f"Secret({self.name!r}, ***)"

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"the secret {self.name} cannot be pickled")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self.name))


def load_secret(
    name: str,
    *,
    environ: Mapping[str, str] | None = None,
    keyring_service: str = KEYRING_SERVICE,
) -> Secret:
    """The key ``name``: the environment variable of that name, else the keyring entry
    ``(keyring_service, name)``; :class:`CredentialError` if neither holds it."""
    env = os.environ if environ is None else environ
    value = env.get(name, "")
    if value:
        return Secret(name, value)
    stored, problem = _from_keyring(keyring_service, name)
    if stored:
        return Secret(name, stored)
    raise CredentialError(
        f"no key {name}: set the environment variable {name} or store it with "
        f"`keyring set {keyring_service} {name}`{problem}"
    )


def _from_keyring(service: str, name: str) -> tuple[str | None, str]:
    """The keyring's value (or None) and, when the keyring could not be asked, why."""
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None, " (the keyring package is not installed: pip install 'flint-sdk[live]')"
    try:
        value: Any = keyring.get_password(service, name)
    except KeyringError as exc:
        return None, f" (the keyring is unavailable: {type(exc).__name__})"
    return (str(value) if value else None), ""

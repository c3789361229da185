"""Drift on-chain encoding shared by the live adapter and the fake Solana JSON-RPC:
driftpy imported lazily (with a clear message when the ``live`` extra is missing),
the program's IDL coder, account and event (de)serialisation, the precisions.
"""

import base64
import copyreg
import functools
import hashlib
from typing import Any

#: Drift's program id (mainnet and devnet) and the SPL memo program (carries flint's
#: client order id in the transaction that places an order).
PROGRAM_ID = "dRiftyHA39MWEi3m9aunc5MzRF1JYuBsbn6VPcn33UH"
MEMO_PROGRAM_ID = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"

PRICE_PRECISION = 1_000_000
BASE_PRECISION = 1_000_000_000
QUOTE_PRECISION = 1_000_000

#: Bytes after the 8-byte discriminator of each account the adapter and fake use.
ACCOUNT_SIZES = {"User": 4368, "State": 988, "PerpMarket": 1212, "SpotMarket": 772,
                 "UserStats": 236, "PrelaunchOracle": 116}

INSTALL_HINT = "Drift live trading needs driftpy: pip install 'flint-drift[live]'"


def require_driftpy() -> None:
    """Import driftpy or raise ImportError saying how to install it."""
    try:
        import driftpy  # noqa: F401
        from solders.pubkey import Pubkey
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({exc})") from None
    # anchorpy's encoder deep-copies account objects; solders' Pubkey cannot be pickled
    copyreg.pickle(Pubkey, lambda key: (Pubkey.from_bytes, (bytes(key),)))


@functools.cache
def program() -> Any:
    """driftpy's anchorpy ``Program`` for Drift (no network I/O)."""
    require_driftpy()
    from driftpy.account_subscription_config import AccountSubscriptionConfig
    from driftpy.drift_client import DriftClient
    from solana.rpc.async_api import AsyncClient
    from solders.keypair import Keypair

    client = DriftClient(AsyncClient("http://127.0.0.1:1"), Keypair(), "devnet",
                         account_subscription=AccountSubscriptionConfig("cached"),
                         market_lookup_tables=[])
    return client.program


def pubkey(text: str | bytes) -> Any:
    """A solders Pubkey from base58 text or 32 bytes."""
    require_driftpy()
    from solders.pubkey import Pubkey

    return Pubkey.from_bytes(text) if isinstance(text, bytes) else Pubkey.from_string(text)


def decode_account(raw: bytes) -> Any:
    """An account's fields (State, PerpMarket, User, ...) from its bytes."""
    return program().coder.accounts.parse(raw).data


def blank_account(name: str) -> Any:
    """A zeroed account ``name`` (its fields editable, then :func:`encode_account`)."""
    coder = program().coder.accounts
    return coder.parse(coder.acc_name_to_discriminator[name] + bytes(ACCOUNT_SIZES[name]))


def encode_account(account: Any) -> bytes:
    """The bytes of an account from :func:`blank_account` (after editing ``.data``)."""
    return bytes(program().coder.accounts.build(account))


def event_discriminator(name: str) -> bytes:
    """Anchor's 8-byte discriminator of event ``name``."""
    return hashlib.sha256(f"event:{name}".encode()).digest()[:8]


def blank_event(name: str) -> Any:
    """A zeroed event record ``name`` (e.g. ``OrderActionRecord``)."""
    return program().coder.events.layouts[name].parse(bytes(4096))


def event_log(name: str, record: Any) -> str:
    """The ``Program data:`` log line Drift emits for ``record``."""
    data = event_discriminator(name) + program().coder.events.layouts[name].build(record)
    return "Program data: " + base64.b64encode(data).decode()


def parse_events(logs: list[str]) -> list[Any]:
    """Drift's events (``.name``, ``.data``) in a transaction's log messages."""
    from driftpy.events.parse import parse_logs

    return list(parse_logs(program(), logs))


def variant(value: Any) -> str:
    """The name of a driftpy enum variant (``OrderType.Limit()`` -> ``Limit``)."""
    return type(value).__name__

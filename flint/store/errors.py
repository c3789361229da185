"""Errors raised by :class:`flint.store.FlintStore`."""


class StoreError(Exception):
    """The store cannot do what was asked (missing file, closed, busy, wrong schema)."""


class StoreLockedError(StoreError):
    """Another store (usually another process) holds the file: only one writer at a time."""


class StoreClosedError(StoreError):
    """The store was used after :meth:`FlintStore.close`."""


class NoCandlesError(StoreError, LookupError):
    """No stored candles match a query; the message says what the store holds instead.

    ``empty`` is True when the store holds no candles at all.
    """

    def __init__(self, message: str, *, empty: bool) -> None:
        super().__init__(message)
        self.empty = empty


class SchemaVersionError(StoreError):
    """The file's schema is newer than this flint, or too old to read without migrating."""


class InvalidRowError(ValueError):
    """A batch holds a bad row; nothing of the batch was written.

    ``row`` is the position of the first offending row in the batch as given
    (before sorting or de-duplication) and ``reason`` says what is wrong with it.
    """

    def __init__(self, kind: str, row: int, reason: str) -> None:
        super().__init__(
            f"invalid {kind} at row {row}: {reason}; nothing from this batch was written"
        )
        self.kind = kind
        self.row = row
        self.reason = reason

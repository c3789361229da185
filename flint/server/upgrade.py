"""Bringing a store written by an earlier flint to this flint's schema at start.

The server and the MCP server read the store read-only, and a read-only open refuses
a file whose schema is older than this flint's (only a writer migrates it, see
:mod:`flint.store.schema`). So both open it once for writing at start when it needs
that, and a store journaled by the previous release is readable at once.
"""

import contextlib
from pathlib import Path

#: Seconds to wait for another process's operation on the file at start.
WAIT_S = 2.0


def upgrade_store(path: Path) -> None:
    """Migrate the store at ``path`` if it has an older schema. A store that is current,
    newer, missing or being written by another process is left as it is (its reads then
    say what is wrong)."""
    from flint.store import FlintStore, StoreError
    from flint.store.errors import SchemaVersionError

    if not path.is_file():
        return
    try:
        FlintStore(path, read_only=True, timeout_s=WAIT_S).close()
    except SchemaVersionError:
        with contextlib.suppress(StoreError):
            FlintStore(path, timeout_s=WAIT_S).close()  # a writer's open migrates
    except StoreError:
        return

"""The API's OpenAPI document, and what changed between two of them.

``python -m flint.server.schema > docs/openapi.json`` writes the checked-in copy; the
tests diff the app against it: the API may only grow (:func:`breaking_changes`).
"""

import json
import tempfile
from pathlib import Path
from typing import Any


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the app (built over an empty scratch folder)."""
    from flint.server.app import ServerSettings, create_app
    from flint.server.auth import TokenBook

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        app = create_app(ServerSettings(store=folder / "store.duckdb", state=folder,
                                        strategies=folder / "strategies"), TokenBook({}))
        return app.openapi()


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What ``new`` removed or tightened of ``old``: operations, their response codes,
    models, model fields, and fields newly required."""
    found = []
    for path, operations in old.get("paths", {}).items():
        for method, operation in operations.items():
            now = new.get("paths", {}).get(path, {}).get(method)
            if now is None:
                found.append(f"{method.upper()} {path} was removed")
                continue
            gone = set(operation.get("responses", {})) - set(now.get("responses", {}))
            if gone:
                found.append(f"{method.upper()} {path} no longer answers {sorted(gone)}")
    old_models = old.get("components", {}).get("schemas", {})
    new_models = new.get("components", {}).get("schemas", {})
    for name, model in old_models.items():
        now = new_models.get(name)
        if now is None:
            found.append(f"model {name} was removed")
            continue
        gone = set(model.get("properties", {})) - set(now.get("properties", {}))
        if gone:
            found.append(f"model {name} lost {sorted(gone)}")
        required = set(now.get("required", [])) - set(model.get("required", []))
        if required:
            found.append(f"model {name} now requires {sorted(required)}")
    return found


if __name__ == "__main__":
    print(json.dumps(openapi_document(), indent=2, sort_keys=True))

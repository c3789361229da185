"""The checked-in OpenAPI document (docs/openapi.json) is the API's contract: the app
may only add to it, and the copy must be regenerated when it does."""

import copy
import json
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from flint.server.schema import breaking_changes, openapi_document

CHECKED_IN = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"
REGENERATE = "python -m flint.server.schema > docs/openapi.json"


@pytest.fixture(scope="module")
def documents() -> tuple[dict, dict]:
    if not CHECKED_IN.is_file():
        pytest.skip(f"{CHECKED_IN} is not in this checkout")
    return json.loads(CHECKED_IN.read_text()), openapi_document()


def test_the_api_only_grows(documents: tuple[dict, dict]) -> None:
    old, new = documents
    assert breaking_changes(old, new) == []


def test_the_checked_in_copy_is_current(documents: tuple[dict, dict]) -> None:
    old, new = documents
    assert json.loads(json.dumps(new)) == old, f"the API changed: {REGENERATE}"


def test_every_body_has_a_model(documents: tuple[dict, dict]) -> None:
    _, new = documents
    for path, operations in new["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody")
            if body is not None:
                assert "$ref" in body["content"]["application/json"]["schema"], (method, path)
            ok = [c for c in operation["responses"] if c.startswith("2")]
            assert ok, (method, path)
            for code in ok:
                content = operation["responses"][code].get("content", {})
                schema = content.get("application/json", {}).get("schema")
                if "text/event-stream" in content:
                    continue
                assert schema is not None, (method, path, code)


def test_breaking_changes_are_caught(documents: tuple[dict, dict]) -> None:
    old, _ = documents
    shrunk = copy.deepcopy(old)
    del shrunk["paths"]["/api/v1/journal/runs"]["get"]
    del shrunk["components"]["schemas"]["JobStatus"]["properties"]["progress"]
    shrunk["components"]["schemas"]["BacktestRequest"].setdefault("required", []).append("x")
    found = breaking_changes(old, shrunk)
    assert "GET /api/v1/journal/runs was removed" in found
    assert "model JobStatus lost ['progress']" in found
    assert "model BacktestRequest now requires ['x']" in found

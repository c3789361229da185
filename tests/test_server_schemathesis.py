"""schemathesis against the checked-in OpenAPI document: requests it generates from
docs/openapi.json never get a 5xx, and every answer matches the document."""

from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("schemathesis")
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from flint.server.app import ServerSettings, create_app
from flint.server.auth import add_token, token_book

CHECKED_IN = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"
#: No 5xx, and status codes, content types, bodies and headers as documented. (Not
#: positive_data_acceptance: a well-formed request for a market the store lacks, or
#: a strategy that is not registered, is rightly a 400.)
CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.content_type_conformance, checks.response_schema_conformance,
          checks.response_headers_conformance]


#: The venue API addresses a download job could reach.
OFFLINE = ("FLINT_HYPERLIQUID_API_URL", "FLINT_BINANCE_API_URL", "FLINT_DRIFT_DATA_API_URL",
           "FLINT_DRIFT_DLOB_URL", "FLINT_DRIFT_RPC_URL")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    """The checked-in document bound to a live app over a small sample store, and a
    token with the read and research scopes. Download jobs find every venue's API on a
    closed local port: they fail at once, offline."""
    from flint.sample_data import generate
    from flint.store import FlintStore

    if not CHECKED_IN.is_file():
        pytest.skip(f"{CHECKED_IN} is not in this checkout")
    root = tmp_path_factory.mktemp("schemathesis")
    with FlintStore(root / "sample.duckdb") as store:
        generate(days=5).save(store)
    state = root / "state"
    token = add_token(state, ("read", "research"))
    app = create_app(ServerSettings(store=root / "sample.duckdb", state=state,
                                    strategies=root / "strategies", max_jobs=1),
                     token_book(state))
    schema = schemathesis.openapi.from_path(CHECKED_IN)
    schema.app = app
    with pytest.MonkeyPatch.context() as env:
        for name in OFFLINE:
            env.setenv(name, "http://127.0.0.1:9")
        yield schema, token
    app.state.jobs.close()


def test_no_server_error_and_answers_match_the_document(served) -> None:
    schema, token = served
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 27
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
        def check(case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                                   checks=CHECKS)

        check()

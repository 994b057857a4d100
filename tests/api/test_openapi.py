"""The OpenAPI document is accurate: schemathesis fuzzes every operation (few cases each).

Checks: no 5xx, status codes documented, responses match their schemas, content types right.
"""

from __future__ import annotations

import warnings

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.api.conftest import Seeded

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Operations not fuzzed here: logging out would end nothing (tokens) and login is rate limited.
SKIP = {"POST /api/v1/auth/login"}


def test_openapi_document_lists_every_api_route(shared: Seeded) -> None:
    doc = shared.client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for p in (
        "/api/v1/hazards",
        "/api/v1/hazards/{hazard_id}/explanation",
        "/api/v1/tasks/{task_id}",
    ):
        assert p in paths
    for p in (
        "/api/v1/imports",
        "/api/v1/imports/{batch_id}/confirm",
        "/api/v1/quarantine/{record_id}/accept-repair",
        "/api/v1/review/inbox",
        "/api/v1/reports/{report_id}/review",
    ):
        assert p in paths, p
    upload = paths["/api/v1/imports"]["post"]
    assert (
        "413" in upload["responses"] and "multipart/form-data" in upload["requestBody"]["content"]
    )
    assert {"409", "412", "428"} <= set(
        paths["/api/v1/reports/{report_id}/review"]["post"]["responses"]
    )
    patch = paths["/api/v1/tasks/{task_id}"]["patch"]
    assert {"412", "428"} <= set(patch["responses"])
    assert "application/geo+json" in paths["/api/v1/hazards"]["get"]["responses"]["200"]["content"]


@pytest.mark.parametrize("who", ["admin", "entry"])
def test_schemathesis_fuzzing(shared: Seeded, who: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = schemathesis.openapi.from_asgi("/openapi.json", shared.client.app)
    headers = shared.accounts.headers(who)
    failures: list[str] = []
    for result in schema.get_all_operations():
        op = result.ok()
        key = f"{op.method.upper()} {op.path}"
        if key in SKIP:
            continue

        @settings(
            max_examples=6,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=op.as_strategy())
        def run(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(f"{key}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)

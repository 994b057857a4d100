"""Schemathesis over the OGC API's own OpenAPI document (``/ogc/api``, the service-desc).

Valid and invalid requests (schemathesis' positive and negative generation). Few cases per
operation and role in CI; for a long run set ``MINEACTION_OGC_SCHEMATHESIS_EXAMPLES``, e.g.
``MINEACTION_OGC_SCHEMATHESIS_EXAMPLES=300 pytest tests/ogc/test_schemathesis.py`` (about 7,000
requests per role). Checks: no 5xx, never 422 (OGC wants 400), every status code documented,
content types as documented. ``tests/reliability/run_fuzz.py --ogc N`` adds hostile hand-made
parameters and ids.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    status_code_conformance,
)
from tests.api.conftest import Seeded

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]
#: cases per operation and role (CI default; raise it for the long reliability run)
EXAMPLES = int(os.environ.get("MINEACTION_OGC_SCHEMATHESIS_EXAMPLES", "5"))


def ogc_schema(shared: Seeded) -> Any:
    """Load the OGC API definition served at /ogc/api, bound to the app."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return schemathesis.openapi.from_asgi("/ogc/api", shared.client.app)


def fuzz(schema: Any, headers: dict[str, str], examples: int) -> tuple[int, list[str]]:
    """Run ``examples`` cases per operation; return the number of cases and the failures."""
    failures: list[str] = []
    count = 0
    for result in schema.get_all_operations():
        op = result.ok()
        key = f"{op.method.upper()} {op.path}"
        # valid requests and invalid ones (wrong types, out-of-range values, bad formats)
        strategy = st.one_of(
            op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE)
        )

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: schemathesis.Case) -> None:
            nonlocal count
            count += 1
            response = case.call(headers=headers)  # noqa: B023 - run at once
            # OGC API - Features: invalid parameters are 400, never FastAPI's 422
            assert response.status_code != 422, f"422 for {case.query}: {response.text[:200]}"
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as exc:
            failures.append(f"{key}: {str(exc)[:600]}")
    return count, failures


def test_service_desc_covers_every_ogc_route(shared: Seeded) -> None:
    schema = ogc_schema(shared)
    ops = {f"{r.ok().method.upper()} {r.ok().path}" for r in schema.get_all_operations()}
    assert "GET /collections/hazards/items" in ops
    assert "GET /collections/public-grid/items/{featureId}" in ops
    routes = {
        f"GET {r.path.removeprefix('/ogc')}"  # type: ignore[attr-defined]
        for r in shared.client.app.routes
        if getattr(r, "path", "").startswith("/ogc/collections")
    }
    routes = {r.replace("{feature_id}", "{featureId}") for r in routes}
    assert routes <= ops, routes - ops


@pytest.mark.parametrize("who", ["admin", "entry", "public"])
def test_schemathesis_ogc(shared: Seeded, who: str) -> None:
    count, failures = fuzz(ogc_schema(shared), shared.accounts.headers(who), examples=EXAMPLES)
    assert count >= 10 * EXAMPLES
    assert not failures, "\n\n".join(failures)

"""The access policy: for every route, which roles may call it (enforced centrally).

Every route of the app needs an entry keyed ``"METHOD /path/{param}"`` (the route's path
template). A route without one is refused with 403 at run time and fails the authorization
matrix test (tests/api/test_authorization_matrix.py), so nothing is exposed by accident.

``scoped`` means the route serves records that belong to an organisation / admin area: for
roles with a limited scope (operators, scoped viewers) single records outside the scope answer
404 and lists leave them out. The handler applies the scope (``user.scope``); the policy
declares it so the matrix test can check it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mineaction.core.access import ALL_ROLES, SIGNED_IN, Role


@dataclass(frozen=True)
class Access:
    """Who may call a route, and whether its records are filtered by the caller's scope."""

    roles: frozenset[Role]
    scoped: bool = False

    def allows(self, role: Role) -> bool:
        """True when ``role`` may call the route."""
        return role in self.roles


def allow(*roles: Role | frozenset[Role], scoped: bool = False) -> Access:
    """Build an :class:`Access` from roles and role sets."""
    out: set[Role] = set()
    for r in roles:
        out |= {r} if isinstance(r, Role) else set(r)
    return Access(frozenset(out), scoped)


A, IM, OPS = Role.ADMIN, Role.IM_OFFICER, Role.OPERATIONS
ENTRY, QC, VIEW = Role.OPERATOR_ENTRY, Role.OPERATOR_QC, Role.VIEWER
EVERYONE = allow(ALL_ROLES)
READERS = allow(SIGNED_IN, scoped=True)
NATIONAL = allow(A, IM, OPS)
SUBMITTERS = allow(A, IM, ENTRY, QC, scoped=True)
REVIEWERS = allow(A, IM, QC, scoped=True)
APPROVERS = allow(A, IM)
PERSONAL = allow(A, IM, scoped=True)
PLANNERS = allow(A, IM, OPS, scoped=True)
ADMIN_ONLY = allow(A)
IMPORT_READERS = allow(A, IM, OPS, ENTRY, QC, scoped=True)
REVIEW_ROLES = allow(A, IM, OPS, QC, scoped=True)

POLICY: dict[str, Access] = {
    # service and documentation
    "GET /healthz": EVERYONE,
    "GET /readyz": EVERYONE,
    "GET /metrics": EVERYONE,
    "GET /openapi.json": EVERYONE,
    "GET /docs": EVERYONE,
    "GET /docs/oauth2-redirect": EVERYONE,
    "GET /redoc": EVERYONE,
    "GET /": EVERYONE,
    # authentication
    "POST /api/v1/auth/login": EVERYONE,
    "POST /api/v1/auth/logout": allow(SIGNED_IN),
    "GET /api/v1/auth/me": EVERYONE,
    # users and audit (admin)
    "GET /api/v1/users": ADMIN_ONLY,
    "POST /api/v1/users": ADMIN_ONLY,
    "GET /api/v1/users/{username}": ADMIN_ONLY,
    "PATCH /api/v1/users/{username}": ADMIN_ONLY,
    "POST /api/v1/users/{username}/tokens": ADMIN_ONLY,
    "GET /api/v1/audit": ADMIN_ONLY,
    "GET /api/v1/audit.csv": ADMIN_ONLY,
    # web pages (mineaction.web.pages); "GET /" is the dashboard (anonymous: sign-in form)
    "GET /login": EVERYONE,
    "POST /login": EVERYONE,
    "POST /logout": allow(SIGNED_IN),
    "GET /map": READERS,
    "GET /map/hazards.json": READERS,
    "GET /map/finds.json": READERS,
    "GET /map/activities.json": READERS,
    "GET /map/basemap.json": READERS,
    "GET /hazards": READERS,
    "GET /hazards/{hazard_id}": READERS,
    # the review service checks each step against the role (verify, approve, reject)
    "GET /review": allow(A, IM, OPS, QC, scoped=True),
    "GET /review/{report_id}": allow(A, IM, OPS, QC, scoped=True),
    "POST /review/{report_id}/advance": allow(A, IM, OPS, QC, scoped=True),
    "POST /review/{report_id}/reject": allow(A, IM, OPS, QC, scoped=True),
    "GET /import": SUBMITTERS,
    "POST /import": SUBMITTERS,
    "GET /import/{batch_id}": SUBMITTERS,
    "POST /import/confirm": SUBMITTERS,
    "GET /admin": ADMIN_ONLY,
    # administration forms (mineaction.web.admin): the services validate and audit
    "GET /admin/users/new": ADMIN_ONLY,
    "POST /admin/users": ADMIN_ONLY,
    "GET /admin/users/{username}": ADMIN_ONLY,
    "POST /admin/users/{username}": ADMIN_ONLY,
    "POST /admin/users/{username}/disable": ADMIN_ONLY,
    "POST /admin/users/{username}/enable": ADMIN_ONLY,
    "POST /admin/users/{username}/password": ADMIN_ONLY,
    "POST /admin/users/{username}/tokens": ADMIN_ONLY,
    "POST /admin/users/{username}/tokens/revoke": ADMIN_ONLY,
    "GET /admin/organisations/new": ADMIN_ONLY,
    "POST /admin/organisations": ADMIN_ONLY,
    "GET /admin/organisations/{code}": ADMIN_ONLY,
    "POST /admin/organisations/{code}": ADMIN_ONLY,
    "GET /admin/codes": ADMIN_ONLY,
    "POST /admin/codes": ADMIN_ONLY,
    "GET /admin/codes/{list_name}/{code}": ADMIN_ONLY,
    "POST /admin/codes/{list_name}/{code}": ADMIN_ONLY,
    "POST /admin/codes/{list_name}/{code}/active": ADMIN_ONLY,
    # every signed-in user's own settings (interface language)
    "GET /profile": allow(SIGNED_IN),
    "POST /profile": allow(SIGNED_IN),
    "GET /reports": READERS,
    "GET /reports/file": READERS,
    "GET /plans": NATIONAL,
    "GET /plans/{plan_id}": NATIONAL,
    "GET /plans/{plan_id}/gantt.png": NATIONAL,
    "GET /plans/{plan_id}/curves.png": NATIONAL,
    "POST /plans/{plan_id}/accept": NATIONAL,
    # background planning runs started from the plans page, and their progress
    "POST /plans/run": NATIONAL,
    "GET /plans/runs/{job_id}": NATIONAL,
    "GET /plans/runs/{job_id}.json": NATIONAL,
    "GET /forecast": NATIONAL,
    # reference data
    "GET /api/v1/organisations": allow(SIGNED_IN),
    "POST /api/v1/organisations": APPROVERS,
    "GET /api/v1/locations": allow(SIGNED_IN),
    "GET /api/v1/locations/{pcode}": allow(SIGNED_IN),
    # hazards
    "GET /api/v1/hazards": READERS,
    "GET /api/v1/hazards/{hazard_id}": READERS,
    "GET /api/v1/hazards/{hazard_id}/history": READERS,
    "GET /api/v1/hazards/{hazard_id}/explanation": READERS,
    # reports and review
    "GET /api/v1/reports": READERS,
    "POST /api/v1/reports": SUBMITTERS,
    "GET /api/v1/reports/{report_id}": READERS,
    "POST /api/v1/reports/{report_id}/approve": allow(A, IM, scoped=True),
    "POST /api/v1/reports/{report_id}/reject": REVIEW_ROLES,
    "POST /api/v1/reports/{report_id}/unapprove": allow(A, IM, scoped=True),
    # the review workflow: the service checks each level's decision against the role
    "GET /api/v1/review/levels": allow(SIGNED_IN),
    "GET /api/v1/review/inbox": REVIEW_ROLES,
    "GET /api/v1/reports/{report_id}/review": REVIEW_ROLES,
    "POST /api/v1/reports/{report_id}/review": REVIEW_ROLES,
    "POST /api/v1/reports/{report_id}/reconcile": REVIEWERS,
    # imports (multipart upload, dry run and confirmation); operators for their organisation
    "GET /api/v1/imports": IMPORT_READERS,
    "POST /api/v1/imports": SUBMITTERS,
    "GET /api/v1/imports/{batch_id}": IMPORT_READERS,
    "POST /api/v1/imports/{batch_id}/confirm": SUBMITTERS,
    # the quarantine (raw records may hold personal data: no operations/viewer access)
    "GET /api/v1/quarantine": SUBMITTERS,
    "GET /api/v1/quarantine/{record_id}": SUBMITTERS,
    "POST /api/v1/quarantine/{record_id}/discard": SUBMITTERS,
    "POST /api/v1/quarantine/{record_id}/resubmit": SUBMITTERS,
    "POST /api/v1/quarantine/{record_id}/accept-repair": SUBMITTERS,
    # records derived from approved reports
    "GET /api/v1/activities": READERS,
    "GET /api/v1/activities/{record_id}": READERS,
    "GET /api/v1/eo": READERS,
    "GET /api/v1/eo/{record_id}": READERS,
    "GET /api/v1/accidents": READERS,
    "GET /api/v1/accidents/{record_id}": READERS,
    "GET /api/v1/victims": PERSONAL,
    "GET /api/v1/victims/{record_id}": PERSONAL,
    "GET /api/v1/eore": READERS,
    "GET /api/v1/eore/{record_id}": READERS,
    "GET /api/v1/qm": READERS,
    "GET /api/v1/qm/{record_id}": READERS,
    # planning
    "GET /api/v1/tasks": READERS,
    "POST /api/v1/tasks": PLANNERS,
    "GET /api/v1/tasks/{task_id}": READERS,
    "PATCH /api/v1/tasks/{task_id}": PLANNERS,
    # plans, forecasts and calibration cover the whole programme: national roles
    "GET /api/v1/plans": NATIONAL,
    "POST /api/v1/plans": NATIONAL,
    "GET /api/v1/plans/{plan_id}": NATIONAL,
    "GET /api/v1/plans/{plan_id}/tasks.geojson": NATIONAL,
    "GET /api/v1/plans/{plan_id}/tasks.csv": NATIONAL,
    "GET /api/v1/plans/{plan_id}/gantt": NATIONAL,
    "GET /api/v1/plans/{plan_id}/curves": NATIONAL,
    "POST /api/v1/plans/{plan_id}/accept": NATIONAL,
    "GET /api/v1/forecast": NATIONAL,
    "GET /api/v1/calibration": NATIONAL,
    # OGC API - Features (mineaction.ogc): public views for everyone, the rest signed in
    "GET /ogc": EVERYONE,
    "GET /ogc/": EVERYONE,
    "GET /ogc/conformance": EVERYONE,
    "GET /ogc/api": EVERYONE,
    "GET /ogc/collections": EVERYONE,
    "GET /ogc/collections/hazards": READERS,
    "GET /ogc/collections/hazards/items": READERS,
    "GET /ogc/collections/hazards/items/{feature_id}": READERS,
    "GET /ogc/collections/remaining": READERS,
    "GET /ogc/collections/remaining/items": READERS,
    "GET /ogc/collections/remaining/items/{feature_id}": READERS,
    "GET /ogc/collections/released": READERS,
    "GET /ogc/collections/released/items": READERS,
    "GET /ogc/collections/released/items/{feature_id}": READERS,
    "GET /ogc/collections/activities": READERS,
    "GET /ogc/collections/activities/items": READERS,
    "GET /ogc/collections/activities/items/{feature_id}": READERS,
    "GET /ogc/collections/eo": READERS,
    "GET /ogc/collections/eo/items": READERS,
    "GET /ogc/collections/eo/items/{feature_id}": READERS,
    "GET /ogc/collections/public-grid": EVERYONE,
    "GET /ogc/collections/public-grid/items": EVERYONE,
    "GET /ogc/collections/public-grid/items/{feature_id}": EVERYONE,
    "GET /ogc/collections/public-areas": EVERYONE,
    "GET /ogc/collections/public-areas/items": EVERYONE,
    "GET /ogc/collections/public-areas/items/{feature_id}": EVERYONE,
}


def route_keys(app: Any) -> list[str]:
    """Return ``"METHOD /path"`` of every route of ``app`` (the keys :data:`POLICY` needs).

    Walks included routers too (FastAPI >= 0.16x keeps them nested); mounts (static files)
    are not routes and have no policy.
    """
    try:
        from fastapi.routing import iter_route_contexts

        contexts: list[tuple[Any, Any]] = [
            (c.original_route, c.path_format or c.path) for c in iter_route_contexts(app.routes)
        ]
    except ImportError:  # older FastAPI: routes are flat
        contexts = [(r, getattr(r, "path_format", None) or r.path) for r in app.routes]
    out: list[str] = []
    for route, path in contexts:
        methods = getattr(route, "methods", None)
        if not methods or path is None:
            continue
        out += [f"{m} {path}" for m in sorted(methods) if m != "HEAD"]
    return out

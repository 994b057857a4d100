"""The FastAPI application served by ``mineaction serve``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy import func, select

from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.store.settings import get_setting
from mineaction.web import errors, limits, observability
from mineaction.web.auth import Auth, current_user
from mineaction.web.policy import POLICY


def programme_figures(store: Store) -> dict[str, float | int | str]:
    """Return headline figures of the programme (counts and m² by class and outcome)."""
    h = s.hazard
    with store.read() as conn:
        name = get_setting(conn, "programme_name", "mine action programme")
        row = conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(h.c.area_m2), 0),
                func.coalesce(func.sum(h.c.cancelled_m2), 0),
                func.coalesce(func.sum(h.c.reduced_m2), 0),
                func.coalesce(func.sum(h.c.cleared_m2), 0),
                func.coalesce(func.sum(h.c.remaining_m2), 0),
            )
        ).one()
        by_class: dict[str, int] = dict(
            conn.execute(
                select(h.c.classification, func.count())
                .where(h.c.status.in_(["open", "worked_on"]))
                .group_by(h.c.classification)
            ).all()
        )
        pending = conn.execute(
            select(func.count()).where(
                s.report.c.state.in_(["submitted", "verified", "ops_approved"])
            )
        ).scalar()
    return {
        "programme": name,
        "hazards": int(row[0]),
        "area_m2": float(row[1]),
        "cancelled_m2": float(row[2]),
        "reduced_m2": float(row[3]),
        "cleared_m2": float(row[4]),
        "remaining_m2": float(row[5]),
        "open_sha": int(by_class.get("SHA", 0)),
        "open_cha": int(by_class.get("CHA", 0)),
        "pending_reports": int(pending or 0),
    }


def create_app(
    db_url: str | None = None,
    *,
    secure_cookies: bool | None = None,
    max_upload_mb: float | None = None,
) -> FastAPI:
    """Build the application for the database at ``db_url``.

    Every route goes through :func:`mineaction.web.auth.current_user`, which enforces the
    access policy (:data:`mineaction.web.policy.POLICY`). ``secure_cookies`` forces the
    ``Secure`` flag on session cookies (default: only when the request came over HTTPS).
    ``max_upload_mb`` is the upload size limit (default ``$MINEACTION_MAX_UPLOAD_MB`` or 50 MB).
    """
    from mineaction.api import auth as api_auth
    from mineaction.api import hazards as api_hazards
    from mineaction.api import imports as api_imports
    from mineaction.api import plans as api_plans
    from mineaction.api import quarantine as api_quarantine
    from mineaction.api import records as api_records
    from mineaction.api import reference as api_reference
    from mineaction.api import reports as api_reports
    from mineaction.api import tasks as api_tasks
    from mineaction.api import users as api_users
    from mineaction.ogc import routes as ogc_routes

    max_upload = limits.max_upload_bytes(max_upload_mb)
    store = Store(db_url, pooled=True)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        store.dispose()  # close the pooled connections when the server stops

    app = FastAPI(
        lifespan=lifespan,
        title="mineaction",
        version="0.1.0",
        description="Information management for humanitarian mine action: REST API "
        "(/api/v1) and OGC API - Features (/ogc). Authenticate with `Authorization: Bearer "
        "TOKEN`, HTTP Basic (user name + API token) or a web session cookie.",
        dependencies=[Depends(current_user)],
    )
    app.state.store = store
    app.state.auth = Auth(store, secure_cookies=secure_cookies)
    app.state.policy = POLICY
    app.state.login_path = None  # set by the web pages to redirect browsers to a login form
    errors.install(app)
    limits.install(app, max_upload)
    observability.install(app, store)
    # first: routes are matched in order, and GIS clients page through items at high rates
    app.include_router(ogc_routes.router)
    app.include_router(api_auth.router)
    app.include_router(api_users.router)
    app.include_router(api_reference.router)
    app.include_router(api_hazards.router)
    app.include_router(api_reports.router)
    app.include_router(api_imports.router)
    app.include_router(api_quarantine.router)
    app.include_router(api_records.router)
    app.include_router(api_tasks.router)
    app.include_router(api_plans.router)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    from mineaction.web import pages

    pages.install(app)
    from mineaction.web import plan_pages

    app.include_router(plan_pages.router)
    return app

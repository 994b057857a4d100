"""The FastAPI application served by ``mineaction serve``."""

from __future__ import annotations

from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.store.settings import get_setting


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


def create_app(db_url: str | None = None) -> FastAPI:
    """Build the application for the database at ``db_url``."""
    store = Store(db_url)
    app = FastAPI(title="mineaction", version="0.1.0")
    app.state.store = store

    @app.get("/", response_class=HTMLResponse)
    def home() -> str:
        f = programme_figures(store)
        rows = "".join(
            f"<tr><th>{escape(k.replace('_', ' '))}</th><td>{v:,.0f}</td></tr>"
            if isinstance(v, float | int)
            else ""
            for k, v in f.items()
        )
        return (
            "<!doctype html><html lang=en><meta charset=utf-8><title>mineaction</title>"
            f"<h1>{escape(str(f['programme']))}</h1><table>{rows}</table></html>"
        )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app

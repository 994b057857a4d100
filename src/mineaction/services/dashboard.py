"""Headline figures of the programme for a user's scope (the dashboard's use case)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, func, select, true

from mineaction.services.ledger import PENDING_STATES
from mineaction.store import schema as s
from mineaction.store.engine import Store

OPEN_STATUSES = ("open", "worked_on")
OUTCOMES = ("cancelled", "reduced", "cleared")
DISPOSED = ("destroyed_in_situ", "destroyed_central", "rendered_safe", "removed")


@dataclass(frozen=True)
class Scope:
    """Which part of the national picture a user sees: one organisation and/or one admin area.

    ``None`` means no restriction (national scope).
    """

    organisation: str | None = None
    location: str | None = None

    def where(self, table: Table) -> ColumnElement[bool]:
        """Return the SQL condition restricting ``table`` to this scope."""
        conds: list[ColumnElement[bool]] = []
        if self.organisation and "organisation" in table.c:
            conds.append(table.c.organisation == self.organisation)
        if self.location and "location" in table.c:
            conds.append(table.c.location.startswith(self.location))
        elif self.location and "hazard_id" in table.c:
            conds.append(
                table.c.hazard_id.in_(
                    select(s.hazard.c.hazard_id).where(
                        s.hazard.c.location.startswith(self.location)
                    )
                )
            )
        return and_(true(), *conds)


NATIONAL = Scope()


@dataclass
class Figures:
    """The dashboard's headline figures (areas in m²)."""

    today: date
    hazards: dict[str, dict[str, float]] = field(default_factory=dict)  # class -> count, m2
    released_month: dict[str, float] = field(default_factory=dict)  # outcome -> m2
    released_year: dict[str, float] = field(default_factory=dict)
    released_total: dict[str, float] = field(default_factory=dict)
    eo_destroyed: dict[str, int] = field(default_factory=dict)  # category -> quantity
    eo_destroyed_year: int = 0
    casualties_year: dict[str, int] = field(default_factory=dict)  # killed, injured
    casualties_total: dict[str, int] = field(default_factory=dict)
    eore_year: dict[str, int] = field(default_factory=dict)  # women, men, girls, boys
    pending_reports: int = 0
    released_by_month: list[tuple[str, dict[str, float]]] = field(default_factory=list)
    remaining_by_area: list[tuple[str, str, dict[str, float]]] = field(default_factory=list)

    @property
    def eore_year_total(self) -> int:
        """Return the number of people reached by risk education this year."""
        return sum(self.eore_year.values())


def _year_start(d: date) -> date:
    return date(d.year, 1, 1)


def _released(conn: Connection, scope: Scope, since: date | None) -> dict[str, float]:
    rp = s.release_polygon
    q = (
        select(rp.c.outcome, func.coalesce(func.sum(rp.c.polygon_m2), 0.0))
        .where(scope.where(rp))
        .group_by(rp.c.outcome)
    )
    if since is not None:
        q = q.where(rp.c.date >= since)
    got = {str(k): float(v) for k, v in conn.execute(q).all()}
    return {o: got.get(o, 0.0) for o in OUTCOMES}


def _by_month(
    conn: Connection, scope: Scope, months: int, today: date
) -> list[tuple[str, dict[str, float]]]:
    rp = s.release_polygon
    y, m = today.year, today.month
    keys: list[str] = []
    for _ in range(months):
        keys.append(f"{y:04d}-{m:02d}")
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    keys.reverse()
    start = date.fromisoformat(keys[0] + "-01")
    rows = conn.execute(
        select(rp.c.date, rp.c.outcome, func.sum(rp.c.polygon_m2))
        .where(scope.where(rp), rp.c.date >= start)
        .group_by(rp.c.date, rp.c.outcome)
    ).all()
    out: dict[str, dict[str, float]] = {k: dict.fromkeys(OUTCOMES, 0.0) for k in keys}
    for d, outcome, m2 in rows:
        key = d.isoformat()[:7]
        if key in out and outcome in OUTCOMES:
            out[key][outcome] += float(m2 or 0)
    return [(k, out[k]) for k in keys]


def _remaining_by_area(
    conn: Connection, totals: list[tuple[str, str, int, float]], top: int
) -> list[tuple[str, str, dict[str, float]]]:
    """Remaining m² by top-level admin area and class, largest first."""
    rows = [(loc or None, cls, m2) for cls, loc, _n, m2 in totals]
    locs = {
        r.pcode: (r.name, r.parent_pcode, r.admin_level)
        for r in conn.execute(
            select(
                s.location.c.pcode,
                s.location.c.name,
                s.location.c.parent_pcode,
                s.location.c.admin_level,
            )
        )
    }
    # Roll up to the highest level below the country (admin level 1 when the table has it).
    min_level = min((lv for _n, _p, lv in locs.values() if lv and lv > 0), default=1)

    def top_of(pcode: str | None) -> str:
        seen = 0
        while pcode in locs and seen < 10:
            name, parent, level = locs[pcode]
            if level <= min_level or parent not in locs:
                return str(pcode)
            pcode = parent
            seen += 1
        return pcode or ""

    agg: dict[str, dict[str, float]] = defaultdict(lambda: {"SHA": 0.0, "CHA": 0.0})
    for loc, cls, m2 in rows:
        key = top_of(loc)
        bucket = agg[key]
        bucket[cls] = bucket.get(cls, 0.0) + float(m2 or 0)
    ordered = sorted(agg.items(), key=lambda kv: -sum(kv[1].values()))[:top]
    return [(pc, locs[pc][0] if pc in locs else pc, v) for pc, v in ordered]


def figures(store: Store, scope: Scope = NATIONAL, *, today: date | None = None) -> Figures:
    """Return the headline figures for ``scope`` as of ``today``."""
    today = today or date.today()
    f = Figures(today=today)
    from mineaction.services.mapdata import open_totals  # (mapdata imports Scope from here)

    totals = open_totals(store, scope, OPEN_STATUSES)
    with store.read() as conn:
        for cls, _loc, n, m2 in totals:
            got = f.hazards.setdefault(cls, {"count": 0, "m2": 0.0})
            got["count"] += n
            got["m2"] += m2
        for cls in ("SHA", "CHA"):
            f.hazards.setdefault(cls, {"count": 0, "m2": 0.0})
        f.released_month = _released(conn, scope, today.replace(day=1))
        f.released_year = _released(conn, scope, _year_start(today))
        f.released_total = _released(conn, scope, None)
        eo = s.eo_item
        f.eo_destroyed = {
            str(cat): int(q or 0)
            for cat, q in conn.execute(
                select(eo.c.category, func.sum(eo.c.quantity))
                .where(scope.where(eo), eo.c.disposal.in_(DISPOSED))
                .group_by(eo.c.category)
                .order_by(func.sum(eo.c.quantity).desc())
            ).all()
        }
        f.eo_destroyed_year = int(
            conn.execute(
                select(func.coalesce(func.sum(eo.c.quantity), 0)).where(
                    scope.where(eo), eo.c.disposal.in_(DISPOSED), eo.c.date >= _year_start(today)
                )
            ).scalar()
            or 0
        )
        a = s.accident
        for key, since in (("total", None), ("year", _year_start(today))):
            q = select(
                func.coalesce(func.sum(a.c.killed), 0), func.coalesce(func.sum(a.c.injured), 0)
            ).where(scope.where(a))
            if since is not None:
                q = q.where(a.c.date >= since)
            killed, injured = conn.execute(q).one()
            target = f.casualties_total if key == "total" else f.casualties_year
            target.update(killed=int(killed), injured=int(injured))
        e = s.eore_session
        row = conn.execute(
            select(
                func.coalesce(func.sum(e.c.women), 0),
                func.coalesce(func.sum(e.c.men), 0),
                func.coalesce(func.sum(e.c.girls), 0),
                func.coalesce(func.sum(e.c.boys), 0),
            ).where(scope.where(e), e.c.date >= _year_start(today))
        ).one()
        f.eore_year = dict(zip(("women", "men", "girls", "boys"), map(int, row), strict=True))
        r = s.report
        pending_q = select(func.count()).where(r.c.state.in_(PENDING_STATES))
        if scope.organisation:
            pending_q = pending_q.where(r.c.organisation == scope.organisation)
        f.pending_reports = int(conn.execute(pending_q).scalar() or 0)
        f.released_by_month = _by_month(conn, scope, 24, today)
        f.remaining_by_area = _remaining_by_area(conn, totals, 10)
    return f


def as_dict(f: Figures) -> dict[str, Any]:
    """Return the figures as JSON-compatible data."""
    out = dict(f.__dict__)
    out["today"] = f.today.isoformat()
    return out

"""Map data by view: clusters when zoomed out, points in between, simplified polygons up close.

The browser asks for the features of its current view (bounding box and zoom level); the
answer stays small whatever the size of the programme, so the map of a national database of
100,000 hazards draws as quickly as that of a district.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, Connection, Integer, and_, case, cast, func, select, true

from mineaction.services.dashboard import NATIONAL, Scope
from mineaction.store import schema as s
from mineaction.store.engine import Store

#: Above this many hazards in view, hazards are grouped into clusters.
MAX_POINTS = 4000
#: Above this many hazards in view, hazards are drawn as points rather than polygons.
MAX_POLYGONS = 1500
#: Polygons are drawn from this zoom level on (below it they are a few pixels wide).
POLYGON_ZOOM = 12
#: Release polygons, EO finds and accidents are drawn from this zoom level on.
DETAIL_ZOOM = 11
#: Cluster cell size in screen pixels.
CLUSTER_PX = 60


@dataclass(frozen=True)
class MapFilter:
    """Filters of the map page."""

    status: str | None = None
    classification: str | None = None
    organisation: str | None = None
    location: str | None = None
    since: date | None = None
    until: date | None = None

    def where(self) -> ColumnElement[bool]:
        """Return the SQL condition on the ``hazard`` table."""
        h = s.hazard
        conds: list[ColumnElement[bool]] = []
        if self.status:
            conds.append(h.c.status == self.status)
        if self.classification:
            conds.append(h.c.classification == self.classification)
        if self.organisation:
            conds.append(h.c.organisation == self.organisation)
        if self.location:
            conds.append(h.c.location.startswith(self.location))
        if self.since:
            conds.append(h.c.last_date >= self.since)
        if self.until:
            conds.append(h.c.first_date <= self.until)
        return and_(true(), *conds)


def degrees_per_pixel(zoom: float) -> float:
    """Return the width of one screen pixel in degrees of longitude at ``zoom`` (256 px tiles).

    >>> degrees_per_pixel(0)
    1.40625
    """
    return 360.0 / (256 * 2**zoom)


def _bbox_where(bbox: Sequence[float]) -> ColumnElement[bool]:
    h = s.hazard
    x0, y0, x1, y1 = bbox
    return and_(h.c.maxx >= x0, h.c.minx <= x1, h.c.maxy >= y0, h.c.miny <= y1)


def _round_coords(geom: BaseGeometry, digits: int) -> dict[str, Any]:
    rounded = shapely.set_precision(geom, 10**-digits, mode="pointwise")
    return dict(mapping(rounded))


def _simplify(geom: BaseGeometry | None, tolerance: float, digits: int) -> dict[str, Any] | None:
    if geom is None or geom.is_empty:
        return None
    simple = shapely.simplify(geom, tolerance, preserve_topology=True)
    if simple.is_empty:
        return None
    return _round_coords(simple, digits)


def _floor_cell(conn: Connection, expr: Any) -> Any:
    # Offsets are positive, so truncation is floor on SQLite; PostgreSQL rounds casts.
    if conn.dialect.name == "postgresql":
        return cast(func.floor(expr), Integer)
    return cast(expr, Integer)


def hazards_in_view(
    store: Store,
    bbox: Sequence[float],
    zoom: float,
    *,
    filters: MapFilter | None = None,
    scope: Scope = NATIONAL,
) -> dict[str, Any]:
    """Return the hazards of a map view as compact GeoJSON, at the detail the zoom deserves.

    ``mode`` says what came back: ``clusters`` (count and remaining m² per screen cell),
    ``points`` (one point per hazard) or ``polygons`` (simplified outlines with their
    remaining and released parts).
    """
    filters = filters or MapFilter()
    h = s.hazard
    where = and_(_bbox_where(bbox), filters.where(), scope.where(h))
    px = degrees_per_pixel(zoom)
    digits = max(4, min(7, int(math.ceil(-math.log10(px))) + 1))
    with store.read() as conn:
        count = int(conn.execute(select(func.count()).select_from(h).where(where)).scalar() or 0)
        if count > MAX_POINTS:
            return _clusters(conn, where, bbox, px, count)
        if zoom < POLYGON_ZOOM or count > MAX_POLYGONS:
            return _points(conn, where, count, digits)
        return _polygons(conn, where, count, px, digits, zoom)


def _clusters(
    conn: Connection, where: ColumnElement[bool], bbox: Sequence[float], px: float, count: int
) -> dict[str, Any]:
    h = s.hazard
    cell = px * CLUSTER_PX
    x0, y0 = bbox[0] - cell, bbox[1] - cell
    cx = (h.c.minx + h.c.maxx) / 2
    cy = (h.c.miny + h.c.maxy) / 2
    gx = _floor_cell(conn, (cx - x0) / cell).label("gx")
    gy = _floor_cell(conn, (cy - y0) / cell).label("gy")
    rows = conn.execute(
        select(
            gx,
            gy,
            func.count().label("n"),
            func.avg(cx).label("x"),
            func.avg(cy).label("y"),
            func.sum(h.c.remaining_m2).label("m2"),
            # The CHA share decides the cluster's colour.
            func.sum(case((h.c.classification == "CHA", 1), else_=0)).label("cha"),
        )
        .where(where)
        .group_by(gx, gy)
    ).all()
    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(r.x, 5), round(r.y, 5)]},
            "properties": {"n": int(r.n), "m2": round(float(r.m2 or 0)), "cha": int(r.cha or 0)},
        }
        for r in rows
    ]
    return {"type": "FeatureCollection", "mode": "clusters", "count": count, "features": feats}


_POINT_COLS = (
    "hazard_id",
    "name",
    "classification",
    "status",
    "organisation",
    "remaining_m2",
    "minx",
    "miny",
    "maxx",
    "maxy",
)


def _props(r: Any) -> dict[str, Any]:
    return {
        "id": r.hazard_id,
        "name": r.name,
        "cls": r.classification,
        "st": r.status,
        "org": r.organisation,
        "m2": round(float(r.remaining_m2)),
    }


def _points(
    conn: Connection, where: ColumnElement[bool], count: int, digits: int
) -> dict[str, Any]:
    h = s.hazard
    rows = conn.execute(select(*(h.c[c] for c in _POINT_COLS)).where(where)).all()
    feats = [
        {
            "type": "Feature",
            "id": r.hazard_id,
            "geometry": {
                "type": "Point",
                "coordinates": [
                    round((r.minx + r.maxx) / 2, digits),
                    round((r.miny + r.maxy) / 2, digits),
                ],
            },
            "properties": _props(r),
        }
        for r in rows
    ]
    return {"type": "FeatureCollection", "mode": "points", "count": count, "features": feats}


_PARTS = ("cancelled", "reduced", "cleared")


def _polygons(
    conn: Connection,
    where: ColumnElement[bool],
    count: int,
    px: float,
    digits: int,
    zoom: float,
) -> dict[str, Any]:
    h = s.hazard
    cols = [h.c[c] for c in _POINT_COLS] + [h.c.geom, h.c.remaining_geom]
    cols += [h.c[f"{p}_geom"] for p in _PARTS]
    rows = conn.execute(select(*cols).where(where)).all()
    tol = px * 0.75
    feats: list[dict[str, Any]] = []
    for r in rows:
        props = _props(r)
        outline = _simplify(r.geom, tol, digits)
        if outline is None:
            continue
        feats.append(
            {
                "type": "Feature",
                "id": r.hazard_id,
                "geometry": outline,
                "properties": {**props, "part": "hazard"},
            }
        )
        for part in _PARTS:
            g = _simplify(getattr(r, f"{part}_geom"), tol, digits)
            if g is not None:
                feats.append(
                    {
                        "type": "Feature",
                        "geometry": g,
                        "properties": {"id": r.hazard_id, "part": part},
                    }
                )
    return {"type": "FeatureCollection", "mode": "polygons", "count": count, "features": feats}


def _points_in_bbox(geoms: list[Any], bbox: Sequence[float]) -> np.ndarray:
    arr = np.array(geoms, dtype=object)
    if not len(arr):
        return np.zeros(0, dtype=bool)
    mask = ~shapely.is_missing(arr)
    x = np.full(len(arr), np.nan)
    y = np.full(len(arr), np.nan)
    x[mask] = shapely.get_x(shapely.centroid(arr[mask]))
    y[mask] = shapely.get_y(shapely.centroid(arr[mask]))
    with np.errstate(invalid="ignore"):
        return mask & (x >= bbox[0]) & (x <= bbox[2]) & (y >= bbox[1]) & (y <= bbox[3])


def finds_in_view(
    store: Store,
    bbox: Sequence[float],
    *,
    accidents: bool,
    scope: Scope = NATIONAL,
    limit: int = 5000,
) -> dict[str, Any]:
    """Return EO finds (and accidents, for roles allowed to see them) inside the view as points."""
    feats: list[dict[str, Any]] = []
    with store.read() as conn:
        eo = s.eo_item
        rows = conn.execute(
            select(
                eo.c.id, eo.c.category, eo.c.quantity, eo.c.date, eo.c.hazard_id, eo.c.geom
            ).where(scope.where(eo), eo.c.geom.is_not(None))
        ).all()
        keep = _points_in_bbox([r.geom for r in rows], bbox)
        for r, k in zip(rows, keep, strict=True):
            if k and len(feats) < limit:
                c = r.geom.centroid
                feats.append(
                    {
                        "type": "Feature",
                        "geometry": {
                            "type": "Point",
                            "coordinates": [round(c.x, 6), round(c.y, 6)],
                        },
                        "properties": {
                            "kind": "eo",
                            "cat": r.category,
                            "q": r.quantity,
                            "date": r.date.isoformat(),
                            "hazard": r.hazard_id,
                        },
                    }
                )
        if accidents:
            a = s.accident
            acc_rows = conn.execute(
                select(
                    a.c.accident_id,
                    a.c.date,
                    a.c.device_category,
                    a.c.killed,
                    a.c.injured,
                    a.c.hazard_id,
                    a.c.geom,
                ).where(scope.where(a))
            ).all()
            keep = _points_in_bbox([r.geom for r in acc_rows], bbox)
            for ra, k in zip(acc_rows, keep, strict=True):
                if k:
                    c = ra.geom.centroid
                    feats.append(
                        {
                            "type": "Feature",
                            "geometry": {
                                "type": "Point",
                                "coordinates": [round(c.x, 6), round(c.y, 6)],
                            },
                            "properties": {
                                "kind": "accident",
                                "id": ra.accident_id,
                                "cat": ra.device_category,
                                "killed": ra.killed,
                                "injured": ra.injured,
                                "date": ra.date.isoformat(),
                                "hazard": ra.hazard_id,
                            },
                        }
                    )
    return {"type": "FeatureCollection", "count": len(feats), "features": feats}


def full_geojson(store: Store) -> dict[str, Any]:
    """Return every hazard at full resolution (the naive approach the benchmark compares with)."""
    h = s.hazard
    with store.read() as conn:
        rows = conn.execute(select(*(h.c[c] for c in _POINT_COLS), h.c.geom)).all()
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": r.hazard_id,
                "geometry": dict(mapping(r.geom)),
                "properties": _props(r),
            }
            for r in rows
        ],
    }


def extent(store: Store, scope: Scope = NATIONAL) -> list[float] | None:
    """Return the bounding box of the hazards in scope, or None when there are none."""
    h = s.hazard
    with store.read() as conn:
        row = conn.execute(
            select(
                func.min(h.c.minx), func.min(h.c.miny), func.max(h.c.maxx), func.max(h.c.maxy)
            ).where(scope.where(h))
        ).one()
        if row[0] is None:
            loc = conn.execute(
                select(s.location.c.geom).where(s.location.c.geom.is_not(None)).limit(200)
            ).all()
            if not loc:
                return None
            b = shapely.total_bounds([r.geom for r in loc])
            return [float(v) for v in b]
    return [float(v) for v in row]


def basemap(store: Store, *, max_level: int = 2) -> dict[str, Any]:
    """Return the offline basemap drawn from our own data: admin boundaries and settlements."""
    loc = s.location
    with store.read() as conn:
        rows = conn.execute(
            select(loc.c.pcode, loc.c.name, loc.c.admin_level, loc.c.population, loc.c.geom).where(
                loc.c.geom.is_not(None)
            )
        ).all()
    feats: list[dict[str, Any]] = []
    for r in rows:
        g = r.geom
        if g.geom_type in ("Point", "MultiPoint"):
            kind = "settlement"
        elif r.admin_level <= max_level:
            kind = "admin"
        else:
            continue
        if kind == "admin":
            tol = 0.002 if r.admin_level >= 2 else 0.004
            geo = _simplify(g.boundary if g.geom_type != "LineString" else g, tol, 4)
        else:
            geo = _round_coords(g, 5)
        if geo is None:
            continue
        feats.append(
            {
                "type": "Feature",
                "geometry": geo,
                "properties": {
                    "pcode": r.pcode,
                    "name": r.name,
                    "level": r.admin_level,
                    "kind": kind,
                    "pop": r.population,
                },
            }
        )
    return {"type": "FeatureCollection", "features": feats}

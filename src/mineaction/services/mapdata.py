"""Map data by view: clusters when zoomed out, points in between, simplified polygons up close.

The browser asks for the features of its current view (bounding box and zoom level); the
answer stays small whatever the size of the programme, so the map of a national database of
100,000 hazards draws as quickly as that of a district.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, Connection, and_, func, select

from mineaction.services.dashboard import NATIONAL, Scope
from mineaction.store import schema as s
from mineaction.store.engine import Store

log = logging.getLogger("mineaction.map")

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


def degrees_per_pixel(zoom: float) -> float:
    """Return the width of one screen pixel in degrees of longitude at ``zoom`` (256 px tiles).

    >>> degrees_per_pixel(0)
    1.40625
    """
    return 360.0 / (256 * 2**zoom)


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


_UNKNOWN_DAY = -(10**9)


class _Codes:
    """Text values coded as small integers (fast to load and to compare).

    >>> c = _Codes.of(["SHA", None, "CHA", "SHA"])
    >>> c.codes.tolist(), c.equal("SHA").tolist(), c.startswith("C").tolist()
    ([0, 1, 2, 0], [True, False, False, True], [False, False, True, False])
    """

    def __init__(self) -> None:
        self.lookup: dict[str, int] = {}
        self._parts: list[np.ndarray] = []
        self.codes = np.zeros(0, dtype=np.int32)

    @classmethod
    def of(cls, values: Sequence[Any]) -> _Codes:
        """Return the codes of ``values`` (None counts as the empty text)."""
        codes = cls()
        codes.add(values)
        return codes.finish()

    def add(self, values: Sequence[Any]) -> None:
        """Code the next values (a chunk: one dictionary look-up per value)."""
        known = self.lookup
        self._parts.append(
            np.array(
                [known.setdefault("" if v is None else str(v), len(known)) for v in values],
                dtype=np.int32,
            )
        )

    def finish(self) -> _Codes:
        """Join the coded chunks; return self."""
        self.codes = np.concatenate(self._parts) if self._parts else self.codes
        self._parts = []
        return self

    def equal(self, value: str) -> np.ndarray:
        """Return where the value is ``value``."""
        return self.codes == self.lookup.get(value, -1)

    def startswith(self, prefix: str) -> np.ndarray:
        """Return where the value starts with ``prefix``."""
        hits = [c for v, c in self.lookup.items() if v.startswith(prefix)]
        return np.isin(self.codes, hits)


def _days(values: Sequence[Any]) -> np.ndarray:
    """Return dates (``date`` objects or ISO text) as days since 1970 (-10**9 when unknown)."""
    arr = np.array([v if v else "NaT" for v in values], dtype="datetime64[D]")
    days = arr.astype(np.int64)
    days[np.isnat(arr)] = _UNKNOWN_DAY
    return days


def _day(d: date) -> int:
    return int(np.datetime64(d, "D").astype(np.int64))


@dataclass
class HazardIndex:
    """Narrow columns of every hazard as arrays: counts and clusters are cut from memory."""

    signature: tuple[Any, ...]
    cls: _Codes
    status: _Codes
    org: _Codes
    loc: _Codes
    m2: np.ndarray
    minx: np.ndarray
    miny: np.ndarray
    maxx: np.ndarray
    maxy: np.ndarray
    first: np.ndarray  # days since 1970, _UNKNOWN_DAY when unknown
    last: np.ndarray

    def mask(self, bbox: Sequence[float], filters: MapFilter, scope: Scope) -> np.ndarray:
        """Return which hazards intersect ``bbox`` and pass the filters and the scope."""
        x0, y0, x1, y1 = bbox
        m = (self.maxx >= x0) & (self.minx <= x1) & (self.maxy >= y0) & (self.miny <= y1)
        for value, col in (
            (filters.status, self.status),
            (filters.classification, self.cls),
            (filters.organisation, self.org),
            (scope.organisation, self.org),
        ):
            if value:
                m &= col.equal(value)
        for prefix in (filters.location, scope.location):
            if prefix:
                m &= self.loc.startswith(prefix)
        if filters.since:
            m &= self.last >= _day(filters.since)
        if filters.until:
            m &= (self.first != _UNKNOWN_DAY) & (self.first <= _day(filters.until))
        return m


_INDEX: dict[str, HazardIndex] = {}
_INDEX_LOCK = threading.Lock()
_REBUILDING: set[str] = set()


def _signature(conn: Connection) -> tuple[Any, ...]:
    """Return a cheap fingerprint that changes whenever the hazard projection changes.

    Every change rewrites hazard rows (delete + insert), so on SQLite the row count and the
    largest rowid change; on PostgreSQL the ledger's event and audit sequences do.
    """
    count = conn.execute(select(func.count()).select_from(s.hazard)).scalar()
    if conn.dialect.name == "sqlite":
        return (count, conn.exec_driver_sql("SELECT max(rowid) FROM hazard").scalar())
    return (
        count,
        conn.execute(select(func.max(s.report_event.c.id))).scalar(),
        conn.execute(select(func.max(s.audit_log.c.id))).scalar(),
    )


#: Rows converted at a time when the index is built: each chunk holds the GIL for a few ms.
INDEX_CHUNK = 2000


def _load_index(store: Store) -> HazardIndex:
    """Build the index from the hazard table, a chunk of rows at a time.

    It is built in a background thread of the server while requests are answered: in small
    chunks, no single C call holds the GIL for long (converting all 100,000 national rows in
    one call stalled every request for ~200 ms), and rows die chunk by chunk instead of
    piling up a million objects for full garbage collections to walk.
    """
    texts = [_Codes() for _ in range(4)]
    nums: list[np.ndarray] = []
    first: list[np.ndarray] = []
    last: list[np.ndarray] = []
    with store.read() as conn:
        sig = _signature(conn)
        # Plain DB-API rows, converted column-wise by numpy (no per-value Python processing).
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cur.execute(
            "SELECT minx, miny, maxx, maxy, remaining_m2, classification, status, "
            "organisation, location, first_date, last_date FROM hazard"
        )
        while rows := cur.fetchmany(INDEX_CHUNK):
            nums.append(np.array([r[:5] for r in rows], dtype=float).reshape(-1, 5))
            for i, codes in enumerate(texts):
                codes.add([r[5 + i] for r in rows])
            first.append(_days([r[9] for r in rows]))
            last.append(_days([r[10] for r in rows]))
        cur.close()
    table = np.concatenate(nums) if nums else np.zeros((0, 5))
    cls, status, org, loc = (c.finish() for c in texts)
    index = HazardIndex(
        signature=sig,
        cls=cls,
        status=status,
        org=org,
        loc=loc,
        minx=np.ascontiguousarray(table[:, 0]),
        miny=np.ascontiguousarray(table[:, 1]),
        maxx=np.ascontiguousarray(table[:, 2]),
        maxy=np.ascontiguousarray(table[:, 3]),
        m2=np.ascontiguousarray(table[:, 4]),
        first=np.concatenate(first) if first else np.zeros(0, dtype=np.int64),
        last=np.concatenate(last) if last else np.zeros(0, dtype=np.int64),
    )
    with _INDEX_LOCK:
        _INDEX[store.url] = index
    return index


def _rebuild_in_background(store: Store) -> None:
    with _INDEX_LOCK:
        if store.url in _REBUILDING:
            return
        _REBUILDING.add(store.url)

    def run() -> None:
        try:
            _load_index(store)
        except Exception:  # noqa: BLE001 (a view will load it again and report the error)
            log.debug("building the map index of %s failed", store.safe_url, exc_info=True)
        finally:
            with _INDEX_LOCK:
                _REBUILDING.discard(store.url)

    threading.Thread(target=run, name="mineaction-map-index", daemon=True).start()


def hazard_index(store: Store, *, fresh: bool = False) -> HazardIndex:
    """Return the in-memory index of the store's hazards.

    When the data changed, the index is rebuilt; meanwhile (a second or two at national
    scale) views are cut from the previous index unless ``fresh`` is asked for.
    """
    cached = _INDEX.get(store.url)
    if cached is None:
        return _load_index(store)
    with store.read() as conn:
        sig = _signature(conn)
    if cached.signature == sig:
        return cached
    if fresh:
        return _load_index(store)
    _rebuild_in_background(store)
    return cached


def warm(store: Store) -> None:
    """Build the map index in the background (at start-up, so the first map is fast)."""
    _rebuild_in_background(store)


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
    px = degrees_per_pixel(zoom)
    digits = max(4, min(7, int(math.ceil(-math.log10(px))) + 1))
    index = hazard_index(store)
    mask = index.mask(bbox, filters, scope)
    count = int(mask.sum())
    if count > MAX_POINTS:
        return _clusters(index, mask, bbox, px, count)
    where = _sql_where(bbox, filters, scope)
    with store.read() as conn:
        if zoom < POLYGON_ZOOM or count > MAX_POLYGONS:
            return _points(conn, where, digits)
        return _polygons(conn, where, px, digits)


def _sql_where(bbox: Sequence[float], filters: MapFilter, scope: Scope) -> ColumnElement[bool]:
    h = s.hazard
    x0, y0, x1, y1 = bbox
    conds: list[ColumnElement[bool]] = [
        h.c.maxx >= x0,
        h.c.minx <= x1,
        h.c.maxy >= y0,
        h.c.miny <= y1,
        scope.where(h),
    ]
    if filters.status:
        conds.append(h.c.status == filters.status)
    if filters.classification:
        conds.append(h.c.classification == filters.classification)
    if filters.organisation:
        conds.append(h.c.organisation == filters.organisation)
    if filters.location:
        conds.append(h.c.location.startswith(filters.location))
    if filters.since:
        conds.append(h.c.last_date >= filters.since)
    if filters.until:
        conds.append(h.c.first_date <= filters.until)
    return and_(*conds)


def _clusters(
    index: HazardIndex, mask: np.ndarray, bbox: Sequence[float], px: float, count: int
) -> dict[str, Any]:
    cell = px * CLUSTER_PX
    x0, y0 = bbox[0] - cell, bbox[1] - cell
    cx = (index.minx[mask] + index.maxx[mask]) / 2
    cy = (index.miny[mask] + index.maxy[mask]) / 2
    gx = np.floor((cx - x0) / cell).astype(np.int64)
    gy = np.floor((cy - y0) / cell).astype(np.int64)
    keys, inverse = np.unique(gx * 1_000_003 + gy, return_inverse=True)
    k = len(keys)
    n = np.bincount(inverse, minlength=k)
    sx = np.bincount(inverse, weights=cx, minlength=k)
    sy = np.bincount(inverse, weights=cy, minlength=k)
    m2 = np.bincount(inverse, weights=index.m2[mask], minlength=k)
    cha = np.bincount(inverse, weights=index.cls.equal("CHA")[mask].astype(float), minlength=k)
    feats = [
        {
            "type": "Feature",
            "geometry": {
                "type": "Point",
                "coordinates": [round(float(sx[i] / n[i]), 5), round(float(sy[i] / n[i]), 5)],
            },
            "properties": {"n": int(n[i]), "m2": round(float(m2[i])), "cha": int(cha[i])},
        }
        for i in range(k)
    ]
    return {"type": "FeatureCollection", "mode": "clusters", "count": count, "features": feats}


def _points(conn: Connection, where: ColumnElement[bool], digits: int) -> dict[str, Any]:
    h = s.hazard
    cols = [h.c[c] for c in _POINT_COLS] + [h.c.minx, h.c.miny, h.c.maxx, h.c.maxy]
    rows = conn.execute(select(*cols).where(where)).all()
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
    return {"type": "FeatureCollection", "mode": "points", "count": len(feats), "features": feats}


_POINT_COLS = (
    "hazard_id",
    "name",
    "classification",
    "status",
    "organisation",
    "remaining_m2",
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


_PARTS = ("cancelled", "reduced", "cleared")


def _polygons(
    conn: Connection, where: ColumnElement[bool], px: float, digits: int
) -> dict[str, Any]:
    h = s.hazard
    cols = [h.c[c] for c in _POINT_COLS] + [h.c.geom]
    cols += [h.c[f"{p}_geom"] for p in _PARTS]
    rows = conn.execute(select(*cols).where(where)).all()
    tol = px * 0.75
    feats: list[dict[str, Any]] = []
    for r in rows:
        outline = _simplify(r.geom, tol, digits)
        if outline is None:
            continue
        feats.append(
            {
                "type": "Feature",
                "id": r.hazard_id,
                "geometry": outline,
                "properties": {**_props(r), "part": "hazard"},
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
    count = sum(1 for f in feats if f["properties"]["part"] == "hazard")
    return {"type": "FeatureCollection", "mode": "polygons", "count": count, "features": feats}


#: Above this many EO finds (or activities) in view, they are grouped into clusters.
MAX_OVERLAY_POINTS = 3000
#: Activities are drawn as their released polygons from this zoom level on.
ACTIVITY_POLYGON_ZOOM = POLYGON_ZOOM


@dataclass(frozen=True)
class OverlayFilter:
    """Filters of the map's overlays (EO finds, accidents, activities)."""

    organisation: str | None = None
    location: str | None = None
    since: date | None = None
    until: date | None = None
    activity_type: str | None = None


def _in_location(table: Any, prefix: str) -> ColumnElement[bool]:
    """Records in an admin area: by their own P-code, else by their hazard's."""
    if "location" in table.c:
        return table.c.location.startswith(prefix)
    return table.c.hazard_id.in_(
        select(s.hazard.c.hazard_id).where(s.hazard.c.location.startswith(prefix))
    )


def _point_where(
    table: Any,
    bbox: Sequence[float],
    filters: OverlayFilter,
    scope: Scope,
) -> list[ColumnElement[bool]]:
    """SQL conditions for point records (``x``/``y`` columns) in a view, filtered and scoped."""
    x0, y0, x1, y1 = bbox
    conds: list[ColumnElement[bool]] = [
        table.c.x >= x0,
        table.c.x <= x1,
        table.c.y >= y0,
        table.c.y <= y1,
        scope.where(table),
    ]
    if filters.organisation:
        conds.append(table.c.organisation == filters.organisation)
    if filters.location:
        conds.append(_in_location(table, filters.location))
    if filters.since:
        conds.append(table.c.date >= filters.since)
    if filters.until:
        conds.append(table.c.date <= filters.until)
    return conds


def _sql_clusters(
    conn: Connection,
    x: Any,
    y: Any,
    where: Sequence[ColumnElement[bool]],
    bbox: Sequence[float],
    px: float,
    weight: Any,
    join: Any = None,
) -> list[dict[str, Any]]:
    """Group the rows matching ``where`` into screen cells in SQL: count, centre and a sum."""
    from sqlalchemy import Integer, cast

    cell = px * CLUSTER_PX
    x0, y0 = bbox[0] - cell, bbox[1] - cell
    gx = cast(func.floor((x - x0) / cell), Integer).label("gx")
    gy = cast(func.floor((y - y0) / cell), Integer).label("gy")
    q = select(gx, gy, func.count(), func.avg(x), func.avg(y), func.sum(weight))
    if join is not None:
        q = q.select_from(join)
    rows = conn.execute(q.where(*where).group_by(gx, gy)).all()
    return [
        {
            "type": "Feature",
            "geometry": {
                "type": "Point",
                "coordinates": [round(float(cx), 5), round(float(cy), 5)],
            },
            "properties": {"n": int(n), "sum": round(float(total or 0))},
        }
        for _gx, _gy, n, cx, cy, total in rows
    ]


def finds_in_view(
    store: Store,
    bbox: Sequence[float],
    *,
    accidents: bool,
    zoom: float = DETAIL_ZOOM,
    filters: OverlayFilter | None = None,
    scope: Scope = NATIONAL,
    limit: int = MAX_OVERLAY_POINTS,
) -> dict[str, Any]:
    """Return EO finds (and accidents, for roles allowed to see them) of a map view.

    Filtered in SQL on the finds' point coordinates (indexed) and the filters; zoomed out, or
    with more than ``limit`` finds in view, they come back as clusters (count and quantity per
    screen cell) computed in SQL, so a national view costs one grouped query.
    """
    filters = filters or OverlayFilter()
    px = degrees_per_pixel(zoom)
    feats: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    modes: dict[str, str] = {}
    tables: list[tuple[str, Any]] = [("eo", s.eo_item)]
    if accidents:
        tables.append(("accident", s.accident))
    with store.read() as conn:
        for kind, t in tables:
            where = _point_where(t, bbox, filters, scope)
            weight = t.c.quantity if kind == "eo" else t.c.killed + t.c.injured
            # zoomed out: one grouped query (its counts add up to the total); else count first
            n = -1
            if zoom >= DETAIL_ZOOM:
                n = int(
                    conn.execute(select(func.count()).select_from(t).where(*where)).scalar() or 0
                )
            if n < 0 or n > limit:
                cells = _sql_clusters(conn, t.c.x, t.c.y, where, bbox, px, weight)
                counts[kind] = sum(f["properties"]["n"] for f in cells)
                modes[kind] = "clusters"
                for f in cells:
                    f["properties"]["kind"] = f"{kind}-cluster"
                feats += cells
                continue
            counts[kind] = n
            modes[kind] = "points"
            if kind == "eo":
                rows = conn.execute(
                    select(
                        t.c.id,
                        t.c.category,
                        t.c.quantity,
                        t.c.date,
                        t.c.hazard_id,
                        t.c.organisation,
                        t.c.x,
                        t.c.y,
                    ).where(*where)
                ).all()
                feats += [
                    {
                        "type": "Feature",
                        "geometry": {
                            "type": "Point",
                            "coordinates": [round(r.x, 6), round(r.y, 6)],
                        },
                        "properties": {
                            "kind": "eo",
                            "id": r.id,
                            "cat": r.category,
                            "q": r.quantity,
                            "date": r.date.isoformat(),
                            "org": r.organisation,
                            "hazard": r.hazard_id,
                        },
                    }
                    for r in rows
                ]
            else:
                acc_rows = conn.execute(
                    select(
                        t.c.accident_id,
                        t.c.date,
                        t.c.device_category,
                        t.c.killed,
                        t.c.injured,
                        t.c.hazard_id,
                        t.c.organisation,
                        t.c.x,
                        t.c.y,
                    ).where(*where)
                ).all()
                feats += [
                    {
                        "type": "Feature",
                        "geometry": {
                            "type": "Point",
                            "coordinates": [round(r.x, 6), round(r.y, 6)],
                        },
                        "properties": {
                            "kind": "accident",
                            "id": r.accident_id,
                            "cat": r.device_category,
                            "killed": r.killed,
                            "injured": r.injured,
                            "date": r.date.isoformat(),
                            "org": r.organisation,
                            "hazard": r.hazard_id,
                        },
                    }
                    for r in acc_rows
                ]
    return {
        "type": "FeatureCollection",
        "count": sum(counts.values()),
        "counts": counts,
        "modes": modes,
        "features": feats,
    }


def _activity_where(
    bbox: Sequence[float], filters: OverlayFilter, scope: Scope
) -> list[ColumnElement[bool]]:
    """SQL conditions for activities in a view: by their hazard's bounding box (indexed)."""
    a, h = s.activity, s.hazard
    x0, y0, x1, y1 = bbox
    conds: list[ColumnElement[bool]] = [
        h.c.maxx >= x0,
        h.c.minx <= x1,
        h.c.maxy >= y0,
        h.c.miny <= y1,
    ]
    if scope.organisation:
        conds.append(a.c.organisation == scope.organisation)
    if scope.location:
        conds.append(h.c.location.startswith(scope.location))
    if filters.organisation:
        conds.append(a.c.organisation == filters.organisation)
    if filters.location:
        conds.append(h.c.location.startswith(filters.location))
    if filters.activity_type:
        conds.append(a.c.activity_type == filters.activity_type)
    if filters.until:
        conds.append(a.c.start_date <= filters.until)
    if filters.since:
        conds.append(func.coalesce(a.c.end_date, a.c.date_of_information) >= filters.since)
    return conds


def activities_in_view(
    store: Store,
    bbox: Sequence[float],
    zoom: float,
    *,
    filters: OverlayFilter | None = None,
    scope: Scope = NATIONAL,
    limit: int = MAX_OVERLAY_POINTS,
) -> dict[str, Any]:
    """Return the activities (NTS, TS, clearance, BAC, EOD) of a map view.

    Activities are found by their hazard's bounding box and filtered in SQL. Zoomed out they
    come back as clusters, in between as points (at the centre of the work, else of the
    hazard), up close as the simplified polygons each one released (the hazard's centre when it
    released nothing, e.g. EOD or a progress report).
    """
    filters = filters or OverlayFilter()
    a, h = s.activity, s.hazard
    join = a.join(h, h.c.hazard_id == a.c.hazard_id)
    where = _activity_where(bbox, filters, scope)
    px = degrees_per_pixel(zoom)
    digits = max(4, min(7, int(math.ceil(-math.log10(px))) + 1))
    cx = (h.c.minx + h.c.maxx) / 2
    cy = (h.c.miny + h.c.maxy) / 2
    with store.read() as conn:
        count = -1
        if zoom >= DETAIL_ZOOM:
            count = int(
                conn.execute(select(func.count()).select_from(join).where(*where)).scalar() or 0
            )
        if count < 0 or count > limit:
            feats = _sql_clusters(
                conn,
                cx,
                cy,
                where,
                bbox,
                px,
                a.c.cancelled_m2 + a.c.reduced_m2 + a.c.cleared_m2,
                join=join,
            )
            for f in feats:
                f["properties"]["kind"] = "activity-cluster"
            return {
                "type": "FeatureCollection",
                "mode": "clusters",
                "count": sum(f["properties"]["n"] for f in feats),
                "features": feats,
            }
        rows = conn.execute(
            select(
                a.c.report_id,
                a.c.hazard_id,
                a.c.organisation,
                a.c.activity_type,
                a.c.stage,
                a.c.start_date,
                a.c.end_date,
                a.c.date_of_information,
                (a.c.cancelled_m2 + a.c.reduced_m2 + a.c.cleared_m2).label("m2"),
                cx.label("cx"),
                cy.label("cy"),
            )
            .select_from(join)
            .where(*where)
            .order_by(a.c.start_date)
        ).all()
        polygons: dict[str, list[BaseGeometry]] = {}
        if rows and zoom >= ACTIVITY_POLYGON_ZOOM:
            rp = s.release_polygon
            ids = [r.report_id for r in rows]
            for i in range(0, len(ids), 500):
                for rid, geom in conn.execute(
                    select(rp.c.report_id, rp.c.geom).where(rp.c.report_id.in_(ids[i : i + 500]))
                ):
                    polygons.setdefault(rid, []).append(geom)
    tol = px * 0.75
    feats = []
    for r in rows:
        geo = None
        parts = polygons.get(r.report_id)
        if parts:
            geo = _simplify(shapely.union_all(parts), tol, digits)
        if geo is None:
            geo = {"type": "Point", "coordinates": [round(r.cx, digits), round(r.cy, digits)]}
        feats.append(
            {
                "type": "Feature",
                "id": r.report_id,
                "geometry": geo,
                "properties": {
                    "kind": "activity",
                    "id": r.report_id,
                    "type": r.activity_type,
                    "stage": r.stage,
                    "org": r.organisation,
                    "hazard": r.hazard_id,
                    "start": r.start_date.isoformat(),
                    "end": (r.end_date or r.date_of_information).isoformat(),
                    "m2": round(float(r.m2)),
                },
            }
        )
    mode = "polygons" if zoom >= ACTIVITY_POLYGON_ZOOM else "points"
    return {"type": "FeatureCollection", "mode": mode, "count": count, "features": feats}


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
    """Return the bounding box of the hazards in scope (else of the admin areas), or None."""
    index = hazard_index(store)
    m = index.mask([-180.0, -90.0, 180.0, 90.0], MapFilter(), scope)
    if m.any():
        return [
            float(index.minx[m].min()),
            float(index.miny[m].min()),
            float(index.maxx[m].max()),
            float(index.maxy[m].max()),
        ]
    with store.read() as conn:
        loc = conn.execute(
            select(s.location.c.geom).where(s.location.c.geom.is_not(None)).limit(200)
        ).all()
    if not loc:
        return None
    return [float(v) for v in shapely.total_bounds([r.geom for r in loc])]


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


def open_totals(
    store: Store, scope: Scope = NATIONAL, statuses: Sequence[str] = ("open", "worked_on")
) -> list[tuple[str, str, int, float]]:
    """Return (classification, location, count, remaining m²) of the hazards in ``statuses``.

    Read from the in-memory index (refreshed first if the data changed), so the dashboard costs
    no scan of the hazard table at national scale.
    """
    index = hazard_index(store, fresh=True)
    m = index.mask([-180.0, -90.0, 180.0, 90.0], MapFilter(), scope)
    keep = np.zeros(len(m), dtype=bool)
    for st in statuses:
        keep |= index.status.equal(st)
    m &= keep
    if not m.any():
        return []
    nloc = max(len(index.loc.lookup), 1)
    key = index.cls.codes[m].astype(np.int64) * nloc + index.loc.codes[m]
    keys, inverse = np.unique(key, return_inverse=True)
    n = np.bincount(inverse, minlength=len(keys))
    m2 = np.bincount(inverse, weights=index.m2[m], minlength=len(keys))
    cls_of = {c: v for v, c in index.cls.lookup.items()}
    loc_of = {c: v for v, c in index.loc.lookup.items()}
    return [
        (cls_of[int(k) // nloc], loc_of[int(k) % nloc], int(n[i]), float(m2[i]))
        for i, k in enumerate(keys)
    ]

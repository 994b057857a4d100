"""The feature collections served at ``/ogc``: what each is, and how to query it.

Every collection reads a table of the store, applies the caller's scope, the query (bbox,
datetime, property filters, paging) and returns GeoJSON-ready features. The public collections
are aggregates on a coarse grid and by admin area: no hazard coordinates finer than the grid,
no personal data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson
import shapely
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    ColumnElement,
    Connection,
    LargeBinary,
    Table,
    Text,
    case,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    text,
    type_coerce,
)

from mineaction.api.query import Resource as _Res
from mineaction.api.query import scope_clauses
from mineaction.core.access import ALL_ROLES, SIGNED_IN, Role, Scope
from mineaction.store import schema as s
from mineaction.store.settings import get_setting

#: Grid cell size (degrees) of the public view unless the ``public_grid_deg`` setting says.
DEFAULT_PUBLIC_GRID_DEG = 0.05


@dataclass(frozen=True)
class Query:
    """A parsed items request (bbox in CRS84)."""

    bbox: tuple[float, float, float, float] | None = None
    start: date | None = None
    end: date | None = None
    equals: dict[str, str] = field(default_factory=dict)
    limit: int = 100
    offset: int = 0


@dataclass
class Page:
    """Features of one page (as dicts, or as GeoJSON text made by the database) and the count."""

    features: list[dict[str, Any]]
    matched: int
    texts: list[str] | None = None

    def dicts(self) -> list[dict[str, Any]]:
        """Return the features as dicts (parsing the GeoJSON texts when that is what we have)."""
        if self.texts is None:
            return self.features
        return [orjson.loads(t) for t in self.texts]

    def __len__(self) -> int:
        """Return the number of features on this page."""
        return len(self.features) if self.texts is None else len(self.texts)


@dataclass(frozen=True)
class Collection:
    """A feature collection: id, title, who may read it, queryable properties, and a reader."""

    id: str
    title: str
    description: str
    roles: frozenset[Role]
    properties: dict[str, str]
    queryables: tuple[str, ...]
    geometry_type: str
    read: Callable[[Connection, Scope, Query, str], Page]
    get: Callable[[Connection, Scope, str], dict[str, Any] | None]
    temporal: str | None = None


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date | datetime) else v


def _geojson(geom: BaseGeometry | None) -> dict[str, Any] | None:
    if geom is None or geom.is_empty:
        return None
    out: dict[str, Any] = shapely.geometry.mapping(geom)
    return out


# --- table-backed collections ---------------------------------------------------------------


@dataclass(frozen=True)
class TableSpec:
    """How a table becomes features."""

    resource: _Res
    geom_col: str
    id_col: str
    props: tuple[str, ...]
    date_col: str | None
    bbox_columns: bool = False
    where: tuple[Callable[[Table], ColumnElement[bool]], ...] = ()
    int_id: bool = False
    #: a column with ``geom_col`` as GeoJSON text written with the row (NULL: not made)
    geojson_col: str | None = None


def _table_where(spec: TableSpec, scope: Scope, q: Query | None, dialect: str) -> list[Any]:
    t = spec.resource.table
    where: list[Any] = scope_clauses(spec.resource, scope)
    where += [w(t) for w in spec.where]
    if q is None:
        return where
    for name, value in q.equals.items():
        col = t.c[name]
        if col.type.python_type is int:
            try:
                where.append(col == int(value))
            except ValueError:
                where.append(col.is_(None) & col.isnot(None))
        else:
            where.append(col == value)
    if spec.date_col and (q.start or q.end):
        dcol = t.c[spec.date_col]
        if q.start:
            where.append(or_(dcol.is_(None), dcol >= q.start))
        if q.end:
            where.append(or_(dcol.is_(None), dcol <= q.end))
    if q.bbox is not None:
        x0, y0, x1, y1 = q.bbox
        if spec.bbox_columns:
            where += [t.c.maxx >= x0, t.c.minx <= x1, t.c.maxy >= y0, t.c.miny <= y1]
            if dialect == "sqlite" and t is s.hazard:
                # the R*Tree finds the candidates (float32, rounded outwards); the exact
                # comparisons above keep the answer identical
                where.append(
                    text(
                        f"hazard.rowid IN (SELECT id FROM {s.HAZARD_RTREE} WHERE "
                        "minx <= :rx1 AND maxx >= :rx0 AND miny <= :ry1 AND maxy >= :ry0)"
                    ).bindparams(rx0=x0, ry0=y0, rx1=x1, ry1=y1)
                )
        elif dialect == "postgresql":
            env = func.ST_MakeEnvelope(x0, y0, x1, y1, 4326)
            g = t.c[spec.geom_col]
            where.append(or_(g.is_(None), func.ST_Intersects(g, env)))
    return where


def _geometry_texts(rows: Sequence[Any], dialect: str) -> list[str]:
    """Return each row's geometry as GeoJSON text (``null`` when missing).

    Rows are ``(feature, geojson_text, wkb)``: the stored or database-made text when there is
    one, else the WKB (SQLite), converted here in one vectorised call.
    """
    texts: list[str | None] = [r[1] for r in rows]
    if dialect != "postgresql":
        todo = [i for i, r in enumerate(rows) if r[1] is None and r[2] is not None]
        if todo:
            geoms = shapely.from_wkb([rows[i][2] for i in todo])
            for i, g in zip(todo, shapely.to_geojson(geoms), strict=True):
                texts[i] = str(g) if g is not None else None
    return [t if t is not None else "null" for t in texts]


def _geom_exprs(spec: TableSpec, dialect: str) -> list[Any]:
    """The geometry columns of an items query: GeoJSON text, and WKB where that is missing."""
    t = spec.resource.table
    col = t.c[spec.geom_col]
    wkb = type_coerce(col, LargeBinary)
    stored = t.c[spec.geojson_col] if spec.geojson_col else None
    if dialect == "postgresql":
        made = func.ST_AsGeoJSON(wkb, 9)
        gj = made if stored is None else func.coalesce(stored, made)
        return [gj.label("_gj"), null().label("_wkb")]
    if stored is None:
        return [null().label("_gj"), wkb.label("_wkb")]
    return [stored.label("_gj"), case((stored.is_(None), wkb)).label("_wkb")]


def _json_object(dialect: str, pairs: list[tuple[str, Any]]) -> Any:
    """A SQL JSON object of ``(key, expression)`` pairs (keys are our own identifiers)."""
    fn = func.json_build_object if dialect == "postgresql" else func.json_object
    args: list[Any] = []
    for key, expr in pairs:
        args += [literal_column(f"'{key}'"), expr]
    return fn(*args)


_ITEM_COLUMNS: dict[tuple[int, str], list[Any]] = {}


def _item_columns(spec: TableSpec, dialect: str) -> list[Any]:
    """The columns of an items query (built once per collection and dialect)."""
    key = (id(spec), dialect)
    cols = _ITEM_COLUMNS.get(key)
    if cols is None:
        cols = _ITEM_COLUMNS[key] = [_feature_sql(spec, dialect), *_geom_exprs(spec, dialect)]
    return cols


def _feature_sql(spec: TableSpec, dialect: str) -> Any:
    """The database's JSON text of a feature without its geometry (added afterwards)."""
    t = spec.resource.table
    props = _json_object(dialect, [(p, t.c[p]) for p in spec.props])
    feature = _json_object(
        dialect,
        [("type", literal_column("'Feature'")), ("id", t.c[spec.id_col]), ("properties", props)],
    )
    if dialect == "postgresql":
        return cast(feature, Text).label("_f")
    return feature.label("_f")


def _feature(spec: TableSpec, row: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": row[spec.id_col],
        "geometry": _geojson(row[spec.geom_col]),
        "properties": {p: _iso(row[p]) for p in spec.props},
    }


def table_reader(spec: TableSpec) -> Callable[[Connection, Scope, Query, str], Page]:
    """Return the items reader of a table collection."""
    t = spec.resource.table

    def read(conn: Connection, scope: Scope, q: Query, dialect: str) -> Page:
        where = _table_where(spec, scope, q, dialect)
        python_bbox = q.bbox is not None and not spec.bbox_columns and dialect != "postgresql"
        if not python_bbox:
            # the database writes each feature's JSON (properties, id) and its geometry
            # (PostGIS: ST_AsGeoJSON; SQLite: WKB -> GEOS, vectorised): no per-feature dicts
            fsel = select(*_item_columns(spec, dialect)).where(*where).order_by(t.c[spec.id_col])
            rows = conn.execute(fsel.limit(q.limit).offset(q.offset)).all()
            if len(rows) < q.limit and (rows or q.offset == 0):
                matched = q.offset + len(rows)  # the last page: no need to count
            else:
                matched = int(
                    conn.execute(select(func.count()).select_from(t).where(*where)).scalar() or 0
                )
            geoms = _geometry_texts(rows, dialect)
            texts = [
                _text(r[0])[:-1] + ',"geometry":' + g + "}"
                for r, g in zip(rows, geoms, strict=True)
            ]
            return Page([], matched, texts)
        cols = [t.c[c] for c in dict.fromkeys((spec.id_col, *spec.props))] + [t.c[spec.geom_col]]
        sel = select(*cols).where(*where).order_by(t.c[spec.id_col])
        assert q.bbox is not None
        env = box(*q.bbox)
        hits = [
            r
            for r in conn.execute(sel).mappings()
            if r[spec.geom_col] is None or r[spec.geom_col].intersects(env)
        ]
        page = hits[q.offset : q.offset + q.limit]
        return Page([_feature(spec, r) for r in page], len(hits))

    return read


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def table_getter(spec: TableSpec) -> Callable[[Connection, Scope, str], dict[str, Any] | None]:
    """Return the single-feature reader of a table collection."""
    t = spec.resource.table

    def get(conn: Connection, scope: Scope, fid: str) -> dict[str, Any] | None:
        key: Any = fid
        if spec.int_id:
            try:
                key = int(fid)
            except ValueError:
                return None
        where = [*_table_where(spec, scope, None, ""), t.c[spec.id_col] == key]
        cols = [t.c[c] for c in dict.fromkeys((spec.id_col, *spec.props))] + [t.c[spec.geom_col]]
        row = conn.execute(select(*cols).where(*where)).mappings().first()
        return None if row is None else _feature(spec, row)

    return get


HAZARD_PROPS = (
    "hazard_id",
    "name",
    "organisation",
    "classification",
    "status",
    "location",
    "area_m2",
    "cancelled_m2",
    "reduced_m2",
    "cleared_m2",
    "remaining_m2",
    "eo_total",
    "first_date",
    "last_date",
    "version",
)

_HAZ_RES = _Res("hazards", s.hazard, "hazard_id", location_col="location")
HAZARDS = TableSpec(
    _HAZ_RES,
    "geom",
    "hazard_id",
    HAZARD_PROPS,
    "last_date",
    bbox_columns=True,
    geojson_col="geom_geojson",
)
REMAINING = TableSpec(
    _HAZ_RES,
    "remaining_geom",
    "hazard_id",
    HAZARD_PROPS,
    "last_date",
    bbox_columns=True,
    where=(
        lambda t: t.c.status.in_(["open", "worked_on"]),
        lambda t: t.c.remaining_m2 > 0,
    ),
)
RELEASED = TableSpec(
    _Res("released", s.release_polygon, "id", via_hazard=True),
    "geom",
    "id",
    (
        "id",
        "hazard_id",
        "report_id",
        "organisation",
        "date",
        "activity_type",
        "outcome",
        "method",
        "polygon_m2",
    ),
    "date",
    int_id=True,
)
EO = TableSpec(
    _Res("eo", s.eo_item, "id", via_hazard=True),
    "geom",
    "id",
    (
        "id",
        "hazard_id",
        "report_id",
        "organisation",
        "date",
        "source",
        "category",
        "model",
        "quantity",
        "condition",
        "disposal",
    ),
    "date",
    int_id=True,
)


# --- activities: geometry = released polygons (or the hazard when nothing was released) -----

ACTIVITY_PROPS = (
    "report_id",
    "hazard_id",
    "organisation",
    "activity_type",
    "stage",
    "method",
    "team",
    "start_date",
    "end_date",
    "date_of_information",
    "cancelled_m2",
    "reduced_m2",
    "cleared_m2",
)
_ACT_RES = _Res("activities", s.activity, "report_id", via_hazard=True)


def _activity_where(scope: Scope, q: Query | None, dialect: str) -> list[Any]:
    a = s.activity
    where: list[Any] = scope_clauses(_ACT_RES, scope)
    if q is None:
        return where
    for name, value in q.equals.items():
        where.append(a.c[name] == value)
    if q.start:
        where.append(a.c.date_of_information >= q.start)
    if q.end:
        where.append(a.c.date_of_information <= q.end)
    if q.bbox is not None:
        x0, y0, x1, y1 = q.bbox
        h = s.hazard
        where.append(
            a.c.hazard_id.in_(
                select(h.c.hazard_id).where(
                    h.c.maxx >= x0, h.c.minx <= x1, h.c.maxy >= y0, h.c.miny <= y1
                )
            )
        )
    return where


def _activity_features(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    ids = [r["report_id"] for r in rows]
    parts: dict[str, list[BaseGeometry]] = {}
    if ids:
        rp = s.release_polygon
        for rid, geom in conn.execute(
            select(rp.c.report_id, rp.c.geom).where(rp.c.report_id.in_(ids))
        ):
            parts.setdefault(rid, []).append(geom)
    hz_ids = list({r["hazard_id"] for r in rows if r["report_id"] not in parts})
    hz: dict[str, BaseGeometry] = {}
    if hz_ids:
        h = s.hazard
        hz = dict(
            conn.execute(select(h.c.hazard_id, h.c.geom).where(h.c.hazard_id.in_(hz_ids))).all()
        )
    out = []
    for r in rows:
        geoms = parts.get(r["report_id"])
        geom = shapely.union_all(geoms) if geoms else hz.get(r["hazard_id"])
        out.append(
            {
                "type": "Feature",
                "id": r["report_id"],
                "geometry": _geojson(geom),
                "properties": {p: _iso(r[p]) for p in ACTIVITY_PROPS},
            }
        )
    return out


def read_activities(conn: Connection, scope: Scope, q: Query, dialect: str) -> Page:
    """Activities: polygons released by each (the hazard's when none)."""
    a = s.activity
    where = _activity_where(scope, q, dialect)
    matched = int(conn.execute(select(func.count()).select_from(a).where(*where)).scalar() or 0)
    rows = (
        conn.execute(
            select(*[a.c[p] for p in ACTIVITY_PROPS])
            .where(*where)
            .order_by(a.c.report_id)
            .limit(q.limit)
            .offset(q.offset)
        )
        .mappings()
        .all()
    )
    return Page(_activity_features(conn, list(rows)), matched)


def get_activity(conn: Connection, scope: Scope, fid: str) -> dict[str, Any] | None:
    """One activity feature."""
    a = s.activity
    where = [*_activity_where(scope, None, ""), a.c.report_id == fid]
    rows = conn.execute(select(*[a.c[p] for p in ACTIVITY_PROPS]).where(*where)).mappings().all()
    feats = _activity_features(conn, list(rows))
    return feats[0] if feats else None


# --- public generalised views ---------------------------------------------------------------


def grid_size(conn: Connection) -> float:
    """Return the public grid cell size in degrees (setting ``public_grid_deg``)."""
    value = get_setting(conn, "public_grid_deg", DEFAULT_PUBLIC_GRID_DEG)
    try:
        size = float(value)
    except (TypeError, ValueError):
        size = DEFAULT_PUBLIC_GRID_DEG
    return size if size > 0 else DEFAULT_PUBLIC_GRID_DEG


def _hazard_totals(conn: Connection) -> list[Any]:
    h = s.hazard
    return list(
        conn.execute(
            select(
                h.c.location,
                h.c.status,
                h.c.remaining_m2,
                h.c.cancelled_m2,
                h.c.reduced_m2,
                h.c.cleared_m2,
                h.c.minx,
                h.c.miny,
                h.c.maxx,
                h.c.maxy,
            )
        ).all()
    )


def _add(acc: dict[str, Any], r: Any) -> None:
    acc["hazards"] += 1
    if r.status in ("open", "worked_on"):
        acc["open_hazards"] += 1
        acc["remaining_m2"] += r.remaining_m2
    acc["cancelled_m2"] += r.cancelled_m2
    acc["reduced_m2"] += r.reduced_m2
    acc["cleared_m2"] += r.cleared_m2


def _new_acc() -> dict[str, Any]:
    return {
        "hazards": 0,
        "open_hazards": 0,
        "remaining_m2": 0.0,
        "cancelled_m2": 0.0,
        "reduced_m2": 0.0,
        "cleared_m2": 0.0,
    }


def _rounded(acc: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v) if isinstance(v, float) else v) for k, v in acc.items()}


def _page_of(features: list[dict[str, Any]], q: Query) -> Page:
    if q.bbox is not None:
        env = box(*q.bbox)
        features = [
            f
            for f in features
            if f["geometry"] is None or shapely.geometry.shape(f["geometry"]).intersects(env)
        ]
    for name, value in q.equals.items():
        features = [f for f in features if str(f["properties"].get(name)) == value]
    return Page(features[q.offset : q.offset + q.limit], len(features))


def public_grid_features(conn: Connection) -> list[dict[str, Any]]:
    """Aggregates of hazards per grid cell (a hazard counts in the cell of its centre)."""
    size = grid_size(conn)
    cells: dict[tuple[int, int], dict[str, Any]] = {}
    for r in _hazard_totals(conn):
        cx, cy = (r.minx + r.maxx) / 2, (r.miny + r.maxy) / 2
        key = (math.floor(cx / size), math.floor(cy / size))
        _add(cells.setdefault(key, _new_acc()), r)
    out = []
    for (ix, iy), acc in sorted(cells.items()):
        cell = box(ix * size, iy * size, (ix + 1) * size, (iy + 1) * size)
        out.append(
            {
                "type": "Feature",
                "id": f"{ix}_{iy}",
                "geometry": _geojson(cell),
                "properties": {"cell": f"{ix}_{iy}", "cell_deg": size, **_rounded(acc)},
            }
        )
    return out


def public_area_features(conn: Connection) -> list[dict[str, Any]]:
    """Aggregates of hazards per top-level admin area (the P-code's first level)."""
    loc = s.location
    areas = {
        r.pcode: r
        for r in conn.execute(select(loc.c.pcode, loc.c.name, loc.c.admin_level, loc.c.geom)).all()
    }
    top = (
        sorted(
            (
                p
                for p, r in areas.items()
                if r.admin_level == min(a.admin_level for a in areas.values())
            ),
            key=len,
        )
        if areas
        else []
    )
    acc: dict[str, dict[str, Any]] = {}
    for r in _hazard_totals(conn):
        code = next((p for p in top if r.location and r.location.startswith(p)), "unknown")
        _add(acc.setdefault(code, _new_acc()), r)
    out = []
    for code, a in sorted(acc.items()):
        area = areas.get(code)
        geom = None
        if area is not None and area.geom is not None:
            geom = shapely.simplify(area.geom, 0.001, preserve_topology=True)
        out.append(
            {
                "type": "Feature",
                "id": code,
                "geometry": _geojson(geom),
                "properties": {
                    "pcode": code,
                    "name": area.name if area is not None else "unknown area",
                    **_rounded(a),
                },
            }
        )
    return out


def _public_reader(
    make: Callable[[Connection], list[dict[str, Any]]],
) -> tuple[
    Callable[[Connection, Scope, Query, str], Page],
    Callable[[Connection, Scope, str], dict[str, Any] | None],
]:
    def read(conn: Connection, scope: Scope, q: Query, dialect: str) -> Page:
        return _page_of(make(conn), q)

    def get(conn: Connection, scope: Scope, fid: str) -> dict[str, Any] | None:
        return next((f for f in make(conn) if str(f["id"]) == fid), None)

    return read, get


_grid_read, _grid_get = _public_reader(public_grid_features)
_area_read, _area_get = _public_reader(public_area_features)

HAZARD_TYPES = {
    "hazard_id": "string",
    "name": "string",
    "organisation": "string",
    "classification": "string",
    "status": "string",
    "location": "string",
    "area_m2": "number",
    "cancelled_m2": "number",
    "reduced_m2": "number",
    "cleared_m2": "number",
    "remaining_m2": "number",
    "eo_total": "integer",
    "first_date": "string",
    "last_date": "string",
    "version": "integer",
}
AGG_TYPES = {
    "hazards": "integer",
    "open_hazards": "integer",
    "remaining_m2": "number",
    "cancelled_m2": "number",
    "reduced_m2": "number",
    "cleared_m2": "number",
}
READERS = frozenset(SIGNED_IN)

COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            "hazards",
            "Hazardous areas",
            "Suspected and confirmed hazardous areas (SHA/CHA): current polygon and areas in m².",
            READERS,
            HAZARD_TYPES,
            ("status", "classification", "organisation", "location", "hazard_id"),
            "Polygon",
            table_reader(HAZARDS),
            table_getter(HAZARDS),
            "last_date",
        ),
        Collection(
            "remaining",
            "Remaining hazardous areas",
            "What is left to release of each open hazard (polygon minus released land).",
            READERS,
            HAZARD_TYPES,
            ("status", "classification", "organisation", "location", "hazard_id"),
            "MultiPolygon",
            table_reader(REMAINING),
            table_getter(REMAINING),
            "last_date",
        ),
        Collection(
            "released",
            "Released land",
            "Land released by cancellation (NTS), reduction (TS) or clearance: property outcome.",
            READERS,
            {
                "id": "integer",
                "hazard_id": "string",
                "report_id": "string",
                "organisation": "string",
                "date": "string",
                "activity_type": "string",
                "outcome": "string",
                "method": "string",
                "polygon_m2": "number",
            },
            ("outcome", "activity_type", "organisation", "hazard_id"),
            "Polygon",
            table_reader(RELEASED),
            table_getter(RELEASED),
            "date",
        ),
        Collection(
            "activities",
            "Activities",
            "Land-release activities; geometry = the land each released (else its hazard).",
            READERS,
            {p: "number" if p.endswith("_m2") else "string" for p in ACTIVITY_PROPS},
            ("activity_type", "stage", "organisation", "hazard_id"),
            "MultiPolygon",
            read_activities,
            get_activity,
            "date_of_information",
        ),
        Collection(
            "eo",
            "Explosive ordnance finds",
            "EO found during activities and spot tasks (points).",
            READERS,
            {
                "id": "integer",
                "hazard_id": "string",
                "report_id": "string",
                "organisation": "string",
                "date": "string",
                "source": "string",
                "category": "string",
                "model": "string",
                "quantity": "integer",
                "condition": "string",
                "disposal": "string",
            },
            ("category", "source", "organisation", "hazard_id"),
            "Point",
            table_reader(EO),
            table_getter(EO),
            "date",
        ),
        Collection(
            "public-grid",
            "Contamination overview (grid)",
            "Public view: hazards and released land aggregated on a coarse grid; no hazard "
            "coordinates, no personal data.",
            frozenset(ALL_ROLES),
            {"cell": "string", "cell_deg": "number", **AGG_TYPES},
            ("cell",),
            "Polygon",
            _grid_read,
            _grid_get,
        ),
        Collection(
            "public-areas",
            "Contamination overview (admin areas)",
            "Public view: hazards and released land aggregated by top-level admin area.",
            frozenset(ALL_ROLES),
            {"pcode": "string", "name": "string", **AGG_TYPES},
            ("pcode",),
            "Polygon",
            _area_read,
            _area_get,
        ),
    )
}


def extent(conn: Connection, c: Collection) -> list[float] | None:
    """Return the spatial extent of a collection (all records, CRS84) or None."""
    if c.id.startswith("public"):
        feats = public_grid_features(conn)
        if not feats:
            return None
        bounds = shapely.total_bounds([shapely.geometry.shape(f["geometry"]) for f in feats])
        return [float(v) for v in bounds]
    h = s.hazard
    row = conn.execute(
        select(func.min(h.c.minx), func.min(h.c.miny), func.max(h.c.maxx), func.max(h.c.maxy))
    ).first()
    if row is None or row[0] is None:
        return None
    return [float(v) for v in row]

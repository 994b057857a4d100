"""Listing records of a table for the API: scope, filters, sorting, paging, JSON and GeoJSON.

A :class:`Resource` describes one table (id, organisation and location columns, date and
geometry); :func:`list_records` and :func:`get_record` apply the caller's scope so that records
outside it are never returned (single records outside it are "not found").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, create_model
from shapely import box as shapely_box
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    Table,
    false,
    func,
    or_,
    select,
)

from mineaction.api.common import MAX_OFFSET
from mineaction.core.access import Scope
from mineaction.core.geometry import to_geojson
from mineaction.errors import NotFoundError, ValidationError
from mineaction.store import schema as s
from mineaction.store.types import Geometry


@dataclass(frozen=True)
class Resource:
    """A table served by the API."""

    name: str
    table: Table
    id_col: str
    org_cols: tuple[str, ...] = ("organisation",)
    location_col: str | None = None
    via_hazard: bool = False
    date_col: str | None = None
    geom_col: str | None = None
    hidden: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    org_via: tuple[Table, str] | None = None
    default_sort: str | None = None
    bbox_columns: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """Return the exposed attribute columns (not the geometry, not hidden ones)."""
        return [
            c.name
            for c in self.table.c
            if c.name not in self.hidden
            and c.name != self.geom_col
            and not isinstance(c.type, Geometry)
        ]


def _py_type(col: Any) -> Any:
    t = col.type
    if isinstance(t, Boolean):
        base: Any = bool
    elif isinstance(t, Integer):
        base = int
    elif isinstance(t, Float):
        base = float
    elif isinstance(t, DateTime):
        base = str
    elif isinstance(t, Date):
        base = date
    elif t.__class__.__name__ in ("JSON", "Variant") or "JSON" in repr(t):
        base = Any
    else:
        base = str
    if base is Any:
        return Any
    return base if (not col.nullable or col.primary_key) else base | None


def item_model(res: Resource) -> type[BaseModel]:
    """Return the pydantic model of one record (for the OpenAPI document)."""
    fields: dict[str, Any] = {}
    for name in res.columns:
        col = res.table.c[name]
        typ = _py_type(col)
        fields[name] = (typ, ...) if (not col.nullable or col.primary_key) else (typ, None)
    if res.geom_col:
        fields["geometry"] = (dict[str, Any] | None, None)
    for name, typ in res.extra.items():
        fields[name] = (typ, None)
    model: type[BaseModel] = create_model(_model_name(res.name), **fields)
    return model


def _model_name(name: str) -> str:
    return "".join(p.capitalize() for p in name.replace("-", "_").split("_")) + "Item"


def page_model(item: type[BaseModel]) -> type[BaseModel]:
    """Return the model of a page of records."""
    model: type[BaseModel] = create_model(
        item.__name__.removesuffix("Item") + "Page",
        items=(list[item], ...),  # type: ignore[valid-type]
        total=(int, ...),
        limit=(int, ...),
        offset=(int, ...),
    )
    return model


class Feature(BaseModel):
    """A GeoJSON feature with a top-level id."""

    type: str = "Feature"
    id: str | int
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    """A GeoJSON feature collection (one page) with the total number matched."""

    type: str = "FeatureCollection"
    features: list[Feature]
    numberMatched: int  # noqa: N815 (GeoJSON / OGC member name)
    numberReturned: int  # noqa: N815


def scope_clauses(res: Resource, scope: Scope) -> list[ColumnElement[bool]]:
    """Return WHERE clauses keeping only records inside ``scope``."""
    t = res.table
    out: list[ColumnElement[bool]] = []
    if scope.organisation is not None:
        if res.org_via is not None:
            parent, key = res.org_via
            sub = select(parent.c[key]).where(parent.c.organisation == scope.organisation)
            out.append(t.c[key].in_(sub))
        elif res.org_cols:
            out.append(or_(*[t.c[c] == scope.organisation for c in res.org_cols]))
        else:
            out.append(false())
    if scope.admin_area is not None:
        if res.location_col:
            out.append(t.c[res.location_col].startswith(scope.admin_area, autoescape=True))
        elif res.via_hazard:
            sub = select(s.hazard.c.hazard_id).where(
                s.hazard.c.location.startswith(scope.admin_area, autoescape=True)
            )
            out.append(t.c.hazard_id.in_(sub))
        elif res.org_via is not None and "location" in res.org_via[0].c:
            parent, key = res.org_via
            sub = select(parent.c[key]).where(
                parent.c.location.startswith(scope.admin_area, autoescape=True)
            )
            out.append(t.c[key].in_(sub))
        else:
            out.append(false())
    return out


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    """Parse ``minx,miny,maxx,maxy`` (400 on anything else).

    >>> parse_bbox("35.1,51.1,35.3,51.3")
    (35.1, 51.1, 35.3, 51.3)
    >>> parse_bbox("1,2,3")
    Traceback (most recent call last):
    ...
    mineaction.errors.ValidationError: bbox: expected 4 numbers minx,miny,maxx,maxy; got '1,2,3'
    """
    if value is None or value == "":
        return None
    parts = value.split(",")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) == 6:  # 3D bbox: ignore heights
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if len(nums) != 4 or any(n != n or n in (float("inf"), float("-inf")) for n in nums):
        raise ValidationError(
            f"expected 4 numbers minx,miny,maxx,maxy; got {value!r}", where="bbox"
        )
    x0, y0, x1, y1 = nums
    if x0 > x1 or y0 > y1:
        raise ValidationError(
            f"minimum above maximum in {value!r} (order is minx,miny,maxx,maxy)", where="bbox"
        )
    return (x0, y0, x1, y1)


def parse_sort(value: str | None, allowed: Sequence[str]) -> list[tuple[str, bool]]:
    """Parse ``field,-other`` into (field, descending) pairs (400 for unknown fields).

    >>> parse_sort("-date,hazard_id", ["date", "hazard_id"])
    [('date', True), ('hazard_id', False)]
    """
    if not value:
        return []
    out = []
    for part in value.split(","):
        part = part.strip()
        desc = part.startswith("-")
        name = part.lstrip("+-")
        if name not in allowed:
            raise ValidationError(
                f"cannot sort by {name!r}: use one of {', '.join(allowed)}", where="sort"
            )
        out.append((name, desc))
    return out


def record_dict(res: Resource, row: Any) -> dict[str, Any]:
    """Return a record as JSON-compatible data (dates as ISO text, geometry as GeoJSON)."""
    out: dict[str, Any] = {}
    for name in res.columns:
        v = row[name]
        if isinstance(v, datetime):
            v = v.isoformat()
        out[name] = v
    if res.geom_col:
        out["geometry"] = to_geojson(row[res.geom_col])
    return out


def to_feature(res: Resource, rec: dict[str, Any]) -> dict[str, Any]:
    """Return a record as a GeoJSON feature."""
    props = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in rec.items()}
    geometry = props.pop("geometry", None)
    return {"type": "Feature", "id": rec[res.id_col], "geometry": geometry, "properties": props}


@dataclass
class Listing:
    """One page of records and the total matched."""

    records: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


def list_records(
    conn: Connection,
    res: Resource,
    scope: Scope,
    *,
    within: Scope | None = None,
    equals: dict[str, Any] | None = None,
    prefix: dict[str, str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    sort: list[tuple[str, bool]] | None = None,
    limit: int = 100,
    offset: int = 0,
    dialect: str = "sqlite",
) -> Listing:
    """Return one page of records inside ``scope`` matching the filters."""
    if not 0 <= offset <= MAX_OFFSET or not 0 <= limit <= MAX_OFFSET:
        raise ValidationError(f"offset and limit must be between 0 and {MAX_OFFSET:,}")
    t = res.table
    where: list[ColumnElement[bool]] = scope_clauses(res, scope)
    if within is not None:
        where += scope_clauses(res, within)
    for name, value in (equals or {}).items():
        if value is not None:
            where.append(t.c[name] == value)
    for name, value in (prefix or {}).items():
        if value:
            where.append(t.c[name].startswith(value, autoescape=True))
    if res.date_col and date_from:
        where.append(t.c[res.date_col] >= date_from)
    if res.date_col and date_to:
        where.append(t.c[res.date_col] <= date_to)
    python_bbox = None
    if bbox is not None and res.bbox_columns:
        x0, y0, x1, y1 = bbox
        where += [t.c.maxx >= x0, t.c.minx <= x1, t.c.maxy >= y0, t.c.miny <= y1]
    elif bbox is not None and res.geom_col:
        if dialect == "postgresql":
            env = func.ST_MakeEnvelope(*bbox, 4326)
            where.append(func.ST_Intersects(t.c[res.geom_col], env))
        else:
            python_bbox = shapely_box(*bbox)
    order = [(t.c[n].desc() if d else t.c[n].asc()) for n, d in (sort or [])]
    order.append(t.c[res.id_col].asc())
    cols = [t.c[c] for c in res.columns]
    if res.geom_col:
        cols.append(t.c[res.geom_col])
    q = select(*cols).where(*where).order_by(*order)
    if python_bbox is None:
        total = int(conn.execute(select(func.count()).select_from(t).where(*where)).scalar() or 0)
        rows = list(conn.execute(q.limit(limit).offset(offset)).mappings())
    else:
        gcol = res.geom_col or ""
        matched = [
            r
            for r in conn.execute(q).mappings()
            if r[gcol] is not None and r[gcol].intersects(python_bbox)
        ]
        total = len(matched)
        rows = matched[offset : offset + limit]
    return Listing([record_dict(res, r) for r in rows], total, limit, offset)


def get_record(conn: Connection, res: Resource, scope: Scope, record_id: str) -> dict[str, Any]:
    """Return one record inside ``scope`` or raise :class:`NotFoundError`."""
    t = res.table
    cols = [t.c[c] for c in res.columns]
    if res.geom_col:
        cols.append(t.c[res.geom_col])
    q = select(*cols).where(t.c[res.id_col] == record_id, *scope_clauses(res, scope))
    row = conn.execute(q).mappings().first()
    if row is None:
        raise NotFoundError(f"no {res.name} record {record_id!r}")
    return record_dict(res, row)

"""Writing and reading the derived tables (hazard state and per-report records)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

from shapely.geometry import shape
from sqlalchemy import Connection, RowMapping, Table, delete, func, insert, select

from mineaction.core.codes import ReportType
from mineaction.core.geometry import geodesic_area_m2, geojson_texts
from mineaction.core.projection import HazardState, LedgerEntry
from mineaction.errors import NotFoundError
from mineaction.store import schema as s
from mineaction.store.bulkwrite import insert_many

RowsByTable = dict[Table, list[dict[str, Any]]]


def hazard_row(state: HazardState, geom_geojson: str | None = None) -> dict[str, Any]:
    """Return the ``hazard`` table row for a projected state.

    ``geom_geojson`` is the polygon's GeoJSON text when the caller made it already (in one
    vectorised call for a batch, :func:`mineaction.core.geometry.geojson_texts`).
    """
    a = state.areas
    p = state.parts
    x0, y0, x1, y1 = state.polygon.bounds
    return {
        "hazard_id": state.hazard_id,
        "organisation": state.organisation,
        "name": state.name,
        "classification": state.classification.value,
        "status": state.status.value,
        "status_reason": state.status_reason,
        "location": state.location,
        "contamination": list(state.contamination),
        "area_m2": a.area_m2,
        "cancelled_m2": a.cancelled_m2,
        "reduced_m2": a.reduced_m2,
        "cleared_m2": a.cleared_m2,
        "remaining_m2": a.remaining_m2,
        "expansion_m2": a.expansion_m2,
        "estimated_area_m2": state.estimated_area_m2,
        "eo_found": dict(state.eo_found),
        "eo_total": state.eo_total,
        "first_date": state.first_date,
        "last_date": state.last_date,
        "closed_on": state.closed_on,
        "handed_over_on": state.handed_over_on,
        "report_count": state.report_count,
        "last_report_id": state.last_report_id,
        "flags": list(state.flags),
        "details": {
            "evidence": state.evidence,
            "blockages": state.blockages,
            "beneficiaries": state.beneficiaries,
            "activity_types": state.activity_types,
            "explicit_classification": state.explicit_classification,
            "status_reason": state.status_reason,
        },
        "geom": state.polygon,
        "geom_geojson": geom_geojson
        if geom_geojson is not None
        else geojson_texts([state.polygon])[0],
        "remaining_geom": p.remaining,
        "cancelled_geom": p.cancelled,
        "reduced_geom": p.reduced,
        "cleared_geom": p.cleared,
        "expansion_geom": p.expansion,
        "benchmark": state.benchmark,
        "minx": x0,
        "miny": y0,
        "maxx": x1,
        "maxy": y1,
        "version": state.report_count,
    }


def replace_hazard(conn: Connection, state: HazardState | None, hazard_id: str) -> None:
    """Store the projected state of one hazard (delete it when it has no approved reports)."""
    conn.execute(delete(s.hazard).where(s.hazard.c.hazard_id == hazard_id))
    if state is not None:
        conn.execute(insert(s.hazard), [hazard_row(state)])


def _point(obj: Mapping[str, Any] | None) -> Any:
    return None if obj is None else shape(obj)


def point_xy(geom: Any) -> tuple[float | None, float | None]:
    """Return the centroid lon/lat of a geometry (None, None without one) for bbox filters.

    >>> from shapely.geometry import Point
    >>> point_xy(Point(35.1, 51.2)), point_xy(None)
    ((35.1, 51.2), (None, None))
    """
    if geom is None or geom.is_empty:
        return None, None
    c = geom.centroid
    return float(c.x), float(c.y)


def derived_rows(e: LedgerEntry) -> RowsByTable:
    """Return the rows of the per-report derived tables for one approved report."""
    out: RowsByTable = defaultdict(list)
    b = e.body
    doi: date = e.date_of_information
    if e.type == ReportType.ACTIVITY:
        totals = {"cancelled": 0.0, "reduced": 0.0, "cleared": 0.0}
        prepared = e.prepared.get("releases")
        for i, rel in enumerate(b.get("releases", [])):
            if prepared is None:
                geom = shape(rel["polygon"])
                m2 = geodesic_area_m2(geom)
            else:
                geom, m2 = prepared[i], e.prepared["releases_m2"][i]
            totals[rel["outcome"]] += m2
            out[s.release_polygon].append(
                {
                    "report_id": e.report_id,
                    "hazard_id": b["hazard_id"],
                    "organisation": e.organisation,
                    "date": doi,
                    "activity_type": b["activity_type"],
                    "outcome": rel["outcome"],
                    "method": rel.get("method") or b.get("method"),
                    "depth_cm": rel.get("depth_cm") or b.get("clearance_depth_cm"),
                    "reported_m2": rel.get("reported_m2"),
                    "polygon_m2": m2,
                    "geom": geom,
                }
            )
        out[s.activity].append(
            {
                "report_id": e.report_id,
                "hazard_id": b["hazard_id"],
                "organisation": e.organisation,
                "activity_type": b["activity_type"],
                "stage": b.get("stage", "progress"),
                "method": b.get("method"),
                "team": b.get("team"),
                "team_days": b.get("team_days"),
                "start_date": date.fromisoformat(b["start_date"]),
                "end_date": date.fromisoformat(b["end_date"]) if b.get("end_date") else None,
                "date_of_information": doi,
                "depth_cm": b.get("clearance_depth_cm"),
                "cancelled_m2": totals["cancelled"],
                "reduced_m2": totals["reduced"],
                "cleared_m2": totals["cleared"],
                "geom": None,
            }
        )
        items: list[dict[str, Any]] = b.get("eo_items", [])
        source = "activity"
    elif e.type == ReportType.EO:
        items = b.get("items", [])
        source = "spot"
    else:
        items = []
        source = ""
    points = e.prepared.get("eo_points")
    xys = e.prepared.get("eo_xy")
    for j, item in enumerate(items):
        if points is None or xys is None:
            point = _point(item.get("point"))
            x, y = point_xy(point)
        else:
            point = points[j]
            x, y = xys[j]
        out[s.eo_item].append(
            {
                "report_id": e.report_id,
                "hazard_id": b.get("hazard_id"),
                "organisation": e.organisation,
                "date": doi,
                "source": source,
                "category": item["category"],
                "model": item.get("model"),
                "quantity": item.get("quantity", 1),
                "condition": item.get("condition"),
                "disposal": item.get("disposal"),
                "depth_cm": item.get("depth_cm"),
                "geom": point,
                "x": x,
                "y": y,
            }
        )
    if e.type == ReportType.ACCIDENT:
        victims = b.get("victims", [])
        if "point_xy" in e.prepared:
            where, (ax, ay) = e.prepared["point"], e.prepared["point_xy"]
        else:
            where = shape(b["point"])
            ax, ay = point_xy(where)
        out[s.accident].append(
            {
                "accident_id": b["accident_id"],
                "report_id": e.report_id,
                "organisation": e.organisation,
                "date": date.fromisoformat(b["date"]),
                "device_category": b["device_category"],
                "demining": bool(b.get("demining", False)),
                "hazard_id": b.get("hazard_id"),
                "location": b.get("location"),
                "killed": sum(1 for v in victims if v["status"] == "killed"),
                "injured": sum(1 for v in victims if v["status"] == "injured"),
                "geom": where,
                "x": ax,
                "y": ay,
            }
        )
        for v in victims:
            out[s.victim].append(
                {
                    "victim_id": v["victim_id"],
                    "accident_id": b["accident_id"],
                    "report_id": e.report_id,
                    "name": v.get("name"),
                    "sex": v.get("sex", "unknown"),
                    "age": v.get("age"),
                    "status": v["status"],
                    "deminer": bool(v.get("deminer", False)),
                    "activity": v.get("activity"),
                    "tampered": v.get("tampered"),
                }
            )
    elif e.type == ReportType.EORE:
        ben = b["beneficiaries"]
        out[s.eore_session].append(
            {
                "session_id": b["session_id"],
                "report_id": e.report_id,
                "organisation": e.organisation,
                "date": date.fromisoformat(b["date"]),
                "location": b.get("location"),
                "method": b.get("method", "direct"),
                "women": ben.get("women", 0),
                "men": ben.get("men", 0),
                "girls": ben.get("girls", 0),
                "boys": ben.get("boys", 0),
                "with_disability": ben.get("with_disability"),
                "geom": e.prepared["point"] if "point" in e.prepared else _point(b.get("point")),
            }
        )
    elif e.type == ReportType.QM:
        ncs = b.get("nonconformities", [])
        out[s.qm_inspection].append(
            {
                "inspection_id": b["inspection_id"],
                "report_id": e.report_id,
                "organisation": e.organisation,
                "inspected_organisation": b["inspected_organisation"],
                "date": date.fromisoformat(b["date"]),
                "kind": b.get("kind", "QA"),
                "hazard_id": b.get("hazard_id"),
                "activity_report_id": b.get("activity_report_id"),
                "nonconformities": ncs,
                "open_corrective_actions": sum(1 for n in ncs if not n.get("closed")),
            }
        )
    elif e.type == ReportType.HANDOVER:
        out[s.handover].append(
            {
                "report_id": e.report_id,
                "hazard_id": b["hazard_id"],
                "organisation": e.organisation,
                "date": date.fromisoformat(b["date"]),
                "recipient": b["recipient"],
                "certificate": b.get("certificate"),
                "community": b.get("community"),
            }
        )
    return out


#: Per-report derived tables, parents before children (the order rows are inserted in).
PER_REPORT: tuple[Table, ...] = (
    s.release_polygon,
    s.activity,
    s.eo_item,
    s.accident,
    s.victim,
    s.eore_session,
    s.qm_inspection,
    s.handover,
)


def insert_rows(conn: Connection, rows: RowsByTable, *, bulk: bool = False) -> None:
    """Insert derived rows, table by table (parents before children).

    ``bulk`` writes through the driver (:func:`~mineaction.store.bulkwrite.insert_many`): the
    same stored values, much faster for a full rebuild.
    """
    for table in PER_REPORT:
        batch = rows.get(table)
        if batch:
            if bulk:
                insert_many(conn, table, batch)
            else:
                conn.execute(insert(table), batch)


def delete_rows_for_report(conn: Connection, report_id: str) -> None:
    """Delete every derived row that came from one report."""
    for table in reversed(PER_REPORT):
        conn.execute(delete(table).where(table.c.report_id == report_id))


@contextmanager
def indexes_set_aside(conn: Connection) -> Iterator[None]:
    """On SQLite, drop the derived tables' secondary indexes for a full rebuild, then rebuild them.

    Building an index once over the finished table is much cheaper than keeping it up to date
    row by row. The same goes for the hazards' R*Tree (migration 0007): its insert trigger is
    set aside too, and the R*Tree is filled at the end from the hazard table in ``rowid``
    order, which is the order the trigger would have inserted the rows of a table filled
    from empty (the same tree). Everything happens inside the caller's write transaction, so
    an interrupted rebuild leaves the indexes (and the rows) as they were; WAL readers keep
    seeing the old state until the commit. PostgreSQL keeps its indexes: dropping one there
    would lock the table against readers for the whole rebuild.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    names = ", ".join(f"'{t.name}'" for t in s.DERIVED_TABLES)
    indexes = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({names}) ORDER BY name"
    ).all()
    for name, _sql in indexes:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    rtree = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
        (f"{s.HAZARD_RTREE}_insert",),
    ).scalar()
    if rtree is not None:
        conn.exec_driver_sql(f'DROP TRIGGER "{s.HAZARD_RTREE}_insert"')
    yield
    for _name, sql in indexes:
        conn.exec_driver_sql(sql)
    if rtree is not None:
        conn.exec_driver_sql(f"DELETE FROM {s.HAZARD_RTREE}")
        conn.exec_driver_sql(
            f"INSERT INTO {s.HAZARD_RTREE} SELECT rowid, minx, maxx, miny, maxy FROM hazard "
            "ORDER BY rowid"
        )
        conn.exec_driver_sql(rtree)


def clear_digests(conn: Connection) -> None:
    """Forget every digest of stored derived rows (see :mod:`mineaction.store.shards`)."""
    conn.execute(delete(s.derived_digest))


def clear_derived(conn: Connection) -> None:
    """Delete all derived rows (before a full recompute), and with them their digests."""
    clear_digests(conn)
    if conn.dialect.name == "postgresql":
        # no digest is left to invalidate: the row triggers may skip this transaction
        conn.exec_driver_sql("SET LOCAL mineaction.derived_writer = 'on'")
    for table in s.DERIVED_TABLES:
        conn.execute(delete(table))


def merge_rows(into: RowsByTable, more: Iterable[tuple[Table, list[dict[str, Any]]]]) -> None:
    """Append rows to a batch."""
    for table, rows in more:
        into.setdefault(table, []).extend(rows)


def get_hazard(conn: Connection, hazard_id: str) -> RowMapping:
    """Return one hazard row or raise :class:`NotFoundError`."""
    row = conn.execute(select(s.hazard).where(s.hazard.c.hazard_id == hazard_id)).mappings().first()
    if row is None:
        raise NotFoundError(
            f"no hazard with id {hazard_id!r} (hazards appear once their first report is approved)"
        )
    return row


def list_hazards(
    conn: Connection,
    *,
    status: str | None = None,
    classification: str | None = None,
    organisation: str | None = None,
    location: str | None = None,
    bbox: Sequence[float] | None = None,
    limit: int | None = None,
    offset: int = 0,
    columns: Iterable[str] | None = None,
) -> list[RowMapping]:
    """Return hazards matching the filters, ordered by id."""
    cols = [s.hazard.c[c] for c in columns] if columns else [s.hazard]
    q = select(*cols).order_by(s.hazard.c.hazard_id).offset(offset)
    if limit is not None:
        q = q.limit(limit)
    if status:
        q = q.where(s.hazard.c.status == status)
    if classification:
        q = q.where(s.hazard.c.classification == classification)
    if organisation:
        q = q.where(s.hazard.c.organisation == organisation)
    if location:
        q = q.where(s.hazard.c.location.startswith(location))
    if bbox:
        x0, y0, x1, y1 = bbox
        q = q.where(
            s.hazard.c.maxx >= x0,
            s.hazard.c.minx <= x1,
            s.hazard.c.maxy >= y0,
            s.hazard.c.miny <= y1,
        )
    return list(conn.execute(q).mappings())


def count_hazards(conn: Connection) -> int:
    """Return the number of hazards."""
    return int(conn.execute(select(func.count()).select_from(s.hazard)).scalar() or 0)

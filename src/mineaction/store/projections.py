"""Writing and reading the derived tables (hazard state and per-report records)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from shapely.geometry import shape
from sqlalchemy import Connection, RowMapping, Table, delete, func, insert, select

from mineaction.core.codes import HazardClassification, HazardStatus, ReportType
from mineaction.core.geometry import geodesic_area_m2, geojson_texts
from mineaction.core.projection import HazardState, LedgerEntry
from mineaction.errors import NotFoundError
from mineaction.store import schema as s
from mineaction.store.bulkwrite import insert_many

RowsByTable = dict[Table, list[dict[str, Any]]]


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

#: The columns of the rows the recompute builds as tuples (:func:`hazard_tuple`,
#: :func:`derived_tuples`), in that order: every column but a surrogate ``id``, in table order
#: (the order of :func:`mineaction.store.shards.compare_columns`).
COLUMNS: dict[Table, tuple[str, ...]] = {
    t: tuple(c.name for c in t.columns if c.name != "id") for t in (s.hazard, *PER_REPORT)
}
_HAZARD_COLUMNS = COLUMNS[s.hazard]
_STATUS = {m: m.value for m in HazardStatus}
_CLASSIFICATION = {m: m.value for m in HazardClassification}


def hazard_tuple(
    state: HazardState,
    geom_geojson: str | None = None,
    bounds: Sequence[float] | None = None,
) -> tuple[Any, ...]:
    """Return the ``hazard`` table row for a projected state as a tuple (``COLUMNS`` order).

    ``geom_geojson`` is the polygon's GeoJSON text and ``bounds`` its bounds when the caller
    made them already (in one vectorised call for a batch, see
    :func:`mineaction.core.geometry.geojson_texts`).
    """
    a = state.areas
    p = state.parts
    x0, y0, x1, y1 = state.polygon.bounds if bounds is None else bounds
    status_reason = state.status_reason
    return (
        state.hazard_id,
        state.organisation,
        state.name,
        _CLASSIFICATION[state.classification],
        _STATUS[state.status],
        status_reason,
        state.location,
        list(state.contamination),
        a.area_m2,
        a.cancelled_m2,
        a.reduced_m2,
        a.cleared_m2,
        a.remaining_m2,
        a.expansion_m2,
        state.estimated_area_m2,
        dict(state.eo_found),
        sum(state.eo_found.values()),
        state.first_date,
        state.last_date,
        state.closed_on,
        state.handed_over_on,
        state.report_count,
        state.last_report_id,
        list(state.flags),
        {
            "evidence": state.evidence,
            "blockages": state.blockages,
            "beneficiaries": state.beneficiaries,
            "activity_types": state.activity_types,
            "explicit_classification": state.explicit_classification,
            "status_reason": status_reason,
        },
        state.polygon,
        p.remaining,
        p.cancelled,
        p.reduced,
        p.cleared,
        p.expansion,
        state.benchmark,
        x0,
        y0,
        x1,
        y1,
        state.report_count,
        geom_geojson if geom_geojson is not None else geojson_texts([state.polygon])[0],
    )


def hazard_row(state: HazardState, geom_geojson: str | None = None) -> dict[str, Any]:
    """Return the ``hazard`` table row for a projected state (see :func:`hazard_tuple`)."""
    return dict(zip(_HAZARD_COLUMNS, hazard_tuple(state, geom_geojson), strict=True))


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
    tuples: TuplesByTable = {t: [] for t in PER_REPORT}
    derived_tuples(e, tuples)
    return {
        t: [dict(zip(COLUMNS[t], row, strict=True)) for row in rows]
        for t, rows in tuples.items()
        if rows
    }


TuplesByTable = dict[Table, list[tuple[Any, ...]]]
_RELEASE_POLYGON, _ACTIVITY_T, _EO_ITEM, _ACCIDENT_T, _VICTIM, _EORE_T, _QM_T, _HANDOVER_T = (
    PER_REPORT
)
_ACTIVITY, _EO, _ACCIDENT, _EORE, _QM, _HANDOVER = (
    ReportType.ACTIVITY,
    ReportType.EO,
    ReportType.ACCIDENT,
    ReportType.EORE,
    ReportType.QM,
    ReportType.HANDOVER,
)


def derived_tuples(e: LedgerEntry, out: TuplesByTable) -> None:
    """Append the rows of the per-report derived tables for one report to ``out`` (tuples).

    ``out`` has a list for every table of ``PER_REPORT``; rows are in ``COLUMNS`` order,
    with the same values as :func:`derived_rows`.
    """
    b = e.body
    t = e.type
    rid = e.report_id
    org = e.organisation
    doi: date = e.date_of_information
    prepared = e.prepared
    if t == _ACTIVITY:
        hid = b["hazard_id"]
        atype = b["activity_type"]
        totals = {"cancelled": 0.0, "reduced": 0.0, "cleared": 0.0}
        geoms = prepared.get("releases")
        rels = b.get("releases", [])
        if rels:
            append = out[_RELEASE_POLYGON].append
            areas = prepared["releases_m2"] if geoms is not None else None
            for i, rel in enumerate(rels):
                if geoms is None or areas is None:
                    geom = shape(rel["polygon"])
                    m2 = geodesic_area_m2(geom)
                else:
                    geom, m2 = geoms[i], areas[i]
                outcome = rel["outcome"]
                totals[outcome] += m2
                append(
                    (
                        rid,
                        hid,
                        org,
                        doi,
                        atype,
                        outcome,
                        rel.get("method") or b.get("method"),
                        rel.get("depth_cm") or b.get("clearance_depth_cm"),
                        rel.get("reported_m2"),
                        m2,
                        geom,
                    )
                )
        end = b.get("end_date")
        out[_ACTIVITY_T].append(
            (
                rid,
                hid,
                org,
                atype,
                b.get("stage", "progress"),
                b.get("method"),
                b.get("team"),
                b.get("team_days"),
                date.fromisoformat(b["start_date"]),
                date.fromisoformat(end) if end else None,
                doi,
                b.get("clearance_depth_cm"),
                totals["cancelled"],
                totals["reduced"],
                totals["cleared"],
                None,
            )
        )
        items: list[dict[str, Any]] = b.get("eo_items", [])
        source = "activity"
    elif t == _EO:
        items = b.get("items", [])
        source = "spot"
    else:
        items = []
        source = ""
    if items:
        points = prepared.get("eo_points")
        xys = prepared.get("eo_xy")
        ihid = b.get("hazard_id")
        append = out[_EO_ITEM].append
        for j, item in enumerate(items):
            if points is None or xys is None:
                point = _point(item.get("point"))
                x, y = point_xy(point)
            else:
                point = points[j]
                x, y = xys[j]
            append(
                (
                    rid,
                    ihid,
                    org,
                    doi,
                    source,
                    item["category"],
                    item.get("model"),
                    item.get("quantity", 1),
                    item.get("condition"),
                    item.get("disposal"),
                    item.get("depth_cm"),
                    point,
                    x,
                    y,
                )
            )
    if t == _ACCIDENT:
        victims = b.get("victims", [])
        if "point_xy" in prepared:
            where, (ax, ay) = prepared["point"], prepared["point_xy"]
        else:
            where = shape(b["point"])
            ax, ay = point_xy(where)
        accident_id = b["accident_id"]
        out[_ACCIDENT_T].append(
            (
                accident_id,
                rid,
                org,
                date.fromisoformat(b["date"]),
                b["device_category"],
                bool(b.get("demining", False)),
                b.get("hazard_id"),
                b.get("location"),
                sum(1 for v in victims if v["status"] == "killed"),
                sum(1 for v in victims if v["status"] == "injured"),
                where,
                ax,
                ay,
            )
        )
        for v in victims:
            out[_VICTIM].append(
                (
                    v["victim_id"],
                    accident_id,
                    rid,
                    v.get("name"),
                    v.get("sex", "unknown"),
                    v.get("age"),
                    v["status"],
                    bool(v.get("deminer", False)),
                    v.get("activity"),
                    v.get("tampered"),
                )
            )
    elif t == _EORE:
        ben = b["beneficiaries"]
        out[_EORE_T].append(
            (
                b["session_id"],
                rid,
                org,
                date.fromisoformat(b["date"]),
                b.get("location"),
                b.get("method", "direct"),
                ben.get("women", 0),
                ben.get("men", 0),
                ben.get("girls", 0),
                ben.get("boys", 0),
                ben.get("with_disability"),
                prepared["point"] if "point" in prepared else _point(b.get("point")),
            )
        )
    elif t == _QM:
        ncs = b.get("nonconformities", [])
        out[_QM_T].append(
            (
                b["inspection_id"],
                rid,
                org,
                b["inspected_organisation"],
                date.fromisoformat(b["date"]),
                b.get("kind", "QA"),
                b.get("hazard_id"),
                b.get("activity_report_id"),
                ncs,
                sum(1 for n in ncs if not n.get("closed")),
            )
        )
    elif t == _HANDOVER:
        out[_HANDOVER_T].append(
            (
                rid,
                b["hazard_id"],
                org,
                date.fromisoformat(b["date"]),
                b["recipient"],
                b.get("certificate"),
                b.get("community"),
            )
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

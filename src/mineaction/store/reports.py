"""The report ledger: insert, read and move reports through the workflow (never edit content)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, RowMapping, func, insert, select, update

from mineaction.core.codes import ReportState, ReportType
from mineaction.core.projection import LedgerEntry
from mineaction.errors import NotFoundError
from mineaction.store.schema import audit_log, report, report_event

#: Remote address of the request being served (set by the web layer; recorded in the audit log).
audit_remote: ContextVar[str | None] = ContextVar("audit_remote", default=None)


def now() -> datetime:
    """Return the current UTC time."""
    return datetime.now(UTC)


def insert_report(
    conn: Connection,
    *,
    payload: dict[str, Any],
    warnings: list[str],
    submitted_by: str | None,
    source_system: str | None = None,
    source_key: str | None = None,
) -> int:
    """Insert a submitted report; return its sequence number."""
    body = payload[payload["type"]]
    at = now()
    result = conn.execute(
        insert(report).values(
            report_id=payload["report_id"],
            type=payload["type"],
            organisation=payload["organisation"],
            hazard_id=body.get("hazard_id"),
            date_of_information=date.fromisoformat(payload["date_of_information"]),
            state=ReportState.SUBMITTED.value,
            payload=payload,
            warnings=warnings,
            source_system=source_system,
            source_key=source_key,
            supersedes=payload.get("supersedes"),
            submitted_at=at,
            submitted_by=submitted_by,
            version=1,
        )
    )
    conn.execute(
        insert(report_event).values(
            report_id=payload["report_id"],
            at=at,
            actor=submitted_by,
            action="submit",
            from_state=None,
            to_state=ReportState.SUBMITTED.value,
        )
    )
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


def insert_reports(
    conn: Connection, items: Sequence[dict[str, Any]], *, actor: str | None = None
) -> None:
    """Insert many submitted reports at once (bulk import), with their events and audit lines.

    Each item has ``payload``, ``warnings``, ``submitted_by``, ``source_system``, ``source_key``.
    """
    at = now()
    rows, events, audits = [], [], []
    for item in items:
        payload = item["payload"]
        body = payload[payload["type"]]
        rows.append(
            {
                "report_id": payload["report_id"],
                "type": payload["type"],
                "organisation": payload["organisation"],
                "hazard_id": body.get("hazard_id"),
                "date_of_information": date.fromisoformat(payload["date_of_information"]),
                "state": ReportState.SUBMITTED.value,
                "payload": payload,
                "warnings": item["warnings"],
                "source_system": item.get("source_system"),
                "source_key": item.get("source_key"),
                "supersedes": payload.get("supersedes"),
                "submitted_at": at,
                "submitted_by": item.get("submitted_by"),
                "version": 1,
            }
        )
        events.append(
            {
                "report_id": payload["report_id"],
                "at": at,
                "actor": item.get("submitted_by"),
                "action": "submit",
                "from_state": None,
                "to_state": ReportState.SUBMITTED.value,
                "reason": None,
            }
        )
        audits.append(
            {
                "at": at,
                "actor": actor or item.get("submitted_by"),
                "action": "submit",
                "entity": "report",
                "entity_id": payload["report_id"],
                "details": None,
                "remote": None,
            }
        )
    if rows:
        conn.execute(insert(report), rows)
        conn.execute(insert(report_event), events)
        conn.execute(insert(audit_log), audits)


def get_report(conn: Connection, report_id: str) -> RowMapping:
    """Return one report row or raise :class:`NotFoundError`."""
    row = conn.execute(select(report).where(report.c.report_id == report_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no report with id {report_id!r}")
    return row


def find_report(conn: Connection, report_id: str) -> RowMapping | None:
    """Return one report row or None."""
    return conn.execute(select(report).where(report.c.report_id == report_id)).mappings().first()


def list_reports(
    conn: Connection,
    *,
    state: str | None = None,
    type: str | None = None,
    hazard_id: str | None = None,
    organisation: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[RowMapping]:
    """Return reports (newest first) matching the filters."""
    q = select(report).order_by(report.c.seq.desc()).limit(limit).offset(offset)
    if state:
        q = q.where(report.c.state == state)
    if type:
        q = q.where(report.c.type == type)
    if hazard_id:
        q = q.where(report.c.hazard_id == hazard_id)
    if organisation:
        q = q.where(report.c.organisation == organisation)
    return list(conn.execute(q).mappings())


def count_by_state(conn: Connection) -> dict[str, int]:
    """Return the number of reports per workflow state."""
    rows = conn.execute(select(report.c.state, func.count()).group_by(report.c.state))
    return {r[0]: int(r[1]) for r in rows}


def next_approval_seq(conn: Connection) -> int:
    """Return the next approval sequence number (approval order breaks date ties)."""
    current = conn.execute(select(func.max(report.c.approval_seq))).scalar()
    return int(current or 0) + 1


def set_state(
    conn: Connection,
    report_id: str,
    *,
    from_state: str,
    to_state: str,
    actor: str | None,
    action: str,
    reason: str | None = None,
    approval_seq: int | None = None,
) -> None:
    """Move a report to another workflow state and record the event."""
    at = now()
    values: dict[str, Any] = {"state": to_state, "version": report.c.version + 1}
    if to_state == ReportState.APPROVED.value:
        values.update(approval_seq=approval_seq, approved_at=at, approved_by=actor)
    if reason is not None:
        values["reason"] = reason
    if to_state in (ReportState.UNAPPROVED.value, ReportState.SUPERSEDED.value):
        values["approval_seq"] = None
    conn.execute(
        update(report)
        .where(report.c.report_id == report_id, report.c.state == from_state)
        .values(**values)
    )
    conn.execute(
        insert(report_event).values(
            report_id=report_id,
            at=at,
            actor=actor,
            action=action,
            from_state=from_state,
            to_state=to_state,
            reason=reason,
        )
    )


def events(conn: Connection, report_id: str) -> list[RowMapping]:
    """Return the workflow history of a report."""
    q = select(report_event).where(report_event.c.report_id == report_id)
    return list(conn.execute(q.order_by(report_event.c.id)).mappings())


def to_entry(row: RowMapping) -> LedgerEntry:
    """Turn an approved report row into a projection entry."""
    return LedgerEntry(
        report_id=row["report_id"],
        type=ReportType(row["type"]),
        organisation=row["organisation"],
        date_of_information=row["date_of_information"],
        approval_seq=int(row["approval_seq"] or 0),
        payload=row["payload"],
    )


_ENTRY_COLS = (
    report.c.report_id,
    report.c.type,
    report.c.organisation,
    report.c.date_of_information,
    report.c.approval_seq,
    report.c.payload,
    report.c.hazard_id,
)


def approved_for_hazard(conn: Connection, hazard_id: str) -> list[LedgerEntry]:
    """Return the approved reports of one hazard in application order."""
    q = (
        select(*_ENTRY_COLS)
        .where(report.c.hazard_id == hazard_id, report.c.state == ReportState.APPROVED.value)
        .order_by(report.c.date_of_information, report.c.approval_seq)
    )
    return [to_entry(r) for r in conn.execute(q).mappings()]


def iter_approved(
    conn: Connection, *, as_of: date | None = None, types: Sequence[str] | None = None
) -> Iterator[tuple[str | None, LedgerEntry]]:
    """Yield ``(hazard_id, entry)`` for every approved report, grouped by hazard, in order.

    With ``as_of`` only reports with date of information up to that date are used.
    """
    q = (
        select(*_ENTRY_COLS)
        .where(report.c.state == ReportState.APPROVED.value)
        .order_by(report.c.hazard_id, report.c.date_of_information, report.c.approval_seq)
    )
    if as_of is not None:
        q = q.where(report.c.date_of_information <= as_of)
    if types:
        q = q.where(report.c.type.in_(list(types)))
    # Statement-level option: Connection.execution_options() would change ``conn`` in place
    # and make every later statement on it (e.g. inserts) use a server-side cursor.
    result = conn.execute(q.execution_options(yield_per=5000)).mappings()
    for row in result:
        yield row["hazard_id"], to_entry(row)


def audit(
    conn: Connection,
    *,
    actor: str | None,
    action: str,
    entity: str,
    entity_id: str | None,
    details: dict[str, Any] | None = None,
    remote: str | None = None,
) -> None:
    """Append one line to the audit log."""
    conn.execute(
        insert(audit_log).values(
            at=now(),
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            details=details,
            remote=remote if remote is not None else audit_remote.get(),
        )
    )


_RAW_APPROVED = (
    "SELECT report_id, type, organisation, date_of_information, approval_seq, {payload}, "
    "hazard_id FROM report{index} WHERE state = 'approved'{where} "
    "ORDER BY hazard_id, date_of_information, approval_seq"
)
#: On SQLite, walk the (hazard_id, state) index: rows come out grouped by hazard and only
#: each hazard's few reports are sorted, instead of the planner's choice (the state index,
#: then one sort of every approved report with its payload: a third more CPU).
_SQLITE_ORDER_INDEX = " INDEXED BY ix_report_hazard"


def iter_approved_raw(
    conn: Connection,
    *,
    hazards: tuple[str | None, str | None] | None = None,
    no_hazard: tuple[str | None, str | None] | None = None,
) -> Iterator[tuple[str | None, LedgerEntry]]:
    """Yield the same as :func:`iter_approved` (no filters), read through the driver.

    The full recompute reads every approved report: going straight to the driver (payload
    parsed with orjson, no SQLAlchemy result processing) halves the cost of reading. With
    ``hazards=(after, upto)`` only reports of hazards with ``after < hazard_id <= upto`` are
    read (either bound may be None: open; reports without a hazard never); with
    ``no_hazard=(after, upto)`` only reports without a hazard and with
    ``after < report_id <= upto``. These are the shards of a parallel recompute.
    """
    pg = conn.dialect.name == "postgresql"
    mark = "%s" if pg else "?"
    where, params = "", []
    if hazards is not None or no_hazard is not None:
        column = "hazard_id" if no_hazard is None else "report_id"
        after, upto = hazards if hazards is not None else no_hazard  # type: ignore[misc]
        parts = ["hazard_id IS NOT NULL" if no_hazard is None else "hazard_id IS NULL"]
        if after is not None:
            parts.append(f"{column} > {mark}")
            params.append(after)
        if upto is not None:
            parts.append(f"{column} <= {mark}")
            params.append(upto)
        where = " AND " + " AND ".join(parts)
    sql = _RAW_APPROVED.format(
        payload="payload::text" if pg else "payload",
        index="" if pg else _SQLITE_ORDER_INDEX,
        where=where,
    )
    raw: Any = conn.connection.driver_connection
    cur = raw.cursor(name="mineaction_recompute") if pg else raw.cursor()
    loads = orjson.loads
    entry = LedgerEntry.trusted
    types = {t.value: t for t in ReportType}
    dates: dict[Any, date] = {}  # a few thousand distinct dates over the whole ledger
    try:
        cur.execute(sql, params)
        # SQLite: row by row from the cursor, no list of rows with their payloads kept alive
        # (cheaper: fewer cache misses); psycopg's server-side cursor: in batches (its
        # iterator is Python code around the same fetches)
        batches = iter(lambda: cur.fetchmany(5000), []) if pg else (cur,)
        for rows in batches:
            for rid, rtype, org, doi, seq, payload, hid in rows:
                day = dates.get(doi)
                if day is None:
                    day = dates[doi] = doi if pg else date.fromisoformat(doi)
                yield hid, entry(rid, types[rtype], org, day, int(seq or 0), loads(payload))
    finally:
        cur.close()

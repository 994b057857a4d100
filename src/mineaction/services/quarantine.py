"""The quarantine: records that failed validation on import, and what a reviewer does with them.

A quarantined record keeps every reason (file, row or submission id, field, message), the raw
record and, for an invalid polygon, the proposed repaired geometry (``make_valid``), which is
never applied silently. A record is resolved in one of four ways, each audited:

- ``reimported``: a later import of the same submission (e.g. edited on Central/Kobo) passed;
- ``discarded``: a reviewer set it aside, with a reason;
- ``resubmitted``: a reviewer submitted a corrected report document in its place;
- ``repaired``: a reviewer accepted the proposed repaired geometry explicitly.

Resubmitted and repaired records become *submitted* reports: they still go through review.
Every action takes the record's ``version`` (``If-Match`` over the API): a stale one is refused.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select, update

from mineaction.errors import ConflictError, NotFoundError, StaleVersionError, ValidationError
from mineaction.services import ledger
from mineaction.store import reports as repo
from mineaction.store import schema as s
from mineaction.store.engine import Store

q = s.quarantine
#: Summary columns of a listing (the raw record and repairs are in the single view).
SUMMARY = (
    "id",
    "batch_id",
    "at",
    "organisation",
    "filename",
    "record",
    "source_key",
    "form_id",
    "field",
    "message",
    "resolved",
    "resolution",
    "resolved_at",
    "resolved_by",
    "report_id",
    "version",
)


def _iso(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


def _summary(row: RowMapping) -> dict[str, Any]:
    out = {c: _iso(row[c]) for c in SUMMARY}
    out["repair_proposed"] = bool(row["repairs"])
    return out


def list_records(
    store: Store,
    *,
    organisation: str | None = None,
    batch_id: str | None = None,
    form_id: str | None = None,
    status: str = "open",
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Return quarantined records (newest first) and their total; ``status`` open|resolved|all."""
    conds = []
    if organisation:
        conds.append(q.c.organisation == organisation)
    if batch_id:
        conds.append(q.c.batch_id == batch_id)
    if form_id:
        conds.append(q.c.form_id == form_id)
    if status == "open":
        conds.append(q.c.resolved.is_(False))
    elif status == "resolved":
        conds.append(q.c.resolved.is_(True))
    with store.read() as conn:
        total = conn.execute(select(func.count()).select_from(q).where(*conds)).scalar_one()
        rows = conn.execute(
            select(q).where(*conds).order_by(q.c.id.desc()).limit(limit).offset(offset)
        ).mappings()
        return [_summary(r) for r in rows], int(total)


def _row(conn: Connection, record_id: int, organisation: str | None) -> RowMapping:
    row = conn.execute(select(q).where(q.c.id == record_id)).mappings().first()
    if row is None or (organisation is not None and row["organisation"] != organisation):
        raise NotFoundError(f"no quarantined record {record_id}")
    return row


def get_record(store: Store, record_id: int, *, organisation: str | None = None) -> dict[str, Any]:
    """Return one quarantined record with every reason, the raw record and proposed repairs."""
    with store.read() as conn:
        row = _row(conn, record_id, organisation)
    out = _summary(row)
    out["problems"] = list(row["problems"] or [])
    out["raw"] = row["raw"]
    out["resolution_note"] = row["resolution_note"]
    out["repairs"] = [
        {k: r.get(k) for k in ("field", "reason", "proposed")} for r in (row["repairs"] or [])
    ]
    return out


def _open_row(
    conn: Connection, record_id: int, organisation: str | None, version: int | None
) -> RowMapping:
    row = _row(conn, record_id, organisation)
    if version is not None and int(row["version"]) != version:
        raise StaleVersionError(
            f"quarantined record {record_id} is at version {row['version']}, not {version}: "
            "someone acted on it meanwhile; reload it"
        )
    if row["resolved"]:
        how = row["resolution"] or "reimported"
        raise ConflictError(f"quarantined record {record_id} is already resolved ({how})")
    return row


def _resolve(
    conn: Connection,
    row: RowMapping,
    *,
    resolution: str,
    actor: str | None,
    note: str | None = None,
    report_id: str | None = None,
) -> None:
    conn.execute(
        update(q)
        .where(q.c.id == row["id"])
        .values(
            resolved=True,
            resolution=resolution,
            resolved_at=repo.now(),
            resolved_by=actor,
            resolution_note=note,
            report_id=report_id,
            version=q.c.version + 1,
        )
    )
    repo.audit(
        conn,
        actor=actor,
        action=f"quarantine_{resolution}",
        entity="quarantine",
        entity_id=str(row["id"]),
        details={"note": note, "report_id": report_id, "batch_id": row["batch_id"]},
    )


def discard(
    store: Store,
    record_id: int,
    *,
    reason: str,
    actor: str | None = None,
    organisation: str | None = None,
    version: int | None = None,
) -> None:
    """Set a quarantined record aside for good, with a reason (it stays, marked discarded)."""
    if not reason.strip():
        raise ValidationError("discarding a record needs a reason", where="reason")
    with store.write() as conn:
        row = _open_row(conn, record_id, organisation, version)
        _resolve(conn, row, resolution="discarded", actor=actor, note=reason.strip())


def _system(conn: Connection, row: RowMapping) -> str:
    for r in row["repairs"] or []:
        if r.get("system"):
            return str(r["system"])
    fmt = conn.execute(
        select(s.import_batch.c.format).where(s.import_batch.c.batch_id == row["batch_id"])
    ).scalar()
    fmt = str(fmt or "")
    if fmt.startswith("odk"):
        return "odk-central"
    if fmt.startswith("kobo"):
        return "kobo"
    return "gis"


def resubmit(
    store: Store,
    record_id: int,
    document: dict[str, Any],
    *,
    actor: str | None = None,
    organisation: str | None = None,
    version: int | None = None,
) -> ledger.SubmitResult:
    """Submit a corrected report document in place of a quarantined record (for review).

    The document must be of the record's organisation; it keeps the submission's identity
    (source key), so a later re-import of the original is recognised.
    """
    if not isinstance(document, dict):
        raise ValidationError("the corrected record must be a report document (JSON object)")
    with store.write() as conn:
        row = _open_row(conn, record_id, organisation, version)
        if document.get("organisation") != row["organisation"]:
            raise ValidationError(
                f"the corrected report must be of organisation {row['organisation']!r}",
                where="report.organisation",
            )
        result = ledger.submit_in(
            conn,
            document,
            submitted_by=actor,
            where=f"quarantine {record_id}",
            source_system=_system(conn, row),
            source_key=row["source_key"],
        )
        _resolve(
            conn,
            row,
            resolution="resubmitted",
            actor=actor,
            note=f"corrected report {result.report_id} submitted",
            report_id=result.report_id,
        )
    return result


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a report path such as ``activity.releases[0].polygon``.

    >>> d = {"activity": {"releases": [{"polygon": 1}]}}
    >>> set_path(d, "activity.releases[0].polygon", 2); d["activity"]["releases"][0]["polygon"]
    2
    """
    parts: list[str | int] = [
        m.group(1) if m.group(1) is not None else int(m.group(2)) for m in _PART.finditer(path)
    ]
    if not parts:
        raise ValidationError(f"cannot apply a repair at {path!r}")
    target: Any = doc
    for part in parts[:-1]:
        target = target[part]
    target[parts[-1]] = value


def accept_repair(
    store: Store,
    record_id: int,
    *,
    actor: str | None = None,
    organisation: str | None = None,
    version: int | None = None,
) -> ledger.SubmitResult:
    """Submit the record with its proposed repaired geometry, accepted explicitly by ``actor``.

    The report notes the repair in ``extensions.geometry_repair`` (field, reason, accepted by);
    it is *submitted*, so it still goes through review.
    """
    with store.write() as conn:
        row = _open_row(conn, record_id, organisation, version)
        repairs = [r for r in row["repairs"] or [] if r.get("document") and r.get("proposed")]
        if not repairs:
            raise ConflictError(f"quarantined record {record_id} has no proposed repair")
        doc = dict(repairs[0]["document"])
        for r in repairs:
            try:
                set_path(doc, str(r["field"]), r["proposed"])
            except (KeyError, IndexError, TypeError):
                raise ConflictError(
                    f"the repair of {r['field']!r} no longer fits the record"
                ) from None
        doc["extensions"] = {
            **(doc.get("extensions") or {}),
            "geometry_repair": [
                {"field": r["field"], "reason": r["reason"], "accepted_by": actor} for r in repairs
            ],
        }
        result = ledger.submit_in(
            conn,
            doc,
            submitted_by=actor,
            where=f"quarantine {record_id} (repaired)",
            source_system=_system(conn, row),
            source_key=row["source_key"],
        )
        _resolve(
            conn,
            row,
            resolution="repaired",
            actor=actor,
            note=f"repaired geometry accepted; report {result.report_id} submitted",
            report_id=result.report_id,
        )
    return result

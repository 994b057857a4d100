"""Bulk loading of many reports at once (demo programme, migrations from other systems).

Loading hundreds of thousands of reports one by one through :func:`ledger.submit` and
:func:`ledger.approve` re-projects a hazard per report; here every report is validated exactly
as :func:`ledger.submit` does, inserted in batches, approved in date order and the projection is
rebuilt once at the end. The result is the same as approving the reports one by one in order of
date of information (ties: the order given), and the whole load is one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, func, insert, select, text, update

from mineaction.core.codes import ReportState
from mineaction.core.reports import normalise_report, parse_report
from mineaction.errors import ConflictError, NotFoundError
from mineaction.services import ledger
from mineaction.store import reports as ledger_store
from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.store.settings import programme_area

Progress = Callable[[int], None]
#: ``timestamps(payload) -> (submitted_at, approved_at)``; default: now for both.
Timestamps = Callable[[Mapping[str, Any]], tuple[datetime, datetime]]


@dataclass
class BulkResult:
    """What a bulk load did."""

    new: int = 0
    duplicate: int = 0
    approved: int = 0
    superseded: int = 0
    warnings: int = 0
    hazards: int | None = None
    recomputed: bool = False
    warning_samples: list[str] = field(default_factory=list)


def _canonical_bytes(payload: Mapping[str, Any]) -> bytes:
    canon = {k: v for k, v in payload.items() if k != "submitted_by"}
    return orjson.dumps(canon, option=orjson.OPT_SORT_KEYS)


def _digest(payload: Mapping[str, Any]) -> bytes:
    return hashlib.blake2b(_canonical_bytes(payload), digest_size=16).digest()


def _now_pair(_payload: Mapping[str, Any]) -> tuple[datetime, datetime]:
    at = ledger_store.now()
    return at, at


class _Loader:
    def __init__(
        self,
        conn: Connection,
        *,
        approve: bool,
        actor: str | None,
        submitted_by: str | None,
        timestamps: Timestamps,
        result: BulkResult,
    ) -> None:
        self.conn = conn
        self.approve = approve
        self.actor = actor
        self.submitted_by = submitted_by
        self.timestamps = timestamps
        self.result = result
        self.area = programme_area(conn)
        self.seen: dict[str, bytes] = {}
        self.supersedes: list[tuple[str, str]] = []

    def prepare(self, doc: Any, index: int) -> dict[str, Any] | None:
        rid = doc.get("report_id") if isinstance(doc, Mapping) else None
        where = f"report {index + 1}" + (f" ({rid})" if rid else "")
        report = parse_report(doc, where=where)
        payload, warnings = normalise_report(report, programme_area=self.area)
        # Round-trip through JSON so that the payload is exactly what the database returns.
        payload = orjson.loads(orjson.dumps(payload))
        digest = _digest(payload)
        earlier = self.seen.get(report.report_id)
        if earlier is not None:
            if earlier != digest:
                raise ConflictError(
                    f"report_id {report.report_id!r} appears twice with different content",
                    where=where,
                )
            self.result.duplicate += 1
            return None
        self.seen[report.report_id] = digest
        if warnings:
            self.result.warnings += len(warnings)
            if len(self.result.warning_samples) < 20:
                self.result.warning_samples.extend(f"{report.report_id}: {w}" for w in warnings)
        payload["_warnings"] = warnings
        return payload

    def flush(self, batch: list[dict[str, Any]]) -> None:
        if not batch:
            return
        ids = [p["report_id"] for p in batch]
        existing = {
            r.report_id: r.payload
            for r in self.conn.execute(
                select(s.report.c.report_id, s.report.c.payload).where(
                    s.report.c.report_id.in_(ids)
                )
            )
        }
        reports: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for payload in batch:
            warnings = payload.pop("_warnings")
            rid = payload["report_id"]
            if rid in existing:
                if _canonical_bytes(existing[rid]) != _canonical_bytes(payload):
                    raise ConflictError(
                        f"report_id {rid!r} already exists with different content; to correct "
                        "it submit a new report with a new report_id and "
                        f'"supersedes": "{rid}"',
                        where=f"report {rid}",
                    )
                self.result.duplicate += 1
                continue
            submitted_at, approved_at = self.timestamps(payload)
            body = payload[payload["type"]]
            state = ReportState.APPROVED.value if self.approve else ReportState.SUBMITTED.value
            reports.append(
                {
                    "report_id": rid,
                    "type": payload["type"],
                    "organisation": payload["organisation"],
                    "hazard_id": body.get("hazard_id"),
                    "date_of_information": date.fromisoformat(payload["date_of_information"]),
                    "state": state,
                    "payload": payload,
                    "warnings": warnings,
                    "source_system": None,
                    "source_key": None,
                    "supersedes": payload.get("supersedes"),
                    "submitted_at": submitted_at,
                    "submitted_by": payload.get("submitted_by") or self.submitted_by,
                    "approval_seq": None,
                    "approved_at": approved_at if self.approve else None,
                    "approved_by": self.actor if self.approve else None,
                    "reason": None,
                    "version": 2 if self.approve else 1,
                }
            )
            events.append(
                {
                    "report_id": rid,
                    "at": submitted_at,
                    "actor": payload.get("submitted_by") or self.submitted_by,
                    "action": "submit",
                    "from_state": None,
                    "to_state": ReportState.SUBMITTED.value,
                    "reason": None,
                }
            )
            if self.approve:
                events.append(
                    {
                        "report_id": rid,
                        "at": approved_at,
                        "actor": self.actor,
                        "action": "approve",
                        "from_state": ReportState.SUBMITTED.value,
                        "to_state": ReportState.APPROVED.value,
                        "reason": "bulk load",
                    }
                )
                if payload.get("supersedes"):
                    self.supersedes.append((rid, payload["supersedes"]))
        if reports:
            self.conn.execute(insert(s.report), reports)
            self.conn.execute(insert(s.report_event), events)
            self.result.new += len(reports)
            if self.approve:
                self.result.approved += len(reports)

    def assign_approval_order(self) -> None:
        """Number the newly approved reports by date of information, then input order."""
        base = int(self.conn.execute(select(func.max(s.report.c.approval_seq))).scalar() or 0)
        self.conn.execute(
            text(
                "UPDATE report SET approval_seq = :base + o.rn FROM ("
                " SELECT seq AS s, ROW_NUMBER() OVER (ORDER BY date_of_information, seq) AS rn"
                " FROM report WHERE state = 'approved' AND approval_seq IS NULL) AS o"
                " WHERE report.seq = o.s"
            ),
            {"base": base},
        )

    def apply_supersedes(self) -> None:
        """Mark reports replaced by newly approved corrections as superseded."""
        for rid, old_id in self.supersedes:
            old = ledger_store.find_report(self.conn, old_id)
            if old is None:
                raise NotFoundError(
                    f"report {rid} supersedes {old_id!r}, which does not exist",
                    where=f"report {rid}",
                )
            if old["state"] == ReportState.SUPERSEDED.value:
                continue
            _sub, at = self.timestamps(old["payload"])
            self.conn.execute(
                update(s.report)
                .where(s.report.c.report_id == old_id)
                .values(
                    state=ReportState.SUPERSEDED.value,
                    approval_seq=None,
                    reason=f"superseded by {rid}",
                    version=s.report.c.version + 1,
                )
            )
            self.conn.execute(
                insert(s.report_event).values(
                    report_id=old_id,
                    at=at,
                    actor=self.actor,
                    action="supersede",
                    from_state=old["state"],
                    to_state=ReportState.SUPERSEDED.value,
                    reason=f"superseded by {rid}",
                )
            )
            self.result.superseded += 1


def load_reports_in(
    conn: Connection,
    docs: Iterable[Any],
    *,
    approve: bool = True,
    actor: str | None = None,
    submitted_by: str | None = None,
    progress: Progress | None = None,
    timestamps: Timestamps | None = None,
    batch: int = 1000,
    recompute: bool = True,
    recompute_progress: Progress | None = None,
) -> BulkResult:
    """Load reports inside an open write transaction (see :func:`load_reports`)."""
    result = BulkResult()
    loader = _Loader(
        conn,
        approve=approve,
        actor=actor,
        submitted_by=submitted_by,
        timestamps=timestamps or _now_pair,
        result=result,
    )
    pending: list[dict[str, Any]] = []
    for i, doc in enumerate(docs):
        payload = loader.prepare(doc, i)
        if payload is not None:
            pending.append(payload)
        if len(pending) >= batch:
            loader.flush(pending)
            if progress:
                progress(len(pending))
            pending = []
    loader.flush(pending)
    if progress and pending:
        progress(len(pending))
    if approve and result.new:
        loader.assign_approval_order()
        loader.apply_supersedes()
        if recompute:
            rec = ledger.recompute_in(conn, progress=recompute_progress)
            if rec.errors:
                more = f" (and {len(rec.errors) - 5} more)" if len(rec.errors) > 5 else ""
                raise ConflictError(
                    "the loaded reports break the hazard rules, nothing was loaded: "
                    + "; ".join(rec.errors[:5])
                    + more
                )
            result.hazards = rec.hazards
            result.recomputed = True
    if result.new:
        ledger_store.audit(
            conn,
            actor=actor,
            action="bulk_load",
            entity="ledger",
            entity_id=None,
            details={
                "new": result.new,
                "duplicate": result.duplicate,
                "approved": result.approved,
            },
        )
    return result


def load_reports(
    store: Store,
    docs: Iterable[Any],
    *,
    approve: bool = True,
    actor: str | None = None,
    submitted_by: str | None = None,
    progress: Progress | None = None,
    timestamps: Timestamps | None = None,
    batch: int = 1000,
) -> BulkResult:
    """Validate, insert and (by default) approve many reports in one transaction.

    Every document is checked like :func:`ledger.submit` (report format, geometry checks,
    programme area). Reports whose ``report_id`` is already stored with identical content are
    skipped; a different content under an existing id raises :class:`ConflictError` and nothing
    is loaded. Approved reports are numbered in order of date of information (ties: the order
    given) after any earlier approvals, and every projection is rebuilt once at the end; a
    report that breaks a hazard rule aborts the whole load. ``progress(n)`` is called as
    batches of ``n`` documents are stored.
    """
    with store.write() as conn:
        return load_reports_in(
            conn,
            docs,
            approve=approve,
            actor=actor,
            submitted_by=submitted_by,
            progress=progress,
            timestamps=timestamps,
            batch=batch,
        )


def reject_in(
    conn: Connection,
    reasons: Mapping[str, str],
    *,
    actor: str | None = None,
    at: Callable[[str], datetime] | None = None,
) -> int:
    """Reject pending reports ``{report_id: reason}`` inside an open write transaction."""
    n = 0
    for rid, reason in reasons.items():
        row = ledger_store.get_report(conn, rid)
        if row["state"] not in ledger.PENDING_STATES:
            raise ConflictError(f"report {rid} is {row['state']}; it cannot be rejected")
        when = at(rid) if at else ledger_store.now()
        conn.execute(
            update(s.report)
            .where(s.report.c.report_id == bindparam("rid"))
            .values(
                state=ReportState.REJECTED.value, reason=reason, version=s.report.c.version + 1
            ),
            {"rid": rid},
        )
        conn.execute(
            insert(s.report_event).values(
                report_id=rid,
                at=when,
                actor=actor,
                action="reject",
                from_state=row["state"],
                to_state=ReportState.REJECTED.value,
                reason=reason,
            )
        )
        n += 1
    return n

"""The ledger as it stood at a cut-off time, replayed in memory.

A report is in the picture at time T when its last workflow event up to T made it
*approved* (so a report approved before T and unapproved later still counts, and one approved
after T does not). Hazards are re-projected from those reports; the per-report records (released
polygons, EO, accidents, EORE, QM, handovers) are rebuilt from them. Nothing is read from the
stored projection, so a report for any past cut-off is exact and reproducible.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, select

from mineaction.core.codes import HazardClassification, HazardStatus, ReportState, ReportType
from mineaction.core.projection import (
    HAZARD_REPORT_TYPES,
    HazardState,
    LedgerEntry,
    Step,
    apply,
)
from mineaction.core.reporting import ledger_hash, payload_hash
from mineaction.errors import MineActionError
from mineaction.store import projections as proj
from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.store.settings import get_setting

#: Hazard classifications that count as contamination (EOD spot tasks do not).
CONTAMINATION_CLASSES = (HazardClassification.SHA, HazardClassification.CHA)
#: Hazard statuses that still hold contamination.
OPEN_STATUSES = (HazardStatus.OPEN, HazardStatus.WORKED_ON)


def utc(value: datetime) -> datetime:
    """Return an aware UTC datetime (naive values from SQLite are UTC).

    >>> utc(datetime(2026, 1, 1)).isoformat()
    '2026-01-01T00:00:00+00:00'
    """
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def end_of_day(day: date) -> datetime:
    """Return the last instant of a UTC day (the cut-off of ``--as-of DAY``).

    >>> end_of_day(date(2026, 6, 30)).isoformat()
    '2026-06-30T23:59:59.999999+00:00'
    """
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC) - timedelta(
        microseconds=1
    )


@dataclass
class Location:
    """A gazetteer entry (admin area or settlement)."""

    pcode: str
    name: str
    admin_level: int
    parent_pcode: str | None
    population: int | None
    geom: BaseGeometry | None


@dataclass
class Snapshot:
    """Approved reports up to a cut-off, with hazards and records replayed from them."""

    cut_off: datetime
    entries: list[LedgerEntry]
    ledger_hash: str
    programme: str | None
    locations: dict[str, Location]
    organisations: dict[str, str]
    tasks: list[dict[str, Any]]
    hazards: dict[str, HazardState] = field(default_factory=dict)
    steps: list[tuple[str, Step]] = field(default_factory=list)
    rows: proj.RowsByTable = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _at: dict[date, dict[str, HazardState]] = field(default_factory=dict)

    @property
    def report_count(self) -> int:
        """Return the number of approved reports in the snapshot."""
        return len(self.entries)

    def records(self, table: Any) -> list[dict[str, Any]]:
        """Return the rebuilt rows of one per-report table (e.g. ``schema.eo_item``)."""
        return self.rows.get(table, [])

    def hazards_at(self, day: date) -> dict[str, HazardState]:
        """Return hazard states known at the cut-off, using reports dated up to ``day``."""
        if day not in self._at:
            self._at[day] = _replay(
                (e for e in self.entries if e.date_of_information <= day), None, None
            )
        return self._at[day]

    def admin_area(self, pcode: str | None, level: int) -> tuple[str, str]:
        """Return (P-code, name) of the admin area at ``level`` containing ``pcode``.

        P-codes not in the gazetteer are returned as they are (name empty).
        """
        if not pcode:
            return ("", "(no location)")
        loc = self.locations.get(pcode)
        if loc is None:
            return (pcode, "")
        seen = 0
        while loc.admin_level > level and loc.parent_pcode in self.locations and seen < 20:
            loc = self.locations[loc.parent_pcode]
            seen += 1
        return (loc.pcode, loc.name)

    def org_name(self, code: str) -> str:
        """Return an organisation's name (its code when unknown)."""
        return self.organisations.get(code, code)


def _replay(
    entries: Iterable[LedgerEntry],
    steps_out: list[tuple[str, Step]] | None,
    errors: list[str] | None,
) -> dict[str, HazardState]:
    groups: dict[str, list[LedgerEntry]] = defaultdict(list)
    for e in entries:
        hid = e.body.get("hazard_id") if e.type in HAZARD_REPORT_TYPES else None
        if hid:
            groups[hid].append(e)
    out: dict[str, HazardState] = {}
    for hid in sorted(groups):
        state: HazardState | None = None
        steps: list[tuple[str, Step]] = []
        try:
            for e in sorted(groups[hid], key=lambda x: x.sort_key):
                state, step = apply(state, e)
                steps.append((hid, step))
        except MineActionError as exc:
            if errors is not None:
                errors.append(f"hazard {hid}: {exc} (left out of this report)")
            continue
        if state is not None:
            out[hid] = state
            if steps_out is not None:
                steps_out.extend(steps)
    return out


def approved_at(conn: Connection, cut_off: datetime) -> list[tuple[str, int]]:
    """Return ``(report_id, approve event id)`` of the reports approved at ``cut_off``.

    Each report's workflow events up to the cut-off are replayed in time order; the report is
    in the picture when the last of them left it *approved*.
    """
    ev = s.report_event.c
    cut = utc(cut_off)
    bound = cut.replace(tzinfo=None) if conn.dialect.name == "sqlite" else cut
    q = select(ev.id, ev.report_id, ev.at, ev.to_state).where(ev.at <= bound)
    events = sorted(conn.execute(q), key=lambda r: (utc(r[2]), r[0]))
    last: dict[str, tuple[str, int]] = {}
    for eid, rid, _at, to_state in events:
        last[rid] = (to_state, eid)
    return [(rid, eid) for rid, (st, eid) in last.items() if st == ReportState.APPROVED.value]


def load(conn: Connection, cut_off: datetime | None = None) -> Snapshot:
    """Load the approved ledger at ``cut_off`` (default: now) and replay it in memory."""
    cut = utc(cut_off) if cut_off is not None else datetime.now(UTC)
    approved = dict(approved_at(conn, cut))
    rows: dict[str, Any] = {}
    ids = list(approved)
    cols = (
        s.report.c.report_id,
        s.report.c.type,
        s.report.c.organisation,
        s.report.c.date_of_information,
        s.report.c.approval_seq,
        s.report.c.payload,
    )
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for r in conn.execute(select(*cols).where(s.report.c.report_id.in_(chunk))).mappings():
            rows[r["report_id"]] = r

    # Approval order: the ledger's approval_seq for reports still approved; reports approved
    # then but unapproved or superseded since (no approval_seq any more) follow, in the order
    # of their approval events. The fold sorts by date of information first, so this only
    # breaks ties between reports of the same hazard with the same date.
    def order_key(rid: str) -> tuple[int, int]:
        seq = rows[rid]["approval_seq"]
        return (0, int(seq)) if seq is not None else (1, approved[rid])

    order = sorted(ids, key=order_key)
    entries = [
        LedgerEntry(
            report_id=rid,
            type=ReportType(rows[rid]["type"]),
            organisation=rows[rid]["organisation"],
            date_of_information=rows[rid]["date_of_information"],
            approval_seq=rank,
            payload=rows[rid]["payload"],
        )
        for rank, rid in enumerate(order, start=1)
    ]
    # The hash names the set of approved reports and their contents, in report_id order, so
    # that it stays the same for a cut-off whatever happens in the ledger afterwards.
    digest = ledger_hash(
        (e.report_id, payload_hash(e.payload)) for e in sorted(entries, key=lambda x: x.report_id)
    )
    locations = {
        r["pcode"]: Location(
            r["pcode"],
            r["name"],
            int(r["admin_level"]),
            r["parent_pcode"],
            r["population"],
            r["geom"],
        )
        for r in conn.execute(select(s.location)).mappings()
    }
    orgs = {r[0]: r[1] for r in conn.execute(select(s.organisation.c.code, s.organisation.c.name))}
    tasks = [dict(r) for r in conn.execute(select(s.task).order_by(s.task.c.task_id)).mappings()]
    snap = Snapshot(
        cut_off=cut,
        entries=entries,
        ledger_hash=digest,
        programme=get_setting(conn, "programme_name"),
        locations=locations,
        organisations=orgs,
        tasks=tasks,
    )
    snap.hazards = _replay(entries, snap.steps, snap.errors)
    for e in entries:
        proj.merge_rows(snap.rows, proj.derived_rows(e).items())
    return snap


def load_store(store: Store, cut_off: datetime | None = None) -> Snapshot:
    """Open a read transaction and :func:`load` the snapshot."""
    with store.read() as conn:
        return load(conn, cut_off)


def is_contamination(state: HazardState) -> bool:
    """Return True for an SHA/CHA that is open or worked on and still has remaining area."""
    return (
        state.classification in CONTAMINATION_CLASSES
        and state.status in OPEN_STATUSES
        and state.areas.remaining_m2 > 0
    )

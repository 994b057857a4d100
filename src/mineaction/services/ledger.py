"""The ledger use cases: submit, approve, reject, unapprove, explain and recompute."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, RowMapping, select
from sqlalchemy.exc import IntegrityError

from mineaction.core.codes import ReportState, ReportType
from mineaction.core.geometry import bounds_list, geojson_texts
from mineaction.core.landrelease import areas_batch, parts_batch
from mineaction.core.projection import (
    HAZARD_REPORT_TYPES,
    HazardState,
    LedgerEntry,
    Step,
    apply,
    fold,
    prepare_entries,
    project,
)
from mineaction.errors import (
    ConflictError,
    MineActionError,
    NotFoundError,
    StaleVersionError,
    ValidationError,
)
from mineaction.store import projections as proj
from mineaction.store import reports as ledger
from mineaction.store import schema as s
from mineaction.store import setaside
from mineaction.store.bulkwrite import insert_many
from mineaction.store.engine import Store
from mineaction.store.reference import organisation_codes
from mineaction.store.settings import programme_area

Progress = Callable[[int], None]

PENDING_STATES = (
    ReportState.SUBMITTED.value,
    ReportState.VERIFIED.value,
    ReportState.OPS_APPROVED.value,
)


@dataclass
class SubmitResult:
    """Outcome of submitting one report."""

    report_id: str
    status: str  # "new" or "duplicate"
    warnings: list[str] = field(default_factory=list)


def _canonical(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    return {k: v for k, v in payload.items() if k not in ("submitted_by",)}


def prepare(
    conn: Connection, data: Any, *, where: str = "report"
) -> tuple[dict[str, Any], list[str]]:
    """Validate and normalise a report document against the programme's settings."""
    # imported here: the report models (pydantic) are not needed by recompute workers
    from mineaction.core.reports import normalise_report, parse_report

    report = parse_report(data, where=where)
    known = organisation_codes(conn)
    if known and report.organisation not in known:
        raise ValidationError(
            f"unknown organisation {report.organisation!r}; registered: "
            f"{', '.join(sorted(known))} (add it with `mineaction orgs add`)",
            where=f"{where}, organisation",
        )
    try:
        payload, warnings = normalise_report(report, programme_area=programme_area(conn))
    except MineActionError as exc:
        exc.where = f"{where}, {exc.where}" if exc.where else where
        raise
    return payload, warnings


def submit_in(
    conn: Connection,
    data: Any,
    *,
    submitted_by: str | None,
    where: str = "report",
    source_system: str | None = None,
    source_key: str | None = None,
) -> SubmitResult:
    """Submit a report inside an open write transaction (see :func:`submit`)."""
    payload, warnings = prepare(conn, data, where=where)
    existing = ledger.find_report(conn, payload["report_id"])
    if existing is not None:
        if _canonical(existing["payload"]) == _canonical(payload):
            return SubmitResult(payload["report_id"], "duplicate", warnings)
        raise ConflictError(
            f"report_id {payload['report_id']!r} already exists with different content; "
            "to correct it submit a new report with a new report_id and "
            f'"supersedes": "{payload["report_id"]}"',
            where=where,
        )
    if payload.get("supersedes"):
        ledger.get_report(conn, payload["supersedes"])
    ledger.insert_report(
        conn,
        payload=payload,
        warnings=warnings,
        submitted_by=submitted_by,
        source_system=source_system,
        source_key=source_key,
    )
    ledger.audit(
        conn, actor=submitted_by, action="submit", entity="report", entity_id=payload["report_id"]
    )
    return SubmitResult(payload["report_id"], "new", warnings)


def submit(
    store: Store, data: Any, *, submitted_by: str | None = None, where: str = "report"
) -> SubmitResult:
    """Validate and submit one report; a re-submission of identical content is a no-op.

    The report enters as *submitted*: it changes nothing in the national picture until approved.
    """
    with store.write() as conn:
        return submit_in(conn, data, submitted_by=submitted_by, where=where)


def _entries_for_hazard(conn: Connection, hazard_id: str) -> list[LedgerEntry]:
    return [e for e in ledger.approved_for_hazard(conn, hazard_id) if e.type in HAZARD_REPORT_TYPES]


def _reproject(conn: Connection, hazard_id: str, entries: list[LedgerEntry]) -> HazardState | None:
    state = _fold_all(entries) if entries else None
    proj.replace_hazard(conn, state, hazard_id)
    return state


@dataclass
class Effect:
    """What approving a report would change (or changed) on its hazard."""

    report_id: str
    hazard_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    step: Step | None
    error: str | None = None
    state: HazardState | None = field(default=None, repr=False, compare=False)


def _effect(
    conn: Connection, row: RowMapping, approval_seq: int, *, with_before: bool = True
) -> Effect:
    hid = row["hazard_id"]
    rtype = ReportType(row["type"])
    if hid is None or rtype not in HAZARD_REPORT_TYPES:
        return Effect(row["report_id"], hid, None, None, None)
    entries = _entries_for_hazard(conn, hid)
    superseded = row["payload"].get("supersedes")
    before_state = _fold_all(entries) if entries and with_before else None
    before = before_state.summary() if before_state else None
    entries = [e for e in entries if e.report_id != superseded]
    new = LedgerEntry(
        report_id=row["report_id"],
        type=rtype,
        organisation=row["organisation"],
        date_of_information=row["date_of_information"],
        approval_seq=approval_seq,
        payload=row["payload"],
    )
    ordered = sorted([*entries, new], key=lambda x: x.sort_key)
    state: HazardState | None = None
    step: Step | None = None
    try:
        for e in ordered:
            if e is new:
                state, step = apply(state, e)
            else:
                state = fold(state, e)
    except MineActionError as exc:
        return Effect(row["report_id"], hid, before, None, None, error=str(exc))
    assert state is not None
    return Effect(row["report_id"], hid, before, state.summary(), step, state=state)


def _fold_all(entries: list[LedgerEntry]) -> HazardState:
    """Fold entries (in application order) into a state without building the explanation."""
    state: HazardState | None = None
    for e in sorted(entries, key=lambda x: x.sort_key):
        state = fold(state, e)
    assert state is not None
    return state


def predict(store: Store, report_id: str) -> Effect:
    """Return what approving a pending report would change, without changing anything."""
    with store.read() as conn:
        row = ledger.get_report(conn, report_id)
        return _effect(conn, row, ledger.next_approval_seq(conn))


def check_version(row: RowMapping, expected_version: int | None) -> None:
    """Raise :class:`StaleVersionError` unless the report is still at ``expected_version``.

    Called inside the write transaction (writers are serialised), so of two clients acting on
    the same version exactly one passes; the other is told its copy is stale (HTTP 412), before
    any state rule is looked at. ``None`` means the caller did not ask for a version check.
    """
    if expected_version is not None and int(row["version"]) != expected_version:
        raise StaleVersionError(
            f"report {row['report_id']} is at version {row['version']} ({row['state']}), not "
            f"{expected_version}: someone acted on it meanwhile; reload it"
        )


def approve(
    store: Store,
    report_id: str,
    *,
    actor: str | None = None,
    expected_version: int | None = None,
) -> Effect:
    """Approve a pending report: it becomes part of the national picture.

    The hazard projection is updated in the same transaction; a report that breaks a rule
    (e.g. an illegal status change) is refused and the database is left as it was. With
    ``expected_version`` the report must still be at that version (else StaleVersionError).
    """
    with store.write() as conn:
        row = ledger.get_report(conn, report_id)
        check_version(row, expected_version)
        if row["state"] not in PENDING_STATES:
            raise ConflictError(
                f"report {report_id} is {row['state']}; only submitted reports can be approved"
            )
        seq = ledger.next_approval_seq(conn)
        effect = _effect(conn, row, seq, with_before=False)
        if effect.error:
            raise ConflictError(f"cannot approve report {report_id}: {effect.error}")
        superseded = row["payload"].get("supersedes")
        if superseded:
            old = ledger.get_report(conn, superseded)
            ledger.set_state(
                conn,
                superseded,
                from_state=old["state"],
                to_state=ReportState.SUPERSEDED.value,
                actor=actor,
                action="supersede",
                reason=f"superseded by {report_id}",
            )
            proj.delete_rows_for_report(conn, superseded)
            if old["hazard_id"] and old["hazard_id"] != row["hazard_id"]:
                _reproject(conn, old["hazard_id"], _entries_for_hazard(conn, old["hazard_id"]))
        ledger.set_state(
            conn,
            report_id,
            from_state=row["state"],
            to_state=ReportState.APPROVED.value,
            actor=actor,
            action="approve",
            approval_seq=seq,
        )
        approved = ledger.get_report(conn, report_id)
        if effect.state is not None and row["hazard_id"]:
            proj.replace_hazard(conn, effect.state, row["hazard_id"])
        try:
            with conn.begin_nested():
                proj.insert_rows(conn, proj.derived_rows(ledger.to_entry(approved)))
        except IntegrityError as exc:
            raise ConflictError(
                f"cannot approve report {report_id}: a record it carries (accident, victim, "
                "EORE session or inspection id) is already in the database from another "
                'report; correct the id, or submit it as a correction with "supersedes"'
            ) from exc
        ledger.audit(conn, actor=actor, action="approve", entity="report", entity_id=report_id)
        return effect


def reject(
    store: Store,
    report_id: str,
    *,
    reason: str,
    actor: str | None = None,
    expected_version: int | None = None,
) -> None:
    """Reject a pending report with a reason (it goes back to the submitter)."""
    if not reason.strip():
        raise ValidationError("a rejection needs a reason for the submitter")
    with store.write() as conn:
        row = ledger.get_report(conn, report_id)
        check_version(row, expected_version)
        if row["state"] not in PENDING_STATES:
            raise ConflictError(f"report {report_id} is {row['state']}; it cannot be rejected")
        _leave_with_reason(conn, row, ReportState.REJECTED, "reject", reason, actor)


def unapprove(
    store: Store,
    report_id: str,
    *,
    reason: str,
    actor: str | None = None,
    expected_version: int | None = None,
) -> None:
    """Take an approved report out of the national picture (IM officer), with a reason."""
    if not reason.strip():
        raise ValidationError("unapproving needs a reason")
    with store.write() as conn:
        row = ledger.get_report(conn, report_id)
        check_version(row, expected_version)
        if row["state"] != ReportState.APPROVED.value:
            raise ConflictError(f"report {report_id} is {row['state']}, not approved")
        # state first: the hazard's ledger below is read without this report
        _leave_with_reason(conn, row, ReportState.UNAPPROVED, "unapprove", reason, actor)
        proj.delete_rows_for_report(conn, report_id)
        if row["hazard_id"] and ReportType(row["type"]) in HAZARD_REPORT_TYPES:
            try:
                _reproject(conn, row["hazard_id"], _entries_for_hazard(conn, row["hazard_id"]))
            except MineActionError as exc:
                raise ConflictError(
                    f"cannot unapprove report {report_id}: later approved reports of hazard "
                    f"{row['hazard_id']} depend on it ({exc}); unapprove those first"
                ) from exc


def _leave_with_reason(
    conn: Connection,
    row: RowMapping,
    to_state: ReportState,
    action: str,
    reason: str,
    actor: str | None,
) -> None:
    """Move a report to a rejected/unapproved state and audit the reason."""
    ledger.set_state(
        conn,
        row["report_id"],
        from_state=row["state"],
        to_state=to_state.value,
        actor=actor,
        action=action,
        reason=reason,
    )
    ledger.audit(
        conn,
        actor=actor,
        action=action,
        entity="report",
        entity_id=row["report_id"],
        details={"reason": reason},
    )


def explain(
    store: Store, hazard_id: str, *, as_of: date | None = None
) -> tuple[HazardState, list[Step]]:
    """Replay a hazard's approved reports and return its state and every step."""
    with store.read() as conn:
        entries = _entries_for_hazard(conn, hazard_id)
    if as_of is not None:
        entries = [e for e in entries if e.date_of_information <= as_of]
    if not entries:
        raise NotFoundError(f"no approved reports for hazard {hazard_id!r}")
    return project(entries)


# --- recompute ------------------------------------------------------------------------------


@dataclass
class RecomputeResult:
    """Outcome of a full recompute (or a check)."""

    hazards: int = 0
    reports: int = 0
    errors: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    #: hazards and reports whose stored rows a recompute deleted (once per derived table)
    keys_deleted: int = 0
    #: derived rows inserted (a recompute writes only rows that differ)
    rows_inserted: int = 0


def project_all(
    entries: Iterable[tuple[str | None, LedgerEntry]],
    *,
    progress: Progress | None = None,
) -> Iterable[tuple[str | None, HazardState | None, list[LedgerEntry], str | None]]:
    """Group ordered entries by hazard and project each hazard; yield results one by one."""
    current: str | None = None
    group: list[LedgerEntry] = []

    def finish() -> tuple[str | None, HazardState | None, list[LedgerEntry], str | None]:
        hazard_entries = [e for e in group if e.type in HAZARD_REPORT_TYPES]
        if current is None or not hazard_entries:
            return current, None, group, None
        state: HazardState | None = None
        try:
            for e in hazard_entries:
                state = fold(state, e)
        except MineActionError as exc:
            return current, None, group, f"hazard {current}: {exc}"
        return current, state, group, None

    started = False
    for hid, entry in entries:
        if started and hid != current:
            yield finish()
            if progress:
                progress(len(group))
            group = []
        current = hid
        started = True
        group.append(entry)
    if started:
        yield finish()
        if progress:
            progress(len(group))


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector during a full rebuild.

    A recompute allocates millions of short-lived, acyclic objects (parsed payloads,
    geometries, rows); the collector would scan the live ones over and over for nothing.
    Reference counting still frees everything as it goes.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def prepared_chunks(
    entries: Iterable[tuple[str | None, LedgerEntry]], *, hazards: int = 2000
) -> Iterator[tuple[str | None, LedgerEntry]]:
    """Pass entries through, building geometries ahead for ``hazards`` whole hazards at a time."""
    chunk: list[tuple[str | None, LedgerEntry]] = []
    groups = 0
    last: object = object()
    for hid, entry in entries:
        if hid != last:
            groups += 1
            last = hid
            if groups > hazards:
                prepare_entries([e for _, e in chunk])
                yield from chunk
                chunk, groups = [], 1
        chunk.append((hid, entry))
    prepare_entries([e for _, e in chunk])
    yield from chunk


def hazard_tuples(states: list[HazardState]) -> list[tuple[Any, ...]]:
    """Compute the pieces and their areas of many hazards at once, then their table rows.

    Rows are tuples in :data:`mineaction.store.projections.COLUMNS` order.
    """
    for state, parts in zip(
        states, parts_batch([(st.release, st.polygon) for st in states]), strict=True
    ):
        state.set_parts(parts)
    for state, areas in zip(
        states, areas_batch([(st.parts, st.polygon) for st in states]), strict=True
    ):
        state.set_areas(areas)
    polygons = [st.polygon for st in states]
    texts = geojson_texts(polygons)  # the OGC API's text, one call
    bounds = bounds_list(polygons)
    row = proj.hazard_tuple
    return [row(st, t, b) for st, t, b in zip(states, texts, bounds, strict=True)]


def rows_with_batch_areas(states: list[HazardState]) -> list[dict[str, Any]]:
    """Return :func:`hazard_tuples` as dicts (column name: value)."""
    cols = proj.COLUMNS[s.hazard]
    return [dict(zip(cols, row, strict=True)) for row in hazard_tuples(states)]


def _rebuild(
    conn: Connection,
    reader: Connection | None,
    progress: Progress | None,
    batch: int,
    result: RecomputeResult,
) -> None:
    """Clear the derived tables and refill them from the ledger, batch by batch."""
    proj.clear_derived(conn)
    states: list[HazardState] = []
    rows: proj.RowsByTable = {}
    source = ledger.iter_approved_raw(reader if reader is not None else conn)
    for _hid, state, group, error in project_all(prepared_chunks(source), progress=progress):
        result.reports += len(group)
        if error:
            result.errors.append(error)
        if state is not None:
            result.hazards += 1
            states.append(state)
        for e in group:
            proj.merge_rows(rows, proj.derived_rows(e).items())
        if len(states) >= batch:
            insert_many(conn, s.hazard, rows_with_batch_areas(states))
            proj.insert_rows(conn, rows, bulk=True)
            states, rows = [], {}
    if states:
        insert_many(conn, s.hazard, rows_with_batch_areas(states))
    proj.insert_rows(conn, rows, bulk=True)


def recompute_in(
    conn: Connection,
    *,
    reader: Connection | None = None,
    progress: Progress | None = None,
    batch: int = 2000,
) -> RecomputeResult:
    """Rebuild every derived table inside an open write transaction (see :func:`recompute`).

    ``reader`` is the connection the ledger is streamed from (default: ``conn`` itself, so
    that reports written earlier in the same transaction are seen).
    """
    result = RecomputeResult()
    with setaside.indexes_set_aside(conn):
        _rebuild(conn, reader, progress, batch, result)
    ledger.audit(
        conn,
        actor=None,
        action="recompute",
        entity="ledger",
        entity_id=None,
        details={"hazards": result.hazards, "reports": result.reports},
    )
    return result


def recompute(
    store: Store, *, progress: Progress | None = None, jobs: int | None = None
) -> RecomputeResult:
    """Rebuild every derived table from the approved reports, in one transaction.

    The ledger is recomputed in shards by ``jobs`` processes (``None``: as many as there are
    CPUs for a large ledger, one for a small one) and only rows that differ from the stored
    ones are written: the result is the same as rewriting every derived table
    (:mod:`mineaction.services.rebuild`).
    """
    from mineaction.services import rebuild

    return rebuild.recompute(store, progress=progress, jobs=jobs)


CHECK_FIELDS = ("classification", "status", "organisation", "report_count", "eo_total")
AREA_FIELDS = (
    "area_m2",
    "cancelled_m2",
    "reduced_m2",
    "cleared_m2",
    "remaining_m2",
    "expansion_m2",
)


def compare_row(hid: str, fresh: Mapping[str, Any], row: Mapping[Any, Any], out: list[str]) -> None:
    """Append to ``out`` every field of a stored hazard row that differs from the ledger."""
    for f in CHECK_FIELDS:
        if fresh[f] != row[f]:
            out.append(f"hazard {hid}: {f} is {row[f]!r}, ledger says {fresh[f]!r}")
    for f in AREA_FIELDS:
        if abs(fresh[f] - row[f]) > max(0.01, 1e-9 * abs(fresh[f])):
            out.append(f"hazard {hid}: {f} is {row[f]:.2f}, ledger says {fresh[f]:.2f}")


def check(
    store: Store, *, progress: Progress | None = None, jobs: int | None = None
) -> RecomputeResult:
    """Recompute every hazard in memory and report any difference from what is stored.

    In shards, by ``jobs`` processes (``None``: automatic; see :func:`recompute`).
    """
    from mineaction.services import rebuild

    return rebuild.check(store, progress=progress, jobs=jobs)


def check_serial(store: Store, *, progress: Progress | None = None) -> RecomputeResult:
    """Recompute every hazard in memory, in one pass, and report differences (reference)."""
    result = RecomputeResult()
    cols = [s.hazard.c[c] for c in ("hazard_id", *CHECK_FIELDS, *AREA_FIELDS)]
    with no_cyclic_gc(), store.read() as conn:
        stored = {r["hazard_id"]: r for r in conn.execute(select(*cols)).mappings()}
        seen: set[str] = set()
        pending: list[HazardState] = []

        def compare(states: list[HazardState]) -> None:
            for fresh in rows_with_batch_areas(states):
                hid = fresh["hazard_id"]
                row = stored.get(hid)
                if row is None:
                    result.differences.append(f"hazard {hid}: missing from the stored projection")
                    continue
                compare_row(hid, fresh, row, result.differences)

        source = prepared_chunks(ledger.iter_approved_raw(conn))
        for hid, state, group, error in project_all(source, progress=progress):
            result.reports += len(group)
            if error:
                result.errors.append(error)
            if state is None or hid is None:
                continue
            result.hazards += 1
            seen.add(hid)
            pending.append(state)
            if len(pending) >= 2000:
                compare(pending)
                pending = []
        compare(pending)
        for hid in sorted(set(stored) - seen):
            result.differences.append(f"hazard {hid}: stored but has no approved reports")
    return result

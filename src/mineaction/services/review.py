"""The review workbench: approval levels, the queue, predicted effects and reconciliation.

A submitted report climbs the configured approval levels one at a time. The default chain
has three levels: operator QC verifies (``verified``), the authority's operations approve
(``ops_approved``), the IM officer gives the final approval (``approved``, which puts the report
into the national picture through :func:`mineaction.services.ledger.approve`). Any level may
reject with a reason; an IM officer may unapprove an approved report with a reason.

The levels are the ``approval_levels`` setting: the ordered list of intermediate states
(a subset of ``verified``, ``ops_approved``); ``[]`` means a single final approval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, Connection, RowMapping, and_, func, or_, select

from mineaction.core.codes import ReportState
from mineaction.core.geometry import geodesic_area_m2, geodesic_distance_m
from mineaction.core.reports import parse_report
from mineaction.errors import ConflictError, PermissionDeniedError, ValidationError
from mineaction.services import ledger
from mineaction.store import reports as repo
from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.store.settings import get_setting, set_setting

INTERMEDIATE = (ReportState.VERIFIED.value, ReportState.OPS_APPROVED.value)
DEFAULT_LEVELS: list[str] = list(INTERMEDIATE)

#: Who may move a report into each state (admin may do everything).
LEVEL_ROLES: dict[str, frozenset[str]] = {
    ReportState.VERIFIED.value: frozenset({"operator_qc", "im_officer", "admin"}),
    ReportState.OPS_APPROVED.value: frozenset({"operations", "im_officer", "admin"}),
    ReportState.APPROVED.value: frozenset({"im_officer", "admin"}),
    ReportState.REJECTED.value: frozenset({"operator_qc", "operations", "im_officer", "admin"}),
    ReportState.UNAPPROVED.value: frozenset({"im_officer", "admin"}),
}
LEVEL_ACTION = {
    ReportState.VERIFIED.value: "verify",
    ReportState.OPS_APPROVED.value: "ops_approve",
    ReportState.APPROVED.value: "approve",
}

#: Reconciliation thresholds.
OVERLAP_MIN_PERCENT = 1.0
EO_NEAR_M = 200.0
EO_NEAR_DAYS = 14


def _levels(conn: Connection) -> list[str]:
    value = get_setting(conn, "approval_levels")
    return list(DEFAULT_LEVELS) if value is None else [str(v) for v in value]


def approval_levels(store: Store) -> list[str]:
    """Return the full chain of states a report climbs, ending with ``approved``.

    The default is ``["verified", "ops_approved", "approved"]``.
    """
    with store.read() as conn:
        return [*_levels(conn), ReportState.APPROVED.value]


def set_approval_levels(store: Store, levels: list[str], *, actor: str | None = None) -> list[str]:
    """Configure the intermediate levels (ordered subset of ``verified``, ``ops_approved``)."""
    levels = [lv.strip() for lv in levels if lv.strip()]
    if any(lv not in INTERMEDIATE for lv in levels) or len(set(levels)) != len(levels):
        raise ValidationError(
            f"approval levels must be an ordered subset of {list(INTERMEDIATE)} (the final level "
            f"'approved' is implicit); got {levels}"
        )
    if levels != [lv for lv in INTERMEDIATE if lv in levels]:
        raise ValidationError("operator QC verification ('verified') comes before 'ops_approved'")
    with store.write() as conn:
        set_setting(conn, "approval_levels", levels)
        repo.audit(
            conn,
            actor=actor,
            action="configure",
            entity="setting",
            entity_id="approval_levels",
            details={"levels": levels},
        )
    return [*levels, ReportState.APPROVED.value]


def next_state(levels: list[str], state: str) -> str | None:
    """Return the state a pending report moves to next (None if it is not pending).

    >>> next_state(["verified", "ops_approved"], "submitted")
    'verified'
    >>> next_state(["verified", "ops_approved"], "ops_approved")
    'approved'
    >>> next_state([], "submitted")
    'approved'
    >>> next_state(["ops_approved"], "verified")
    'ops_approved'
    """
    if state not in ledger.PENDING_STATES:
        return None
    chain = [ReportState.SUBMITTED.value, *levels, ReportState.APPROVED.value]
    if state in chain:
        return chain[chain.index(state) + 1]
    # a report left at a level that is no longer configured moves to the next configured one
    order = [ReportState.SUBMITTED.value, *INTERMEDIATE]
    later = [lv for lv in levels if order.index(lv) > order.index(state)]
    return later[0] if later else ReportState.APPROVED.value


def _check_role(role: str | None, target: str) -> None:
    if role is not None and role not in LEVEL_ROLES[target]:
        raise PermissionDeniedError(
            f"role {role!r} cannot move a report to {target!r} (allowed: "
            f"{', '.join(sorted(LEVEL_ROLES[target]))})"
        )


@dataclass
class Advance:
    """The outcome of a review step."""

    report_id: str
    from_state: str
    to_state: str
    effect: ledger.Effect | None = None


def advance(
    store: Store,
    report_id: str,
    *,
    actor: str | None = None,
    role: str | None = None,
    expect: str | None = None,
    expected_version: int | None = None,
) -> Advance:
    """Move a pending report up one approval level (the last level approves it).

    ``expect`` names the state the caller means to reach (``verified``, ``ops_approved`` or
    ``approved``); a mismatch raises :class:`ConflictError` instead of skipping a level.
    ``expected_version`` (the client's If-Match) must still be the report's version, checked
    inside the write transaction: a client that lost a race gets :class:`StaleVersionError`.
    """
    with store.write() as conn:
        row = repo.get_report(conn, report_id)
        ledger.check_version(row, expected_version)
        target = next_state(_levels(conn), row["state"])
        if target is None:
            raise ConflictError(
                f"report {report_id} is {row['state']}; only pending reports are reviewed"
            )
        if expect is not None and target != expect:
            raise ConflictError(
                f"report {report_id} is {row['state']}; its next step is {target!r}, not {expect!r}"
            )
        _check_role(role, target)
        if target != ReportState.APPROVED.value:
            repo.set_state(
                conn,
                report_id,
                from_state=row["state"],
                to_state=target,
                actor=actor,
                action=LEVEL_ACTION[target],
            )
            repo.audit(
                conn, actor=actor, action=LEVEL_ACTION[target], entity="report", entity_id=report_id
            )
            return Advance(report_id, row["state"], target)
        from_state, decided_on = row["state"], int(row["version"])
    # the final approval runs in its own transaction: it must find the version decided on
    effect = ledger.approve(store, report_id, actor=actor, expected_version=decided_on)
    return Advance(report_id, from_state, ReportState.APPROVED.value, effect)


def verify(
    store: Store,
    report_id: str,
    *,
    actor: str | None = None,
    role: str | None = None,
    expected_version: int | None = None,
) -> Advance:
    """Operator QC verification (the first level)."""
    return advance(
        store,
        report_id,
        actor=actor,
        role=role,
        expect=ReportState.VERIFIED.value,
        expected_version=expected_version,
    )


def approve(
    store: Store,
    report_id: str,
    *,
    actor: str | None = None,
    role: str | None = None,
    expected_version: int | None = None,
) -> Advance:
    """Approve at the report's next level after verification (operations, then IM final)."""
    with store.read() as conn:
        row = repo.get_report(conn, report_id)
        ledger.check_version(row, expected_version)
        target = next_state(_levels(conn), row["state"])
    if target == ReportState.VERIFIED.value:
        raise ConflictError(
            f"report {report_id} needs operator QC verification first (review verify)"
        )
    return advance(
        store, report_id, actor=actor, role=role, expect=target, expected_version=expected_version
    )


def reject(
    store: Store,
    report_id: str,
    *,
    reason: str,
    actor: str | None = None,
    role: str | None = None,
    expected_version: int | None = None,
) -> None:
    """Reject a pending report with a reason (it goes back to the submitter)."""
    _check_role(role, ReportState.REJECTED.value)
    ledger.reject(store, report_id, reason=reason, actor=actor, expected_version=expected_version)


def unapprove(
    store: Store,
    report_id: str,
    *,
    reason: str,
    actor: str | None = None,
    role: str | None = None,
    expected_version: int | None = None,
) -> None:
    """Withdraw an approved report (IM officer), with a reason."""
    _check_role(role, ReportState.UNAPPROVED.value)
    ledger.unapprove(
        store, report_id, reason=reason, actor=actor, expected_version=expected_version
    )


# --- the queue and one report's review ------------------------------------------------------


@dataclass
class QueueItem:
    """One pending report in the review queue."""

    report_id: str
    type: str
    organisation: str
    hazard_id: str | None
    date_of_information: str
    state: str
    next_step: str
    warnings: int
    supersedes: str | None
    source: str | None


def queue(
    store: Store,
    *,
    state: str | None = None,
    organisation: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[QueueItem]:
    """Return pending reports, oldest first, with the step each one needs next."""
    r = s.report
    states = [state] if state else list(ledger.PENDING_STATES)
    q = select(r).where(r.c.state.in_(states)).order_by(r.c.seq).limit(limit).offset(offset)
    if organisation:
        q = q.where(r.c.organisation == organisation)
    with store.read() as conn:
        levels = _levels(conn)
        rows = list(conn.execute(q).mappings())
    return [_queue_item(levels, row) for row in rows]


def steps_for(role: str | None) -> list[str]:
    """Return the review steps (target states) a role may take, in chain order.

    >>> steps_for("operator_qc")
    ['verified']
    >>> steps_for("im_officer")
    ['verified', 'ops_approved', 'approved']
    """
    order = [*INTERMEDIATE, ReportState.APPROVED.value]
    return [st for st in order if role is None or role in LEVEL_ROLES[st]]


def states_waiting_for(levels: list[str], steps: list[str]) -> list[str]:
    """Return the pending states whose next step is one of ``steps`` under ``levels``.

    >>> states_waiting_for(["verified", "ops_approved"], ["ops_approved"])
    ['verified']
    >>> states_waiting_for([], ["approved"])
    ['submitted', 'verified', 'ops_approved']
    """
    return [st for st in ledger.PENDING_STATES if next_state(levels, st) in steps]


def inbox(
    store: Store,
    *,
    role: str | None = None,
    step: str | None = None,
    organisation: str | None = None,
    type: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[QueueItem], int]:
    """Return pending reports waiting for a step the role may take (oldest first) and the total.

    ``step`` narrows to one step (``verified``, ``ops_approved``, ``approved``); ``role`` None
    means every pending report.
    """
    r = s.report
    with store.read() as conn:
        levels = _levels(conn)
        steps = steps_for(role) if role is not None else [*levels, ReportState.APPROVED.value]
        if step is not None:
            steps = [st for st in steps if st == step]
        states = states_waiting_for(levels, steps)
        conds: list[ColumnElement[bool]] = [r.c.state.in_(states)]
        if organisation:
            conds.append(r.c.organisation == organisation)
        if type:
            conds.append(r.c.type == type)
        total = conn.execute(select(func.count()).select_from(r).where(*conds)).scalar_one()
        rows = list(
            conn.execute(
                select(r).where(*conds).order_by(r.c.seq).limit(limit).offset(offset)
            ).mappings()
        )
    return [_queue_item(levels, row) for row in rows], int(total)


def _queue_item(levels: list[str], row: RowMapping) -> QueueItem:
    return QueueItem(
        report_id=row["report_id"],
        type=row["type"],
        organisation=row["organisation"],
        hazard_id=row["hazard_id"],
        date_of_information=row["date_of_information"].isoformat(),
        state=row["state"],
        next_step=next_state(levels, row["state"]) or "",
        warnings=len(row["warnings"] or []),
        supersedes=row["supersedes"],
        source=row["source_system"],
    )


@dataclass
class Proposal:
    """A reconciliation proposal shown to the reviewer."""

    #: same_submission | overlapping_hazard | nearby_eo | new_hazard | update_hazard |
    #: link_hazard | edit
    kind: str
    message: str
    report_id: str | None = None
    hazard_id: str | None = None
    overlap_percent: float | None = None
    distance_m: float | None = None
    days_apart: int | None = None


@dataclass
class Review:
    """Everything a reviewer needs for one report."""

    report: dict[str, Any]
    history: list[dict[str, Any]]
    next_step: str | None
    effect: dict[str, Any] | None
    proposals: list[Proposal] = field(default_factory=list)


_AREAS = ("cancelled_m2", "reduced_m2", "cleared_m2")


def effect_summary(effect: ledger.Effect) -> dict[str, Any]:
    """Return what approving would change: m² released by category, status, remaining area."""
    before = effect.before or {}
    after = effect.after or {}
    out: dict[str, Any] = {"hazard_id": effect.hazard_id, "error": effect.error}
    if effect.after is None and effect.error is None:
        out["applies"] = False
        return out
    out["applies"] = True
    out["released_m2"] = {
        k.removesuffix("_m2"): round(float(after.get(k) or 0) - float(before.get(k) or 0), 2)
        for k in _AREAS
    }
    out["status"] = {"before": before.get("status"), "after": after.get("status")}
    out["classification"] = {
        "before": before.get("classification"),
        "after": after.get("classification"),
    }
    out["area_m2"] = {"before": before.get("area_m2"), "after": after.get("area_m2")}
    out["remaining_m2"] = {"before": before.get("remaining_m2"), "after": after.get("remaining_m2")}
    if effect.step is not None:
        out["notes"] = list(effect.step.notes)
    return out


def _geom(obj: Any) -> BaseGeometry | None:
    try:
        return shape(obj) if obj else None
    except Exception:  # stored payloads are checked; be lenient with foreign data
        return None


def _overlaps(conn: Connection, row: RowMapping, poly: BaseGeometry) -> list[Proposal]:
    out: list[Proposal] = []
    area = geodesic_area_m2(poly)
    if area <= 0:
        return out
    x0, y0, x1, y1 = poly.bounds
    h = s.hazard
    q = select(h.c.hazard_id, h.c.geom, h.c.status).where(
        and_(h.c.minx <= x1, h.c.maxx >= x0, h.c.miny <= y1, h.c.maxy >= y0)
    )
    for hid, geom, status in conn.execute(q):
        if geom is None:
            continue
        inter = geom.intersection(poly)
        pct = 100.0 * geodesic_area_m2(inter) / area
        if pct < OVERLAP_MIN_PERCENT:
            continue
        if hid == row["hazard_id"]:
            out.append(
                Proposal(
                    "update_hazard",
                    f"updates existing hazard {hid} ({status}); {pct:.0f}% of the new polygon "
                    "lies inside it",
                    hazard_id=hid,
                    overlap_percent=round(pct, 1),
                )
            )
        else:
            out.append(
                Proposal(
                    "overlapping_hazard",
                    f"{pct:.0f}% of this polygon overlaps approved hazard {hid} ({status}): "
                    f"update or link to {hid} instead of creating a new hazard?",
                    hazard_id=hid,
                    overlap_percent=round(pct, 1),
                )
            )
    # other pending hazard reports
    r = s.report
    pending = select(r.c.report_id, r.c.hazard_id, r.c.payload, r.c.organisation).where(
        r.c.state.in_(ledger.PENDING_STATES),
        r.c.type == "hazard",
        r.c.report_id != row["report_id"],
    )
    for rid, hid, payload, org in conn.execute(pending):
        other = _geom((payload.get("hazard") or {}).get("polygon"))
        if other is None or not other.intersects(poly):
            continue
        pct = 100.0 * geodesic_area_m2(other.intersection(poly)) / area
        if pct >= OVERLAP_MIN_PERCENT:
            out.append(
                Proposal(
                    "overlapping_hazard",
                    f"{pct:.0f}% of this polygon overlaps pending report {rid} (hazard {hid}, "
                    f"{org})",
                    report_id=rid,
                    hazard_id=hid,
                    overlap_percent=round(pct, 1),
                )
            )
    return out


def _eo_points(payload: dict[str, Any]) -> list[tuple[float, float]]:
    body = payload.get(payload.get("type", "")) or {}
    items = body.get("items") or body.get("eo_items") or []
    pts = []
    for item in items:
        p = item.get("point") if isinstance(item, dict) else None
        if p and p.get("type") == "Point":
            pts.append((float(p["coordinates"][0]), float(p["coordinates"][1])))
    return pts


def _nearby_eo(conn: Connection, row: RowMapping) -> list[Proposal]:
    mine = _eo_points(row["payload"])
    if not mine:
        return []
    day = row["date_of_information"]
    lo, hi = day - timedelta(days=EO_NEAR_DAYS), day + timedelta(days=EO_NEAR_DAYS)
    r = s.report
    q = select(r.c.report_id, r.c.payload, r.c.organisation, r.c.date_of_information).where(
        r.c.type.in_(["eo", "activity"]),
        r.c.report_id != row["report_id"],
        r.c.date_of_information.between(lo, hi),
        r.c.state.not_in([ReportState.REJECTED.value, ReportState.SUPERSEDED.value]),
    )
    out = []
    for rid, payload, org, when in conn.execute(q):
        best = min(
            (geodesic_distance_m(a, b) for a in mine for b in _eo_points(payload)),
            default=None,
        )
        if best is not None and best <= EO_NEAR_M:
            days = abs((when - day).days)
            out.append(
                Proposal(
                    "nearby_eo",
                    f"EO reported {best:.0f} m away and {days} days apart in {rid} ({org}): "
                    "the same item(s)?",
                    report_id=rid,
                    distance_m=round(best, 1),
                    days_apart=days,
                )
            )
    return out


def _points(payload: dict[str, Any]) -> list[tuple[float, float]]:
    """Return the report's points: EO items' and the body's own (an accident's place)."""
    body = payload.get(payload.get("type", "")) or {}
    p = body.get("point") if isinstance(body, dict) else None
    if not isinstance(p, dict) or not _is_point(p):
        return _eo_points(payload)
    return [*_eo_points(payload), (float(p["coordinates"][0]), float(p["coordinates"][1]))]


def _is_point(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("type") == "Point" and bool(obj.get("coordinates"))


def _link_hazard(conn: Connection, row: RowMapping) -> list[Proposal]:
    """Propose linking a report whose points lie inside an approved hazard it does not name."""
    pts = _points(row["payload"])
    if not pts or row["type"] == "hazard":
        return []
    h = s.hazard
    out = []
    seen: set[str] = set()
    for x, y in pts:
        q = select(h.c.hazard_id, h.c.geom, h.c.status).where(
            h.c.minx <= x, h.c.maxx >= x, h.c.miny <= y, h.c.maxy >= y
        )
        for hid, geom, status in conn.execute(q):
            if hid in seen or hid == row["hazard_id"] or geom is None:
                continue
            if geom.covers(shape({"type": "Point", "coordinates": [x, y]})):
                seen.add(hid)
                named = f"it names {row['hazard_id']}" if row["hazard_id"] else "it names none"
                out.append(
                    Proposal(
                        "link_hazard",
                        f"lies inside approved hazard {hid} ({status}) but {named}: link the "
                        f"report to {hid}?",
                        hazard_id=hid,
                    )
                )
    return out


def _same_submission(conn: Connection, row: RowMapping) -> list[Proposal]:
    r = s.report
    conds = []
    if row["source_key"]:
        conds.append(
            and_(r.c.source_system == row["source_system"], r.c.source_key == row["source_key"])
        )
    if row["hazard_id"]:
        conds.append(r.c.hazard_id == row["hazard_id"])
    if not conds:
        return []
    body = row["payload"].get(row["type"])
    q = select(r.c.report_id, r.c.organisation, r.c.payload, r.c.state, r.c.source_key).where(
        r.c.organisation != row["organisation"],
        r.c.type == row["type"],
        r.c.state.not_in([ReportState.REJECTED.value, ReportState.SUPERSEDED.value]),
        or_(*conds),
    )
    out = []
    for rid, org, payload, state, key in conn.execute(q):
        same_key = bool(row["source_key"]) and key == row["source_key"]
        if same_key or payload.get(row["type"]) == body:
            why = "the same form instance" if same_key else "identical content"
            out.append(
                Proposal(
                    "same_submission",
                    f"{why} was also submitted by {org} as {rid} ({state}): keep one",
                    report_id=rid,
                )
            )
    return out


def proposals_for(conn: Connection, row: RowMapping) -> list[Proposal]:
    """Return reconciliation proposals for one report."""
    out = _same_submission(conn, row)
    payload = row["payload"]
    if row["type"] == "hazard":
        poly = _geom((payload.get("hazard") or {}).get("polygon"))
        known = conn.execute(
            select(s.hazard.c.hazard_id).where(s.hazard.c.hazard_id == row["hazard_id"])
        ).first()
        if poly is not None:
            out += _overlaps(conn, row, poly)
        if known is None and not any(p.kind == "overlapping_hazard" for p in out):
            out.append(
                Proposal(
                    "new_hazard",
                    f"creates new hazard {row['hazard_id']}; no approved hazard overlaps it",
                    hazard_id=row["hazard_id"],
                )
            )
    if row["type"] in ("eo", "activity"):
        out += _nearby_eo(conn, row)
    out += _link_hazard(conn, row)
    if row["supersedes"]:
        out.append(
            Proposal(
                "edit",
                f"an edited version: approving it supersedes {row['supersedes']}",
                report_id=row["supersedes"],
            )
        )
    return out


def review(store: Store, report_id: str) -> Review:
    """Return a report with its history, next step, predicted effect and proposals."""
    with store.read() as conn:
        row = repo.get_report(conn, report_id)
        history = repo.events(conn, report_id)
        levels = _levels(conn)
        proposals = proposals_for(conn, row)
    pending = row["state"] in ledger.PENDING_STATES
    effect = effect_summary(ledger.predict(store, report_id)) if pending else None
    return Review(
        report={
            "report_id": row["report_id"],
            "type": row["type"],
            "organisation": row["organisation"],
            "hazard_id": row["hazard_id"],
            "date_of_information": row["date_of_information"].isoformat(),
            "state": row["state"],
            "warnings": list(row["warnings"] or []),
            "reason": row["reason"],
            "supersedes": row["supersedes"],
            "source_system": row["source_system"],
            "source_key": row["source_key"],
            "payload": row["payload"],
        },
        history=[
            {
                "at": h["at"].isoformat(),
                "actor": h["actor"],
                "action": h["action"],
                "from_state": h["from_state"],
                "to_state": h["to_state"],
                "reason": h["reason"],
            }
            for h in history
        ],
        next_step=next_state(levels, row["state"]),
        effect=effect,
        proposals=proposals,
    )


def reconcile(
    store: Store,
    report_id: str,
    *,
    hazard_id: str,
    actor: str | None = None,
    role: str | None = None,
    expected_version: int | None = None,
) -> str:
    """Attach a pending report to an existing hazard (update or link) instead of its own.

    The report's content is never edited: a corrected copy naming ``hazard_id`` is submitted
    with ``supersedes`` pointing at the original, at the same review level, and the original
    is marked superseded. Returns the new report id.
    """
    _check_role(role, ReportState.VERIFIED.value)
    with store.write() as conn:
        row = repo.get_report(conn, report_id)
        ledger.check_version(row, expected_version)
        if row["state"] not in ledger.PENDING_STATES:
            raise ConflictError(f"report {report_id} is {row['state']}; only pending reports")
        payload = dict(row["payload"])
        kind = payload["type"]
        body = dict(payload[kind])
        if "hazard_id" not in type(parse_report(payload).body).model_fields:
            raise ValidationError(f"a {kind} report does not refer to a hazard")
        if body.get("hazard_id") == hazard_id:
            raise ConflictError(f"report {report_id} already refers to hazard {hazard_id}")
        known = conn.execute(select(s.hazard.c.hazard_id).where(s.hazard.c.hazard_id == hazard_id))
        if known.first() is None:
            raise ValidationError(f"no approved hazard {hazard_id!r} to attach the report to")
        body["hazard_id"] = hazard_id
        new_id = f"{report_id}.{hazard_id}"[:100]
        payload.update(
            {
                kind: body,
                "report_id": new_id,
                "supersedes": report_id,
                "extensions": {**payload.get("extensions", {}), "reconciled_from": report_id},
            }
        )
        ledger.submit_in(
            conn,
            payload,
            submitted_by=actor,
            where=f"reconcile {report_id}",
            source_system=row["source_system"],
            source_key=row["source_key"],
        )
        if row["state"] != ReportState.SUBMITTED.value:
            repo.set_state(
                conn,
                new_id,
                from_state=ReportState.SUBMITTED.value,
                to_state=row["state"],
                actor=actor,
                action="reconcile",
                reason=f"keeps the review level of {report_id}",
            )
        repo.set_state(
            conn,
            report_id,
            from_state=row["state"],
            to_state=ReportState.SUPERSEDED.value,
            actor=actor,
            action="reconcile",
            reason=f"attached to hazard {hazard_id} as {new_id}",
        )
        repo.audit(
            conn,
            actor=actor,
            action="reconcile",
            entity="report",
            entity_id=report_id,
            details={"hazard_id": hazard_id, "new_report_id": new_id},
        )
    return new_id

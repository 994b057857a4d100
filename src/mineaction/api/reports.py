"""``/api/v1/reports``: submit, list, show (with predicted effect) and review actions.

Review actions change the report's workflow state, which carries a version: they need
``If-Match`` with the report's ETag (428 without, 412 when someone acted first).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query, Request, Response
from pydantic import BaseModel, Field

from mineaction.api.common import COMMON, errors, etag, expected_version
from mineaction.api.query import Resource, item_model, list_records, page_model, parse_sort
from mineaction.core.access import ORG_SCOPED, Scope
from mineaction.errors import NotFoundError, PermissionDeniedError
from mineaction.services import ledger
from mineaction.store import reports as repo
from mineaction.store import schema as s
from mineaction.web.auth import CurrentUser

router = APIRouter(prefix="/api/v1", tags=["reports"])

REPORTS = Resource(
    "reports",
    s.report,
    "report_id",
    via_hazard=True,
    date_col="date_of_information",
    hidden=("payload",),
    filters=("state", "type", "hazard_id"),
)
SORTABLE = ["seq", "report_id", "date_of_information", "state", "type", "organisation"]
ReportItem = item_model(REPORTS)
ReportPage = page_model(ReportItem)

State = Literal[
    "submitted", "verified", "ops_approved", "approved", "rejected", "unapproved", "superseded"
]


class Submitted(BaseModel):
    """Outcome of a submission: ``new`` or ``duplicate`` (identical resubmission)."""

    report_id: str
    status: str
    warnings: list[str]


class Event(BaseModel):
    """One workflow event of a report."""

    at: str
    actor: str | None
    action: str
    from_state: str | None
    to_state: str
    reason: str | None


class Effect(BaseModel):
    """What approving the report would change (before/after hazard summaries)."""

    hazard_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    error: str | None


class ReportDetail(BaseModel):
    """A report: envelope, payload, history and (when pending) predicted effect."""

    report: dict[str, Any]
    payload: dict[str, Any]
    history: list[Event]
    effect: Effect | None


class Reason(BaseModel):
    """Why a report is rejected or unapproved."""

    reason: str = Field(min_length=1, max_length=2000)


def _get(request: Request, user: CurrentUser, report_id: str) -> Any:
    """Return the report row if it is inside the caller's scope."""
    with request.app.state.store.read() as conn:
        row = repo.find_report(conn, report_id)
        if row is not None and not user.scope.unlimited:
            scope = user.scope
            if scope.organisation is not None and row["organisation"] != scope.organisation:
                row = None
            elif scope.admin_area is not None:
                loc = None
                if row["hazard_id"]:
                    loc = conn.execute(
                        s.hazard.select()
                        .with_only_columns(s.hazard.c.location)
                        .where(s.hazard.c.hazard_id == row["hazard_id"])
                    ).scalar()
                body = row["payload"].get(row["type"], {})
                loc = loc or body.get("location")
                if not (loc or "").startswith(scope.admin_area):
                    row = None
    if row is None:
        raise NotFoundError(f"no report with id {report_id!r}")
    return row


def _summary(row: Any) -> dict[str, Any]:
    out = {c: row[c] for c in REPORTS.columns}
    for k in ("submitted_at", "approved_at"):
        if out.get(k) is not None:
            out[k] = out[k].isoformat()
    out["date_of_information"] = row["date_of_information"].isoformat()
    return out


@router.get("/reports", response_model=ReportPage, responses=errors(*COMMON))
def list_reports(
    request: Request,
    user: CurrentUser,
    state: State | None = None,
    type: Literal["hazard", "activity", "eo", "accident", "eore", "qm", "handover"] | None = None,
    hazard_id: Annotated[str | None, Query(max_length=100)] = None,
    organisation: Annotated[str | None, Query(max_length=100)] = None,
    admin_area: Annotated[str | None, Query(max_length=50)] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    sort: Annotated[str | None, Query(description=f"'-' for descending: {SORTABLE}")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:
    """Reports (newest first by default); operators see their organisation's only."""
    store = request.app.state.store
    with store.read() as conn:
        listing = list_records(
            conn,
            REPORTS,
            user.scope,
            within=Scope(organisation or None, admin_area or None),
            equals={"state": state, "type": type, "hazard_id": hazard_id},
            date_from=date_from,
            date_to=date_to,
            sort=parse_sort(sort or "-seq", SORTABLE),
            limit=limit,
            offset=offset,
            dialect=store.dialect,
        )
    return {
        "items": listing.records,
        "total": listing.total,
        "limit": listing.limit,
        "offset": listing.offset,
    }


@router.post(
    "/reports",
    status_code=201,
    response_model=Submitted,
    responses={
        200: {"model": Submitted, "description": "Identical resubmission"},
        **errors(*COMMON, 409),
    },
)
def submit_report(
    request: Request,
    response: Response,
    user: CurrentUser,
    document: Annotated[
        dict[str, Any],
        Body(description="A report in the mineaction.report/1 format (docs/report-format.md)"),
    ],
) -> Any:
    """Submit a report; it changes nothing until approved. Operators submit for their org only."""
    org = document.get("organisation")
    if user.role in ORG_SCOPED and org != user.organisation:
        raise PermissionDeniedError(
            f"you may only submit reports of your organisation {user.organisation!r}, not {org!r}"
        )
    result = ledger.submit(request.app.state.store, document, submitted_by=user.username)
    if result.status == "duplicate":
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/reports/{result.report_id}"
    return {"report_id": result.report_id, "status": result.status, "warnings": result.warnings}


@router.get("/reports/{report_id}", response_model=ReportDetail, responses=errors(*COMMON, 404))
def show_report(report_id: str, request: Request, response: Response, user: CurrentUser) -> Any:
    """A report with its workflow history and, while pending, what approving it would change."""
    row = _get(request, user, report_id)
    store = request.app.state.store
    with store.read() as conn:
        history = repo.events(conn, report_id)
    effect = None
    if row["state"] in ledger.PENDING_STATES:
        e = ledger.predict(store, report_id)
        effect = {"hazard_id": e.hazard_id, "before": e.before, "after": e.after, "error": e.error}
    response.headers["ETag"] = etag(int(row["version"]))
    return {
        "report": _summary(row),
        "payload": row["payload"],
        "history": [
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
        "effect": effect,
    }


def _check_version(row: Any, if_match: str | None) -> int | None:
    """Return the version the client acts on (checked early, and again inside the write).

    The early check answers 412 without taking the write lock; the service checks the version
    again inside its write transaction, so a client that loses a race also gets 412 (never 409,
    which is kept for acting on the *current* version of a report whose state forbids it).
    """
    version = expected_version(if_match)
    ledger.check_version(row, version)
    return version


def _after(request: Request, response: Response, report_id: str) -> dict[str, Any]:
    with request.app.state.store.read() as conn:
        row = repo.get_report(conn, report_id)
    response.headers["ETag"] = etag(int(row["version"]))
    return _summary(row)


@router.post(
    "/reports/{report_id}/approve",
    response_model=ReportItem,
    responses=errors(*COMMON, 404, 409, 412, 428),
)
def approve_report(
    report_id: str,
    request: Request,
    response: Response,
    user: CurrentUser,
    if_match: Annotated[str | None, Header()] = None,
) -> Any:
    """Approve a pending report: the hazard's state is updated (needs If-Match)."""
    row = _get(request, user, report_id)
    version = _check_version(row, if_match)
    ledger.approve(
        request.app.state.store, report_id, actor=user.username, expected_version=version
    )
    return _after(request, response, report_id)


@router.post(
    "/reports/{report_id}/reject",
    response_model=ReportItem,
    responses=errors(*COMMON, 404, 409, 412, 428),
)
def reject_report(
    report_id: str,
    body: Reason,
    request: Request,
    response: Response,
    user: CurrentUser,
    if_match: Annotated[str | None, Header()] = None,
) -> Any:
    """Reject a pending report with a reason (needs If-Match)."""
    row = _get(request, user, report_id)
    version = _check_version(row, if_match)
    ledger.reject(
        request.app.state.store,
        report_id,
        reason=body.reason,
        actor=user.username,
        expected_version=version,
    )
    return _after(request, response, report_id)


@router.post(
    "/reports/{report_id}/unapprove",
    response_model=ReportItem,
    responses=errors(*COMMON, 404, 409, 412, 428),
)
def unapprove_report(
    report_id: str,
    body: Reason,
    request: Request,
    response: Response,
    user: CurrentUser,
    if_match: Annotated[str | None, Header()] = None,
) -> Any:
    """Take an approved report out of the national picture, with a reason (needs If-Match)."""
    row = _get(request, user, report_id)
    version = _check_version(row, if_match)
    ledger.unapprove(
        request.app.state.store,
        report_id,
        reason=body.reason,
        actor=user.username,
        expected_version=version,
    )
    return _after(request, response, report_id)

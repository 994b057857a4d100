"""``/api/v1/reports`` and ``/api/v1/review``: submit, list, show, and the review workflow.

Reports climb the configured approval levels (default: operator QC ``verify`` -> operations
``ops_approve`` -> IM officer ``approve``; ``mineaction review levels``). Review decisions change
the report's workflow state, which carries a version: they need ``If-Match`` with the report's
ETag (428 without, 412 when someone acted first; checked in the deciding transaction).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from mineaction.api.common import COMMON, errors, etag, expected_version
from mineaction.api.query import Resource, item_model, list_records, page_model, parse_sort
from mineaction.core.access import ORG_SCOPED, Scope
from mineaction.core.codes import ReportState
from mineaction.errors import NotFoundError, PermissionDeniedError, ValidationError
from mineaction.services import ledger, review
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


def _act(
    action: Callable[..., Any],
    request: Request,
    response: Response,
    user: Any,
    report_id: str,
    if_match: str | None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Run one review action on a report the caller can see; answer its new summary and ETag."""
    _get(request, user, report_id)
    action(
        request.app.state.store,
        report_id,
        actor=user.username,
        role=user.role.value,
        expected_version=expected_version(if_match),
        **kwargs,
    )
    return _after(request, response, report_id)


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
    """Final approval (needs If-Match): the hazard's state is updated.

    Follows the configured approval levels: a report that still needs a lower level (operator
    QC verification, operations approval) answers 409 naming its next step; use
    ``POST /reports/{id}/review``. With no intermediate levels configured it is one step.
    """
    return _act(
        review.advance,
        request,
        response,
        user,
        report_id,
        if_match,
        expect=ReportState.APPROVED.value,
    )


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
    """Reject a pending report with a reason for the submitter (needs If-Match)."""
    return _act(review.reject, request, response, user, report_id, if_match, reason=body.reason)


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
    return _act(review.unapprove, request, response, user, report_id, if_match, reason=body.reason)


# --- the review workflow: levels, inbox, one report's review, per-level decisions -------------

Decision = Literal["verify", "ops_approve", "approve", "reject"]
#: The state each decision moves a report to.
DECISION_STATE = {
    "verify": ReportState.VERIFIED.value,
    "ops_approve": ReportState.OPS_APPROVED.value,
    "approve": ReportState.APPROVED.value,
    "reject": ReportState.REJECTED.value,
}
Step = Literal["verified", "ops_approved", "approved"]


class ReviewDecision(BaseModel):
    """A reviewer's decision at the report's current level (``reason`` needed to reject)."""

    model_config = ConfigDict(extra="forbid")

    decision: Decision
    reason: str | None = Field(default=None, min_length=1, max_length=2000)


class ReviewOutcome(BaseModel):
    """The report after a review decision, with the step taken and (final) effect."""

    report: ReportItem  # type: ignore[valid-type]
    from_state: str
    to_state: str
    effect: dict[str, Any] | None = None


class Level(BaseModel):
    """One level of the approval chain: the state reached, the decision and who may take it."""

    state: str
    decision: str
    roles: list[str]


class Levels(BaseModel):
    """The configured approval chain (``submitted`` -> ... -> ``approved``)."""

    levels: list[Level]
    reject_roles: list[str]
    unapprove_roles: list[str]
    my_steps: list[str]


class QueueEntry(BaseModel):
    """A pending report in the inbox with the step it needs next."""

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


class Inbox(BaseModel):
    """A page of the review inbox, oldest first."""

    items: list[QueueEntry]
    total: int
    limit: int
    offset: int
    steps: list[str]


class ProposalOut(BaseModel):
    """A reconciliation proposal: same submission, overlapping hazard, nearby EO, new hazard."""

    kind: str
    message: str
    report_id: str | None = None
    hazard_id: str | None = None
    overlap_percent: float | None = None
    distance_m: float | None = None
    days_apart: int | None = None


class ReviewDetail(BaseModel):
    """Everything a reviewer needs: report, warnings, history, predicted effect, proposals."""

    report: dict[str, Any]
    history: list[Event]
    next_step: str | None
    effect: dict[str, Any] | None
    proposals: list[ProposalOut]
    decisions: list[str]
    levels: list[str]


def _role(user: Any) -> str:
    return str(user.role.value)


@router.get("/review/levels", response_model=Levels, responses=errors(*COMMON))
def review_levels(request: Request, user: CurrentUser) -> Any:
    """The approval chain as configured (``mineaction review levels``) and who acts at each."""
    chain = review.approval_levels(request.app.state.store)
    return {
        "levels": [
            {
                "state": st,
                "decision": review.LEVEL_ACTION[st],
                "roles": sorted(review.LEVEL_ROLES[st]),
            }
            for st in chain
        ],
        "reject_roles": sorted(review.LEVEL_ROLES[ReportState.REJECTED.value]),
        "unapprove_roles": sorted(review.LEVEL_ROLES[ReportState.UNAPPROVED.value]),
        "my_steps": [st for st in review.steps_for(_role(user)) if st in chain],
    }


@router.get("/review/inbox", response_model=Inbox, responses=errors(*COMMON))
def review_inbox(
    request: Request,
    user: CurrentUser,
    step: Step | None = None,
    organisation: Annotated[str | None, Query(max_length=100)] = None,
    type: Literal["hazard", "activity", "eo", "accident", "eore", "qm", "handover"] | None = None,
    all: Annotated[
        bool, Query(description="Every pending report in scope, not only those for your level")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:
    """Pending reports waiting for a step your role takes (oldest first); operators: own org."""
    scoped = user.scope.organisation
    if scoped is not None and organisation and organisation != scoped:
        return {"items": [], "total": 0, "limit": limit, "offset": offset, "steps": []}
    role = None if all else _role(user)
    items, total = review.inbox(
        request.app.state.store,
        role=role,
        step=step,
        organisation=scoped or organisation or None,
        type=type,
        limit=limit,
        offset=offset,
    )
    steps = review.steps_for(role)
    return {
        "items": [asdict(i) for i in items],
        "total": total,
        "limit": limit,
        "offset": offset,
        "steps": [st for st in steps if step is None or st == step],
    }


@router.get(
    "/reports/{report_id}/review", response_model=ReviewDetail, responses=errors(*COMMON, 404)
)
def show_review(report_id: str, request: Request, response: Response, user: CurrentUser) -> Any:
    """A report for review: warnings, history, what approving changes (m² released by
    category, status, remaining area), reconciliation proposals and your possible decisions."""
    row = _get(request, user, report_id)
    rv = review.review(request.app.state.store, report_id)
    role = _role(user)
    decisions = []
    if rv.next_step is not None:
        if role in review.LEVEL_ROLES[rv.next_step]:
            decisions.append(review.LEVEL_ACTION[rv.next_step])
        if role in review.LEVEL_ROLES[ReportState.REJECTED.value]:
            decisions.append("reject")
    elif (
        row["state"] == ReportState.APPROVED.value
        and role in review.LEVEL_ROLES[ReportState.UNAPPROVED.value]
    ):
        decisions.append("unapprove")
    response.headers["ETag"] = etag(int(row["version"]))
    return {
        "report": rv.report,
        "history": rv.history,
        "next_step": rv.next_step,
        "effect": rv.effect,
        "proposals": [asdict(p) for p in rv.proposals],
        "decisions": decisions,
        "levels": review.approval_levels(request.app.state.store),
    }


@router.post(
    "/reports/{report_id}/review",
    response_model=ReviewOutcome,
    responses=errors(*COMMON, 404, 409, 412, 428),
)
def decide(
    report_id: str,
    body: ReviewDecision,
    request: Request,
    response: Response,
    user: CurrentUser,
    if_match: Annotated[str | None, Header()] = None,
) -> Any:
    """Take the decision of the report's current level (needs If-Match).

    ``verify`` (operator QC), ``ops_approve`` (operations), ``approve`` (final, IM officer) move
    the report one level up and must match its next step (409 otherwise: no level is
    skipped); ``reject`` needs a ``reason``. Your role must hold the level (403 otherwise).
    """
    row = _get(request, user, report_id)
    version = expected_version(if_match)
    store = request.app.state.store
    target = DECISION_STATE[body.decision]
    if _role(user) not in review.LEVEL_ROLES[target]:
        raise PermissionDeniedError(
            f"role {_role(user)} cannot {body.decision} (moves a report to {target!r}; allowed: "
            f"{', '.join(sorted(review.LEVEL_ROLES[target]))})"
        )
    if body.decision == "reject":
        if not body.reason or not body.reason.strip():
            raise ValidationError("a rejection needs a reason for the submitter", where="reason")
        review.reject(
            store,
            report_id,
            reason=body.reason,
            actor=user.username,
            role=_role(user),
            expected_version=version,
        )
        effect = None
    else:
        step = review.advance(
            store,
            report_id,
            actor=user.username,
            role=_role(user),
            expect=target,
            expected_version=version,
        )
        effect = review.effect_summary(step.effect) if step.effect is not None else None
    return {
        "report": _after(request, response, report_id),
        "from_state": row["state"],
        "to_state": target,
        "effect": effect,
    }


class ReconcileBody(BaseModel):
    """The existing hazard the report should update or link to."""

    model_config = ConfigDict(extra="forbid")

    hazard_id: str = Field(min_length=1, max_length=100)


class Reconciled(BaseModel):
    """The original (now superseded) and the copy naming the hazard, at the same level."""

    report_id: str
    new_report_id: str
    hazard_id: str
    report: ReportItem  # type: ignore[valid-type]


@router.post(
    "/reports/{report_id}/reconcile",
    response_model=Reconciled,
    responses=errors(*COMMON, 404, 409, 412, 428),
)
def reconcile(
    report_id: str,
    body: ReconcileBody,
    request: Request,
    response: Response,
    user: CurrentUser,
    if_match: Annotated[str | None, Header()] = None,
) -> Any:
    """Act on a proposal: attach a pending report to an existing hazard (needs If-Match).

    The report is never edited: a copy naming the hazard is submitted with ``supersedes``
    at the same review level, and the original is marked superseded.
    """
    _get(request, user, report_id)
    new_id = review.reconcile(
        request.app.state.store,
        report_id,
        hazard_id=body.hazard_id,
        actor=user.username,
        role=_role(user),
        expected_version=expected_version(if_match),
    )
    return {
        "report_id": report_id,
        "new_report_id": new_id,
        "hazard_id": body.hazard_id,
        "report": _after(request, response, new_id),
    }

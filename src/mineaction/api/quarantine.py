"""``/api/v1/quarantine``: records that failed validation on import, and resolving them.

List (paging; filter by import, form, organisation, open/resolved), show one with every reason,
the raw record and any proposed repaired geometry, and act on it: discard with a reason,
resubmit a corrected report document, or accept the proposed repair explicitly. Actions need
``If-Match`` with the record's ETag. Operators see and act on their organisation's records.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from mineaction.api.common import COMMON, errors, etag, expected_version
from mineaction.core.access import PERSONAL_DATA
from mineaction.errors import PermissionDeniedError
from mineaction.services import quarantine as svc
from mineaction.store import reports as repo
from mineaction.web.auth import CurrentUser

router = APIRouter(prefix="/api/v1", tags=["quarantine"])

#: A quarantine record id: a database integer (found by the API fuzz run: a 40-digit id was a
#: 500 on SQLite, "Python int too large to convert to SQLite INTEGER").
RecordId = Annotated[int, Path(ge=1, le=2**53)]

#: Forms whose raw records carry personal data (victims): reads are audited.
PERSONAL_FORMS = {"ma_accident"}


class Problem(BaseModel):
    """One reason the record was rejected."""

    field: str
    message: str


class Repair(BaseModel):
    """A proposed repaired geometry (``make_valid``) for an invalid polygon: not applied."""

    field: str
    reason: str
    proposed: dict[str, Any]


class QuarantineSummary(BaseModel):
    """A quarantined record in a listing."""

    id: int
    batch_id: str
    at: str
    organisation: str
    filename: str
    record: str
    source_key: str | None
    form_id: str | None
    field: str | None
    message: str
    resolved: bool
    resolution: str | None
    resolved_at: str | None
    resolved_by: str | None
    report_id: str | None
    version: int
    repair_proposed: bool


class QuarantineRecord(QuarantineSummary):
    """A quarantined record with every reason, the raw record and proposed repairs."""

    problems: list[Problem]
    raw: Any = None
    resolution_note: str | None = None
    repairs: list[Repair] = []


class QuarantinePage(BaseModel):
    """A page of quarantined records, newest first."""

    items: list[QuarantineSummary]
    total: int
    limit: int
    offset: int


class DiscardBody(BaseModel):
    """Why the record is set aside."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class ResubmitBody(BaseModel):
    """The corrected record as a report document (docs/report-format.md)."""

    model_config = ConfigDict(extra="forbid")

    report: dict[str, Any]


class Resolved(BaseModel):
    """The record after the action, and the report submitted in its place (if any)."""

    record: QuarantineRecord
    report_id: str | None = None
    report_status: str | None = None
    warnings: list[str] = []


def _org(user: Any) -> str | None:
    org: str | None = user.scope.organisation
    return org


def _show(request: Request, response: Response, user: Any, record_id: int) -> dict[str, Any]:
    rec = svc.get_record(request.app.state.store, record_id, organisation=_org(user))
    response.headers["ETag"] = etag(int(rec["version"]))
    return rec


@router.get("/quarantine", response_model=QuarantinePage, responses=errors(*COMMON))
def list_quarantine(
    request: Request,
    user: CurrentUser,
    batch_id: Annotated[str | None, Query(max_length=40, description="An import's id")] = None,
    form: Annotated[str | None, Query(max_length=50)] = None,
    organisation: Annotated[str | None, Query(max_length=100)] = None,
    status: Literal["open", "resolved", "all"] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:
    """Quarantined records, newest first (open ones by default); operators: own organisation."""
    scoped = _org(user)
    if scoped is not None and organisation and organisation != scoped:
        return {"items": [], "total": 0, "limit": limit, "offset": offset}
    items, total = svc.list_records(
        request.app.state.store,
        organisation=scoped or organisation or None,
        batch_id=batch_id or None,
        form_id=form or None,
        status=status,
        limit=limit,
        offset=offset,
    )
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get(
    "/quarantine/{record_id}", response_model=QuarantineRecord, responses=errors(*COMMON, 404)
)
def show_quarantined(
    record_id: RecordId, request: Request, response: Response, user: CurrentUser
) -> Any:
    """One quarantined record: every reason, the raw record, proposed repairs; ``ETag``."""
    rec = _show(request, response, user, record_id)
    if rec["form_id"] in PERSONAL_FORMS:
        if user.role not in PERSONAL_DATA and _org(user) is None:
            raise PermissionDeniedError("this record holds victims' personal data")
        with request.app.state.store.write() as conn:
            repo.audit(
                conn,
                actor=user.username,
                action="read",
                entity="quarantine",
                entity_id=str(record_id),
                details={"personal_data": True},
            )
    return rec


@router.post(
    "/quarantine/{record_id}/discard",
    response_model=Resolved,
    responses=errors(*COMMON, 404, 409, 412, 428),
)
def discard(
    record_id: RecordId,
    body: DiscardBody,
    request: Request,
    response: Response,
    user: CurrentUser,
    if_match: Annotated[str | None, Header()] = None,
) -> Any:
    """Set the record aside for good, with a reason (needs If-Match)."""
    svc.discard(
        request.app.state.store,
        record_id,
        reason=body.reason,
        actor=user.username,
        organisation=_org(user),
        version=expected_version(if_match),
    )
    return {"record": _show(request, response, user, record_id)}


@router.post(
    "/quarantine/{record_id}/resubmit",
    response_model=Resolved,
    responses=errors(*COMMON, 404, 409, 412, 428),
)
def resubmit(
    record_id: RecordId,
    body: ResubmitBody,
    request: Request,
    response: Response,
    user: CurrentUser,
    if_match: Annotated[str | None, Header()] = None,
) -> Any:
    """Submit a corrected report document in the record's place (needs If-Match); it is
    *submitted* and goes through review like any report."""
    result = svc.resubmit(
        request.app.state.store,
        record_id,
        body.report,
        actor=user.username,
        organisation=_org(user),
        version=expected_version(if_match),
    )
    return {
        "record": _show(request, response, user, record_id),
        "report_id": result.report_id,
        "report_status": result.status,
        "warnings": result.warnings,
    }


@router.post(
    "/quarantine/{record_id}/accept-repair",
    response_model=Resolved,
    responses=errors(*COMMON, 404, 409, 412, 428),
)
def accept_repair(
    record_id: RecordId,
    request: Request,
    response: Response,
    user: CurrentUser,
    if_match: Annotated[str | None, Header()] = None,
) -> Any:
    """Accept the proposed repaired geometry explicitly (needs If-Match): the record is
    submitted with it, noted in ``extensions.geometry_repair``, and goes through review."""
    result = svc.accept_repair(
        request.app.state.store,
        record_id,
        actor=user.username,
        organisation=_org(user),
        version=expected_version(if_match),
    )
    return {
        "record": _show(request, response, user, record_id),
        "report_id": result.report_id,
        "report_status": result.status,
        "warnings": result.warnings,
    }

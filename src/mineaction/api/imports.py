"""``/api/v1/imports``: upload field data (multipart), dry runs and their confirmation.

``POST /api/v1/imports`` takes the file as multipart ``file`` with ``organisation``, optional
``form``, optional ``mapping`` (a YAML column mapping file) and ``dry_run``. Every upload leaves
an import record (``GET /api/v1/imports/{id}``) with the same summary as the CLI: counts per
form (read / new / duplicate / rejected) and every record's outcome with its problems
(file, row or submission ID, field, message).

A dry run writes none of the file's content: it is kept as a *checked* record, with the
uploaded bytes, for 24 hours. ``POST /api/v1/imports/{id}/confirm`` imports those bytes (checked
again against the database as it is then) without uploading them again: the clean path on
slow field connections. Posting the same file again without ``dry_run`` does the same;
re-imports never duplicate.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from mineaction.api.common import COMMON, errors
from mineaction.core.access import ORG_SCOPED
from mineaction.errors import PermissionDeniedError, ValidationError
from mineaction.forms import FORMS
from mineaction.services import importing
from mineaction.services.users import User
from mineaction.store.reference import organisation_codes
from mineaction.web.auth import CurrentUser
from mineaction.web.limits import UploadTooLargeError

router = APIRouter(prefix="/api/v1", tags=["imports"])

Status = Literal["checked", "confirmed", "expired", "imported"]
#: Largest column mapping file (YAML).
MAX_MAPPING_BYTES = 256 * 1024


class Counts(BaseModel):
    """Records read, new (submitted for review), duplicate (already held) and rejected."""

    read: int
    new: int
    duplicate: int
    rejected: int


class Problem(BaseModel):
    """One reason a record was rejected: the field (form field or report path) and message."""

    field: str
    message: str


class RecordOutcome(BaseModel):
    """What happened to one record: ``where`` names the file and row or submission ID."""

    where: str
    form_id: str | None
    status: Literal["new", "duplicate", "rejected"]
    report_id: str | None = None
    supersedes: str | None = None
    problems: list[Problem] = []
    warnings: list[str] = []
    repairs: list[dict[str, Any]] = []


class ImportRecord(BaseModel):
    """An import (or a checked dry run) with its summary and every record's outcome."""

    batch_id: str
    at: str
    actor: str | None
    organisation: str
    filename: str
    format: str
    form: str | None
    sha256: str
    dry_run: bool
    status: Status
    confirmed_as: str | None
    expires_at: str | None
    totals: Counts
    per_form: dict[str, Counts]
    notes: list[str] = []
    records: list[RecordOutcome] = []
    quarantined: int = 0


class ImportSummary(BaseModel):
    """An import record without the per-record outcomes (for listings)."""

    batch_id: str
    at: str
    actor: str | None
    organisation: str
    filename: str
    format: str
    form: str | None
    sha256: str
    dry_run: bool
    status: Status
    confirmed_as: str | None
    expires_at: str | None
    totals: Counts
    per_form: dict[str, Counts]


class ImportPage(BaseModel):
    """A page of import records, newest first."""

    items: list[ImportSummary]
    total: int
    limit: int
    offset: int


def _scope_org(user: User) -> str | None:
    """Return the organisation a scoped caller is limited to (None: every organisation)."""
    return user.scope.organisation


def _organisation(request: Request, user: User, organisation: str | None) -> str:
    org = (organisation or "").strip() or (user.organisation if user.role in ORG_SCOPED else "")
    if not org:
        raise ValidationError("name the organisation the data comes from", where="organisation")
    if user.role in ORG_SCOPED and org != user.organisation:
        raise PermissionDeniedError(
            f"you may only import for your organisation {user.organisation!r}, not {org!r}"
        )
    if len(org) > 100:
        raise ValidationError(
            "an organisation code has at most 100 characters", where="organisation"
        )
    with request.app.state.store.read() as conn:
        known = organisation_codes(conn)
    if known and org not in known:
        raise ValidationError(
            f"unknown organisation {org!r}; registered: {', '.join(sorted(known))}",
            where="organisation",
        )
    return org


def _read_upload(upload: UploadFile, limit: int, what: str) -> bytes:
    name = upload.filename or what
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLargeError(limit, where=name)
    if not data:
        raise ValidationError("the file is empty", where=name)
    return data


@router.post(
    "/imports",
    status_code=201,
    response_model=ImportRecord,
    responses=errors(*COMMON, 413),
)
def upload(
    request: Request,
    response: Response,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="The export or GIS file")],
    organisation: Annotated[
        str | None,
        Form(max_length=100, description="Organisation code (operators: their own, the default)"),
    ] = None,
    form: Annotated[
        str | None,
        Form(
            max_length=50,
            description=f"Form the records fill (Kobo CSV/XLSX and GIS files need it): "
            f"{', '.join(FORMS)}",
        ),
    ] = None,
    dry_run: Annotated[
        bool, Form(description="Check only: keep the result for confirmation, write no data")
    ] = False,
    mapping: Annotated[
        UploadFile | None, File(description="YAML column mapping for foreign columns")
    ] = None,
) -> Any:
    """Import a file of field data (multipart); ``dry_run`` checks it and keeps it to confirm."""
    limit: int = request.app.state.max_upload_bytes
    org = _organisation(request, user, organisation)
    filename = (file.filename or "upload").replace("\\", "/").rsplit("/", 1)[-1][:300] or "upload"
    data = _read_upload(file, limit, filename)
    mapping_text = None
    if mapping is not None and (mapping.filename or mapping.size):
        mapping_text = _read_upload(mapping, MAX_MAPPING_BYTES, "mapping")
    store = request.app.state.store
    if dry_run:
        result = importing.check_upload(
            store,
            data,
            filename,
            organisation=org,
            form=form,
            mapping=mapping_text,
            actor=user.username,
        )
    else:
        result = importing.import_bytes(
            store,
            data,
            filename,
            organisation=org,
            form=form,
            mapping=mapping_text,
            actor=user.username,
        )
    response.headers["Location"] = f"/api/v1/imports/{result.batch_id}"
    return importing.import_record(store, result.batch_id)


@router.get("/imports", response_model=ImportPage, responses=errors(*COMMON))
def list_imports(
    request: Request,
    user: CurrentUser,
    organisation: Annotated[str | None, Query(max_length=100)] = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:
    """Import records, newest first; operators see their organisation's only."""
    scoped = _scope_org(user)
    if scoped is not None and organisation and organisation != scoped:
        return {"items": [], "total": 0, "limit": limit, "offset": offset}
    items, total = importing.list_imports(
        request.app.state.store,
        organisation=scoped or organisation or None,
        status=status,
        limit=limit,
        offset=offset,
    )
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/imports/{batch_id}", response_model=ImportRecord, responses=errors(*COMMON, 404))
def show_import(batch_id: str, request: Request, user: CurrentUser) -> Any:
    """One import record: the summary and every record's outcome with its problems."""
    return importing.import_record(request.app.state.store, batch_id, organisation=_scope_org(user))


@router.post(
    "/imports/{batch_id}/confirm",
    status_code=201,
    response_model=ImportRecord,
    responses=errors(*COMMON, 404, 409),
)
async def confirm_import(
    batch_id: str, request: Request, response: Response, user: CurrentUser
) -> Any:
    """Import the file kept by a dry run (no second upload); answers the new import record."""
    store = request.app.state.store
    result = await run_in_threadpool(
        importing.confirm_import,
        store,
        batch_id,
        actor=user.username,
        organisation=_scope_org(user),
    )
    response.headers["Location"] = f"/api/v1/imports/{result.batch_id}"
    return await run_in_threadpool(importing.import_record, store, result.batch_id)

"""``/api/v1/users`` and ``/api/v1/audit``: accounts, tokens and the audit log (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, Field

from mineaction.api.common import COMMON, errors, etag, expected_version
from mineaction.core.access import Role
from mineaction.services import users as svc
from mineaction.web.auth import CurrentUser, get_auth

router = APIRouter(prefix="/api/v1", tags=["users"])

RoleName = Literal["admin", "im_officer", "operations", "operator_entry", "operator_qc", "viewer"]
#: Interface languages (``mineaction.web.i18n.LANGUAGES``); null: follow the browser.
Language = Literal["en", "ru"]


class UserOut(BaseModel):
    """An account (no secrets)."""

    username: str
    display_name: str | None = None
    role: str
    organisation: str | None = None
    admin_area: str | None = None
    disabled: bool
    locale: str | None = Field(
        default=None, description="interface language (null: the browser's Accept-Language)"
    )
    created_at: str | None = None
    last_login_at: str | None = None
    version: int


class UserIn(BaseModel):
    """A new account; without a password one is generated and returned once."""

    username: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@\-]+$")
    role: RoleName
    organisation: str | None = Field(default=None, max_length=100)
    admin_area: str | None = Field(default=None, max_length=50)
    display_name: str | None = Field(default=None, max_length=200)
    locale: Language | None = Field(
        default=None, description="interface language (null: the browser's Accept-Language)"
    )
    password: str | None = Field(default=None, min_length=10, max_length=1000)


class UserCreated(UserOut):
    """The new account and, when generated, its password (shown once)."""

    password: str | None = None


class UserPatch(BaseModel):
    """Changes to an account."""

    model_config = {"extra": "forbid"}

    role: RoleName | None = None
    organisation: str | None = Field(default=None, max_length=100)
    admin_area: str | None = Field(default=None, max_length=50)
    display_name: str | None = Field(default=None, max_length=200)
    disabled: bool | None = None
    locale: Language | None = Field(
        default=None, description="interface language (null: the browser's Accept-Language)"
    )


class TokenIn(BaseModel):
    """A new API token."""

    name: str | None = Field(default=None, max_length=200)
    days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(BaseModel):
    """A new API token: ``token`` is shown once."""

    token_id: str
    token: str
    username: str
    expires_at: str | None = None


class AuditLine(BaseModel):
    """One line of the audit log."""

    id: int
    at: str
    actor: str | None = None
    action: str
    entity: str
    entity_id: str | None = None
    remote: str | None = None
    details: Any = None


@router.get("/users", response_model=list[UserOut], responses=errors(*COMMON))
def list_users(request: Request, user: CurrentUser) -> list[dict[str, Any]]:
    """List accounts."""
    return svc.list_users(request.app.state.store)


@router.post("/users", status_code=201, response_model=UserCreated, responses=errors(*COMMON, 409))
def add_user(
    body: UserIn, request: Request, response: Response, user: CurrentUser
) -> dict[str, Any]:
    """Create an account."""
    password = body.password or svc.generate_password()
    store = request.app.state.store
    svc.add_user(
        store,
        body.username,
        role=body.role,
        password=password,
        organisation=body.organisation,
        admin_area=body.admin_area,
        display_name=body.display_name,
        locale=body.locale,
        actor=user.username,
    )
    out = svc.get_user(store, body.username)
    response.headers["ETag"] = etag(out["version"])
    response.headers["Location"] = f"/api/v1/users/{body.username}"
    return {**out, "password": None if body.password else password}


@router.get("/users/{username}", response_model=UserOut, responses=errors(*COMMON, 404))
def show_user(
    username: str, request: Request, response: Response, user: CurrentUser
) -> dict[str, Any]:
    """Show an account; its ETag is needed to change it."""
    out = svc.get_user(request.app.state.store, username)
    response.headers["ETag"] = etag(out["version"])
    return out


@router.patch("/users/{username}", response_model=UserOut, responses=errors(*COMMON, 404, 412, 428))
def change_user(
    username: str,
    body: UserPatch,
    request: Request,
    user: CurrentUser,
    response: Response,
    if_match: str | None = Header(default=None),
) -> dict[str, Any]:
    """Change role, organisation, admin area, display name, language or disable (If-Match)."""
    version = expected_version(if_match)
    changes = body.model_dump(exclude_unset=True)
    out = svc.update_user(
        request.app.state.store, username, changes, expected_version=version, actor=user.username
    )
    get_auth(request).forget_tokens()
    response.headers["ETag"] = etag(out["version"])
    return out


@router.post(
    "/users/{username}/tokens",
    status_code=201,
    response_model=TokenOut,
    responses=errors(*COMMON, 404, 409),
)
def create_token(
    username: str, body: TokenIn, request: Request, user: CurrentUser
) -> dict[str, Any]:
    """Create an API token for a user (shown once)."""
    new = svc.create_token(
        request.app.state.store, username, name=body.name, days=body.days, actor=user.username
    )
    return {
        "token_id": new.token_id,
        "token": new.token,
        "username": new.username,
        "expires_at": new.expires_at.isoformat() if new.expires_at else None,
    }


def _audit_rows(
    request: Request,
    actor: str | None,
    entity: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int | None,
    offset: int,
) -> list[dict[str, Any]]:
    return svc.list_audit(
        request.app.state.store,
        actor=actor,
        entity=entity,
        action=action,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )


@router.get("/audit", response_model=list[AuditLine], responses=errors(*COMMON))
def audit(
    request: Request,
    user: CurrentUser,
    actor: str | None = Query(default=None, max_length=100),
    entity: str | None = Query(default=None, max_length=50),
    action: str | None = Query(default=None, max_length=50),
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(default=100, ge=1, le=10_000),
    offset: int = Query(default=0, ge=0, le=10_000_000),
) -> list[dict[str, Any]]:
    """The audit log, newest first: every write and every read of personal data."""
    return _audit_rows(request, actor, entity, action, since, until, limit, offset)


@router.get(
    "/audit.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"},
        **errors(*COMMON),
    },
)
def audit_csv(
    request: Request,
    user: CurrentUser,
    actor: str | None = Query(default=None, max_length=100),
    entity: str | None = Query(default=None, max_length=50),
    since: datetime | None = None,
    until: datetime | None = None,
) -> Response:
    """Export the audit log as CSV."""
    rows = _audit_rows(request, actor, entity, None, since, until, None, 0)
    return Response(
        svc.audit_csv(rows),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )


__all__ = ["Role", "router"]

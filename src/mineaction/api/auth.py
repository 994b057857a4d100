"""``/api/v1/auth``: sign in with a password (web session cookie), sign out, who am I."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from mineaction.api.common import COMMON, errors
from mineaction.services.users import User
from mineaction.web import auth

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginRequest(BaseModel):
    """User name and password."""

    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class Me(BaseModel):
    """The caller: user name (null when anonymous), role, scope and session CSRF token."""

    username: str | None
    role: str
    organisation: str | None = None
    admin_area: str | None = None
    display_name: str | None = None
    version: int = 0
    csrf_token: str | None = None
    via: str = "anonymous"


def _me(request: Request, user: User) -> dict[str, Any]:
    return {
        **user.to_dict(),
        "csrf_token": auth.csrf_token(request),
        "via": getattr(request.state, "auth_via", "anonymous"),
    }


@router.post("/login", response_model=Me, responses=errors(*COMMON, 429))
def login(body: LoginRequest, request: Request, response: Response) -> dict[str, Any]:
    """Check the password and open a web session (cookie); returns the CSRF token for forms."""
    session = auth.login(request, response, body.username, body.password)
    request.state.auth_via = "session"
    return _me(request, session.user)


@router.post("/logout", status_code=204, responses=errors(*COMMON))
def logout(request: Request, response: Response, user: auth.CurrentUser) -> Response:
    """End the web session."""
    out = Response(status_code=204)
    auth.logout(request, out)
    return out


@router.get("/me", response_model=Me, responses=errors(*COMMON))
def me(request: Request, user: auth.CurrentUser) -> dict[str, Any]:
    """Return who the caller is (anonymous callers are the ``public`` role)."""
    return _me(request, user)

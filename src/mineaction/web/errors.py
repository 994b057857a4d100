"""One error shape for every response: ``{"code", "message", "details"}``; no stack traces."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from mineaction.errors import AuthenticationError, MineActionError
from mineaction.web.auth import error_headers

log = logging.getLogger("mineaction.web")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "stale_version",
    413: "too_large",
    415: "unsupported_media_type",
    428: "precondition_required",
    429: "too_many_requests",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """Return the JSON error shape."""
    return {"code": code, "message": message, "details": details}


def _field(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _wants_login_redirect(request: Request) -> str | None:
    login_path: str | None = getattr(request.app.state, "login_path", None)
    path = request.url.path
    if (
        login_path
        and request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and not path.startswith(("/api/", "/ogc"))
        and path != login_path
    ):
        return f"{login_path}?next={request.url.path}"
    return None


async def mineaction_error(request: Request, exc: Exception) -> Response:
    """Turn a :class:`MineActionError` into its HTTP status and the JSON error shape."""
    assert isinstance(exc, MineActionError)
    if isinstance(exc, AuthenticationError):
        target = _wants_login_redirect(request)
        if target:
            return RedirectResponse(target, status_code=303)
    message = f"{exc.where}: {exc.message}" if exc.where else exc.message
    return JSONResponse(
        error_body(exc.code, message, exc.details),
        status_code=exc.http_status,
        headers=error_headers(exc),
    )


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Bad parameters or body: 400 listing each field and what is wrong."""
    assert isinstance(exc, RequestValidationError)
    details = [
        {"field": _field(tuple(e.get("loc", ()))), "message": str(e.get("msg", ""))}
        for e in exc.errors()
    ]
    text = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
    return JSONResponse(error_body("invalid", f"invalid request: {text}", details), status_code=400)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """Framework HTTP errors (unknown path, wrong method) in the same shape."""
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


async def data_error(request: Request, exc: Exception) -> JSONResponse:
    """A value the database cannot store (e.g. NUL characters): 400."""
    log.info("database refused a value on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        error_body("invalid", "a value in the request cannot be stored (invalid characters?)"),
        status_code=400,
    )


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """Anything else: log it with its traceback, answer 500 without internals."""
    log.exception(
        "unexpected error on %s %s",
        request.method,
        request.url.path,
        extra={"request_id": getattr(request.state, "request_id", None)},
    )
    return JSONResponse(
        error_body("internal_error", "internal error: the administrator can find it in the log"),
        status_code=500,
    )


def install(app: FastAPI) -> None:
    """Register the error handlers on ``app``."""
    app.add_exception_handler(MineActionError, mineaction_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(DataError, data_error)
    app.add_exception_handler(Exception, unexpected_error)

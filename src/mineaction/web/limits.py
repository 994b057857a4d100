"""The upload size limit: one setting for the API and the web import page, enforced while streaming.

The limit comes from ``mineaction serve --max-upload-mb``, else the ``MINEACTION_MAX_UPLOAD_MB``
environment variable, else :data:`DEFAULT_MAX_UPLOAD_MB`. :class:`UploadLimit` (ASGI middleware)
refuses a request whose declared ``Content-Length`` is over the limit before reading any of it,
and stops a body sent without a length (chunked) as soon as it passes the limit: a huge body is
never read into memory or spooled to disk. The answer is 413 with the JSON error shape.
"""

from __future__ import annotations

import os
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mineaction.errors import MineActionError, ValidationError
from mineaction.io.safety import MAX_FILE_BYTES

ENV = "MINEACTION_MAX_UPLOAD_MB"
DEFAULT_MAX_UPLOAD_MB = 50.0
#: Room for multipart headers and the small form fields next to the file (organisation, ...).
MULTIPART_SLACK = 256 * 1024
_MB = 1024 * 1024


def max_upload_bytes(mb: float | None = None) -> int:
    """Return the upload limit in bytes: ``mb``, else ``$MINEACTION_MAX_UPLOAD_MB``, else 50 MB.

    >>> max_upload_bytes(2)
    2097152
    >>> max_upload_bytes(0)
    Traceback (most recent call last):
    ...
    mineaction.errors.ValidationError: --max-upload-mb: the upload limit must be more than 0 MB ...
    """
    where = "--max-upload-mb"
    if mb is None:
        raw = os.environ.get(ENV, "").strip()
        if raw:
            where = ENV
            try:
                mb = float(raw)
            except ValueError:
                raise ValidationError(f"{raw!r} is not a number of megabytes", where=ENV) from None
        else:
            mb = DEFAULT_MAX_UPLOAD_MB
    limit = int(mb * _MB)
    if not limit > 0 or limit > MAX_FILE_BYTES:
        raise ValidationError(
            f"the upload limit must be more than 0 MB and at most {MAX_FILE_BYTES // _MB} MB "
            f"(the importer's own ceiling), got {mb}",
            where=where,
        )
    return limit


def describe(limit: int) -> str:
    """Return the limit for people.

    >>> describe(50 * 1024 * 1024), describe(1536)
    ('50 MB', '1.5 KB')
    """
    if limit >= _MB:
        value, unit = limit / _MB, "MB"
    else:
        value, unit = limit / 1024, "KB"
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"


class UploadTooLargeError(MineActionError, HTTPException):
    """The request body or uploaded file is larger than the configured upload limit.

    It is also a Starlette ``HTTPException`` so the framework passes it through body parsing
    untouched; the app's handler for :class:`MineActionError` answers it.
    """

    http_status = 413
    code = "too_large"

    def __init__(self, limit: int, *, where: str | None = None) -> None:
        message = (
            f"the upload is larger than the limit of {describe(limit)}: split the export, or ask "
            f"the administrator to raise it ({ENV} or `mineaction serve --max-upload-mb`)"
        )
        MineActionError.__init__(self, message, where=where, details={"limit_bytes": limit})
        self.status_code = 413
        self.detail = message
        self.headers = None

    def __str__(self) -> str:
        return MineActionError.__str__(self)


def too_large_body(limit: int) -> bytes:
    """Return the JSON error body of a 413."""
    exc = UploadTooLargeError(limit)
    return orjson.dumps({"code": exc.code, "message": exc.message, "details": exc.details})


class UploadLimit:
    """ASGI middleware: 413 for request bodies larger than the upload limit (plus form slack)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.body_limit = max_bytes + MULTIPART_SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse an oversized declared body at once; count a streamed one as it arrives."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.body_limit:
            await _send_413(send, self.max_bytes)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.body_limit:
                    raise UploadTooLargeError(self.max_bytes)
            return message

        await self.app(scope, limited, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, limit: int) -> None:
    body = too_large_body(limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install(app: Any, max_bytes: int) -> None:
    """Add the limit to ``app`` and keep it in ``app.state.max_upload_bytes`` for handlers."""
    app.state.max_upload_bytes = max_bytes
    app.add_middleware(UploadLimit, max_bytes=max_bytes)

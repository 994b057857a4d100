"""Shared pieces of the REST API: error responses for OpenAPI, ETags, paging."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from mineaction.errors import PreconditionRequiredError, ValidationError


class ErrorBody(BaseModel):
    """The JSON shape of every error."""

    code: str
    message: str
    details: Any = None


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Return the ``responses=`` entry documenting error statuses with :class:`ErrorBody`."""
    described = {
        400: "Invalid parameters or body",
        401: "Not signed in, or wrong credentials",
        403: "The caller's role may not do this",
        404: "Not found (or outside the caller's scope)",
        409: "Conflicts with the current state",
        412: "The record changed since it was read (stale If-Match)",
        428: "If-Match with the record's ETag is required",
        429: "Too many failed attempts",
    }
    return {s: {"model": ErrorBody, "description": described.get(s, "Error")} for s in statuses}


#: Largest paging offset (and limit) a listing accepts; beyond it databases overflow (SQLite 2**63).
MAX_OFFSET = 10_000_000

#: Errors any route can answer (credentials, role, parameters).
COMMON = (400, 401, 403)


def etag(version: int) -> str:
    """Return the ETag of a record version.

    >>> etag(3)
    '"3"'
    """
    return f'"{version}"'


def expected_version(if_match: str | None) -> int | None:
    """Return the version an update is based on, from ``If-Match`` (None for ``*``).

    >>> expected_version('"4"'), expected_version('W/"4"'), expected_version("*")
    (4, 4, None)
    >>> expected_version(None)
    Traceback (most recent call last):
    ...
    mineaction.errors.PreconditionRequiredError: this update needs an If-Match header ...
    """
    if if_match is None or not if_match.strip():
        raise PreconditionRequiredError(
            "this update needs an If-Match header with the ETag from your last read of the record"
        )
    value = if_match.strip()
    if value == "*":
        return None
    value = value.removeprefix("W/").strip('"')
    try:
        return int(value)
    except ValueError:
        raise ValidationError(
            f'If-Match {if_match!r} is not an ETag of this API (e.g. "3")'
        ) from None

"""The error hierarchy: every error says what was wrong, where, and knows its HTTP status."""

from __future__ import annotations

from typing import Any


class MineActionError(Exception):
    """Base of all errors raised on purpose by mineaction."""

    http_status = 500
    code = "internal_error"

    def __init__(self, message: str, *, where: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.details = details

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape used by the API: code, message, details."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.where:
            out["where"] = self.where
        if self.details is not None:
            out["details"] = self.details
        return out


class ValidationError(MineActionError):
    """Input is malformed or breaks a domain rule; nothing was written."""

    http_status = 400
    code = "invalid"


class GeometryError(ValidationError):
    """A geometry failed an entry check (invalid ring, swapped axes, outside the programme area)."""

    code = "invalid_geometry"


class UnsafeCoordinateError(GeometryError):
    """A coordinate is NaN, infinite or absurdly large: the whole file is refused, not one record.

    No survey tool writes such values; they come from corrupted or malicious files, so an
    import stops and writes nothing instead of quarantining the record.
    """

    code = "unsafe_coordinates"


class TransitionError(ValidationError):
    """A status change is not allowed by the hazard status rules."""

    http_status = 409
    code = "illegal_transition"


class NotFoundError(MineActionError):
    """The record asked for does not exist (or is outside the caller's scope)."""

    http_status = 404
    code = "not_found"


class ConflictError(MineActionError):
    """The request conflicts with the current state (duplicate, wrong workflow state)."""

    http_status = 409
    code = "conflict"


class StaleVersionError(MineActionError):
    """The record changed since the client read it (optimistic concurrency)."""

    http_status = 412
    code = "stale_version"


class PreconditionRequiredError(MineActionError):
    """An update was sent without the version it is based on (``If-Match``)."""

    http_status = 428
    code = "precondition_required"


class TooManyRequestsError(MineActionError):
    """Too many attempts (e.g. failed logins): wait and try again."""

    http_status = 429
    code = "too_many_requests"


class PermissionDeniedError(MineActionError):
    """The caller's role or scope does not allow this."""

    http_status = 403
    code = "forbidden"


class AuthenticationError(MineActionError):
    """The caller is not signed in or the credentials are wrong."""

    http_status = 401
    code = "unauthenticated"


class StoreError(MineActionError):
    """The database is missing, of the wrong schema version, or unreachable."""

    http_status = 503
    code = "store_unavailable"

"""Roles and scopes: who may see what (pure rules, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """A user's role: what they may do (their scope says on which data)."""

    ADMIN = "admin"
    IM_OFFICER = "im_officer"
    OPERATIONS = "operations"
    OPERATOR_ENTRY = "operator_entry"
    OPERATOR_QC = "operator_qc"
    VIEWER = "viewer"
    PUBLIC = "public"


ALL_ROLES = frozenset(Role)
#: Every signed-in role (everyone but the anonymous public).
SIGNED_IN = frozenset(Role) - {Role.PUBLIC}
#: Roles that always see only their own organisation's data.
ORG_SCOPED = frozenset({Role.OPERATOR_ENTRY, Role.OPERATOR_QC})
#: Roles that may read victims' personal data (name, age, sex).
PERSONAL_DATA = frozenset({Role.ADMIN, Role.IM_OFFICER})
#: Roles that need an organisation.
NEEDS_ORGANISATION = ORG_SCOPED

ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "administrator: users, audit log, everything",
    Role.IM_OFFICER: "IM officer: approve/unapprove reports, reference data, read all",
    Role.OPERATIONS: "operations: plan, prioritise, tasks, read all",
    Role.OPERATOR_ENTRY: "operator data entry: submit and see own organisation's reports",
    Role.OPERATOR_QC: "operator QC: verify own organisation's reports",
    Role.VIEWER: "viewer: read-only within a scope",
    Role.PUBLIC: "public (anonymous): the generalised public view only",
}


def parse_role(value: str) -> Role:
    """Return the role named ``value`` or raise ``ValueError`` listing the roles.

    >>> parse_role("viewer")
    <Role.VIEWER: 'viewer'>
    >>> parse_role("boss")
    Traceback (most recent call last):
    ...
    ValueError: unknown role 'boss': use one of admin, im_officer, operations, ...
    """
    try:
        return Role(value)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {value!r}: use one of {names}") from None


@dataclass(frozen=True)
class Scope:
    """The data a user may see: all, or one organisation and/or an admin area (P-code prefix)."""

    organisation: str | None = None
    admin_area: str | None = None

    def allows(self, organisation: str | None, location: str | None) -> bool:
        """True when a record of ``organisation`` at ``location`` is inside the scope.

        >>> Scope("FSD").allows("FSD", "UA59"), Scope("FSD").allows("HALO", "UA59")
        (True, False)
        >>> Scope(admin_area="UA59").allows("HALO", "UA5902"), Scope(admin_area="UA59").allows("HALO", None)
        (True, False)
        >>> Scope().allows("HALO", None)
        True
        """
        if self.organisation is not None and organisation != self.organisation:
            return False
        return self.admin_area is None or (
            location is not None and location.startswith(self.admin_area)
        )

    @property
    def unlimited(self) -> bool:
        """True when the scope is everything."""
        return self.organisation is None and self.admin_area is None


def scope_for(role: Role, organisation: str | None, admin_area: str | None) -> Scope:
    """Return the data scope of a user: operators are tied to their organisation.

    Viewers are limited to their organisation when they have one; every role can be limited
    to an admin area.

    >>> scope_for(Role.OPERATOR_ENTRY, "FSD", None)
    Scope(organisation='FSD', admin_area=None)
    >>> scope_for(Role.OPERATIONS, "NMAC", None)
    Scope(organisation=None, admin_area=None)
    >>> scope_for(Role.VIEWER, "FSD", "UA59")
    Scope(organisation='FSD', admin_area='UA59')
    """
    org = organisation if role in ORG_SCOPED or role == Role.VIEWER else None
    return Scope(org, admin_area or None)

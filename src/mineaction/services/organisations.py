"""Organisations (operators, the national authority, QA bodies): create and edit, audited."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import RowMapping, insert, select, update

from mineaction.errors import ConflictError, NotFoundError, StaleVersionError
from mineaction.services.codelists import field_error
from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.store.reference import list_organisations
from mineaction.store.reports import audit

#: Kinds of organisation.
KINDS = ("authority", "operator", "ngo", "commercial", "military", "qa")
_CODE = re.compile(r"^[\w.:/\-]{1,100}$")


def check_organisation(
    code: str, name: str, kind: str, country: str | None
) -> list[tuple[str, str]]:
    """Return the problems of an organisation's fields as (field, message).

    >>> check_organisation("FSD", "Swiss Foundation for Mine Action", "ngo", "CH")
    []
    >>> check_organisation("F S D", "", "club", None)  # doctest: +NORMALIZE_WHITESPACE
    [('code', 'use 1-100 letters, digits and . : / _ - (no spaces)'),
     ('name', 'enter the name'), ('kind', "unknown kind 'club': use one of authority, operator,
     ngo, commercial, military, qa")]
    """
    problems: list[tuple[str, str]] = []
    if not _CODE.match(code):
        problems.append(("code", "use 1-100 letters, digits and . : / _ - (no spaces)"))
    if not name.strip():
        problems.append(("name", "enter the name"))
    elif len(name) > 300:
        problems.append(("name", "at most 300 characters"))
    if kind not in KINDS:
        problems.append(("kind", f"unknown kind {kind!r}: use one of {', '.join(KINDS)}"))
    if country and len(country) > 100:
        problems.append(("country", "at most 100 characters"))
    return problems


def organisation_version(org: Mapping[str, Any] | RowMapping) -> str:
    """Return the version of an organisation's editable fields (a form sends it back on save).

    It is a digest of the name, kind and country, so any saved change gives a new version
    without a version column; a change undone again gives the old one back, which loses
    nothing (the record is what the form was based on).

    >>> v = organisation_version({"name": "FSD", "kind": "ngo", "country": None})
    >>> v == organisation_version({"name": "FSD", "kind": "ngo", "country": None, "code": "X"})
    True
    >>> v == organisation_version({"name": "FSD", "kind": "ngo", "country": "CH"})
    False
    >>> len(v)
    16
    """
    fields = [org.get("name"), org.get("kind"), org.get("country")]
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:16]


def all_organisations(store: Store) -> list[dict[str, Any]]:
    """Return every organisation, by code."""
    with store.read() as conn:
        return [dict(r) for r in list_organisations(conn)]


def get_organisation(store: Store, code: str) -> dict[str, Any]:
    """Return one organisation or raise :class:`NotFoundError`."""
    o = s.organisation
    with store.read() as conn:
        row = conn.execute(select(o).where(o.c.code == code)).mappings().first()
    if row is None:
        raise NotFoundError(f"no organisation {code!r}")
    return {**dict(row), "version": organisation_version(row)}


def create_organisation(
    store: Store,
    code: str,
    name: str,
    *,
    kind: str = "operator",
    country: str | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    """Register a new organisation (a code already registered is a conflict)."""
    code, name, country = code.strip(), name.strip(), (country or "").strip() or None
    problems = check_organisation(code, name, kind, country)
    if problems:
        raise field_error(problems, "cannot register the organisation")
    o = s.organisation
    with store.write() as conn:
        if conn.execute(select(o.c.code).where(o.c.code == code)).first():
            raise ConflictError(
                f"organisation {code} is already registered: edit it instead",
                where="code",
                details={"fields": {"code": f"{code} is already registered"}},
            )
        values = {"code": code, "name": name, "kind": kind, "country": country}
        conn.execute(insert(o).values(**values))
        audit(
            conn,
            actor=actor,
            action="create",
            entity="organisation",
            entity_id=code,
            details=values,
        )
    return values


def update_organisation(
    store: Store,
    code: str,
    *,
    name: str,
    kind: str,
    country: str | None = None,
    actor: str | None = None,
    expected_version: str | None = None,
) -> dict[str, Any]:
    """Change an organisation's name, kind and country (its code is its identity).

    With ``expected_version`` (from :func:`organisation_version` of the record the change is
    based on) a record saved by someone else meanwhile raises :class:`StaleVersionError`.
    """
    name, country = name.strip(), (country or "").strip() or None
    problems = check_organisation(code, name, kind, country)
    if problems:
        raise field_error(problems, f"cannot change organisation {code}")
    o = s.organisation
    with store.write() as conn:
        before = conn.execute(select(o).where(o.c.code == code)).mappings().first()
        if before is None:
            raise NotFoundError(f"no organisation {code!r}")
        if expected_version is not None and organisation_version(before) != expected_version:
            raise StaleVersionError(
                f"organisation {code} was changed by someone else since it was read: "
                "reload it and apply your change again",
                where="_",
            )
        values = {"name": name, "kind": kind, "country": country}
        result = conn.execute(
            update(o)
            .where(
                o.c.code == code,
                o.c.name == before["name"],
                o.c.kind == before["kind"],
                o.c.country.is_(None)
                if before["country"] is None
                else o.c.country == before["country"],
            )
            .values(**values)
        )
        if result.rowcount != 1:
            raise StaleVersionError(
                f"organisation {code} changed meanwhile: reload it and apply your change again",
                where="_",
            )
        changed = {k: v for k, v in values.items() if before[k] != v}
        audit(
            conn,
            actor=actor,
            action="update",
            entity="organisation",
            entity_id=code,
            details={k: {"from": before[k], "to": v} for k, v in changed.items()},
        )
    out = {"code": code, **values}
    return {**out, "version": organisation_version(out)}

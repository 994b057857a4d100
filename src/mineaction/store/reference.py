"""Reference data: organisations (operators, the authority, QA bodies)."""

from __future__ import annotations

from sqlalchemy import Connection, RowMapping, func, insert, select, update

from mineaction.store.schema import organisation


def upsert_organisation(
    conn: Connection, code: str, name: str, *, kind: str = "operator", country: str | None = None
) -> None:
    """Add an organisation or update its name, kind and country."""
    exists = conn.execute(select(organisation.c.code).where(organisation.c.code == code)).first()
    values = {"name": name, "kind": kind, "country": country}
    if exists:
        conn.execute(update(organisation).where(organisation.c.code == code).values(**values))
    else:
        conn.execute(insert(organisation).values(code=code, **values))


def list_organisations(conn: Connection) -> list[RowMapping]:
    """Return all organisations ordered by code."""
    return list(conn.execute(select(organisation).order_by(organisation.c.code)).mappings())


def organisation_codes(conn: Connection) -> set[str]:
    """Return the registered organisation codes (empty when none are registered)."""
    if not conn.execute(select(func.count()).select_from(organisation)).scalar():
        return set()
    return {r[0] for r in conn.execute(select(organisation.c.code))}

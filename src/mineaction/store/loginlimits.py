"""Failed sign-ins kept in the database, so that rate limits hold across processes."""

from __future__ import annotations

from sqlalchemy import Connection, Float, String, delete, func, insert, literal, select

from mineaction.store import schema as s

#: Rows older than this (seconds) are deleted whatever their key (longer than any window).
KEEP_SECONDS = 86_400.0


def failures_since(conn: Connection, key: str, since: float) -> tuple[int, float | None]:
    """Return the number of failures of ``key`` at or after ``since`` and the oldest of them."""
    t = s.login_failure
    row = conn.execute(
        select(func.count(), func.min(t.c.at)).where(t.c.key == key, t.c.at > since)
    ).one()
    return int(row[0]), (float(row[1]) if row[1] is not None else None)


def _prune(conn: Connection, key: str, at: float, window: float) -> None:
    t = s.login_failure
    conn.execute(delete(t).where(t.c.key == key, t.c.at <= at - window))
    conn.execute(delete(t).where(t.c.at <= at - KEEP_SECONDS))


def add_failure(conn: Connection, key: str, at: float, window: float) -> None:
    """Record a failure of ``key`` at ``at``; forget this key's failures outside ``window``."""
    _prune(conn, key, at, window)
    conn.execute(insert(s.login_failure).values(key=key, at=at))


def add_failure_below(
    conn: Connection, key: str, at: float, window: float, limit: int
) -> int | None:
    """Record a failure of ``key`` unless it has ``limit`` in ``window`` already: one statement.

    Returns the new row's id, or None when the key is at its limit (nothing written). The count
    and the insert are one ``INSERT ... SELECT ... WHERE (count) < limit`` inside the caller's
    write transaction (which holds the one-writer lock on both stores), so processes racing
    on the same key cannot both pass the count: at most ``limit`` rows per window, ever.
    """
    t = s.login_failure
    _prune(conn, key, at, window)
    recent = (
        select(func.count())
        .select_from(t)
        .where(t.c.key == key, t.c.at > at - window)
        .scalar_subquery()
    )
    row = conn.execute(
        insert(t)
        .from_select(
            ["key", "at"],
            select(literal(key, String), literal(at, Float)).where(recent < limit),
        )
        .returning(t.c.id)
    ).first()
    return None if row is None else int(row[0])


def remove_failure(conn: Connection, failure_id: int) -> None:
    """Forget one recorded failure (an attempt recorded up front that then succeeded)."""
    t = s.login_failure
    conn.execute(delete(t).where(t.c.id == failure_id))


def clear_failures(conn: Connection, key: str) -> None:
    """Forget every failure of ``key`` (after a successful sign-in)."""
    t = s.login_failure
    conn.execute(delete(t).where(t.c.key == key))

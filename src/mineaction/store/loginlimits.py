"""Failed sign-ins kept in the database, so that rate limits hold across processes."""

from __future__ import annotations

from sqlalchemy import Connection, delete, func, insert, select

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


def add_failure(conn: Connection, key: str, at: float, window: float) -> None:
    """Record a failure of ``key`` at ``at``; forget this key's failures outside ``window``."""
    t = s.login_failure
    conn.execute(delete(t).where(t.c.key == key, t.c.at <= at - window))
    conn.execute(delete(t).where(t.c.at <= at - KEEP_SECONDS))
    conn.execute(insert(t).values(key=key, at=at))


def clear_failures(conn: Connection, key: str) -> None:
    """Forget every failure of ``key`` (after a successful sign-in)."""
    t = s.login_failure
    conn.execute(delete(t).where(t.c.key == key))

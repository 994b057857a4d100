"""Programme settings kept in the database (name, area of operations)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select

from mineaction.core.geometry import BBox
from mineaction.store.schema import setting


def get_setting(conn: Connection, key: str, default: Any = None) -> Any:
    """Return a setting's value or ``default``."""
    row = conn.execute(select(setting.c.value).where(setting.c.key == key)).first()
    return default if row is None else row[0]


def set_setting(conn: Connection, key: str, value: Any) -> None:
    """Set a setting (replacing any earlier value)."""
    conn.execute(delete(setting).where(setting.c.key == key))
    conn.execute(insert(setting).values(key=key, value=value))


def programme_area(conn: Connection) -> BBox | None:
    """Return the programme's area of operations, if set."""
    value = get_setting(conn, "programme_area")
    return None if value is None else BBox(*value)

"""Every row of every schema table as comparable Python values (backup and upgrade tests)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select

from mineaction.store import schema as s
from mineaction.store.engine import Store


def norm(value: Any) -> Any:
    """A value as compared: geometries as hex WKB, times as aware UTC, NaN as a string."""
    if isinstance(value, BaseGeometry):
        return shapely.to_wkb(value, hex=True)
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value


def rows_of(store: Store, *, caches: bool = False) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of ``store/schema.py``, read through SQLAlchemy, sorted.

    Caches (``schema.CACHE_TABLES``: digests of derived rows, left out of backups) only with
    ``caches``.
    """
    skip = set() if caches else set(getattr(s, "CACHE_TABLES", ()))
    out = {}
    with store.read() as conn:
        for table in s.metadata.sorted_tables:
            if table.name in skip:
                continue
            rows = [tuple(norm(v) for v in r) for r in conn.execute(select(table))]
            out[table.name] = sorted(rows, key=repr)
    return out

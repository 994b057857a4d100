"""Fast bulk inserts for full rebuilds: values encoded column by column, written by the driver.

SQLAlchemy's executemany compiles and processes every parameter of every row in Python; for a
national recompute (about 800,000 derived rows, seven geometries per hazard) that is most of
the time. Here each column is encoded once for the whole batch (geometries to WKB in one
vectorised GEOS call) with the same encoders SQLAlchemy would use, and the rows go straight to
the driver: ``executemany`` on SQLite, ``COPY ... FROM STDIN`` on PostgreSQL. The stored values
are byte for byte what :func:`sqlalchemy.insert` stores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

import numpy as np
import orjson
import shapely
from sqlalchemy import JSON, Boolean, Column, Connection, Date, Dialect, Table
from sqlalchemy.exc import DBAPIError

from mineaction.store.types import Geometry


def encode_geometries(values: Sequence[Any], dialect: str) -> list[Any]:
    """Encode geometries as :class:`~mineaction.store.types.Geometry` binds them, all at once.

    >>> from shapely.geometry import Point
    >>> encode_geometries([Point(1, 2), None], "sqlite")[0] == shapely.to_wkb(Point(1, 2))
    True
    >>> encode_geometries([None], "postgresql")
    [None]
    """
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    present = shapely.is_geometry(arr)
    if int(np.count_nonzero(present)) + list(values).count(None) != len(values):
        # some are WKB already (bytes or hex text)
        for i, v in enumerate(values):
            arr[i] = shapely.from_wkb(v) if isinstance(v, bytes | str) else v
        present = np.fromiter((v is not None for v in arr), dtype=bool, count=len(arr))
    out = np.full(len(arr), None, dtype=object)
    if present.any():
        geoms = arr[present]
        if dialect == "postgresql":
            out[present] = shapely.to_wkb(
                shapely.set_srid(geoms, 4326), hex=True, include_srid=True
            )
        else:
            out[present] = shapely.to_wkb(geoms)
    return list(out)


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _encode_column(col: Column[Any], values: list[Any], dialect: Dialect) -> list[Any]:
    name = dialect.name
    if isinstance(col.type, Geometry):
        return encode_geometries(values, name)
    if name == "postgresql":
        # COPY text format: JSON as its text (None is JSON null, as SQLAlchemy's JSON type
        # stores it); everything else is adapted by psycopg itself.
        if isinstance(col.type.dialect_impl(dialect), JSON):
            return [_dumps(v) for v in values]
        if isinstance(col.type, Boolean):
            return [None if v is None else bool(v) for v in values]
        return values
    if type(col.type) is Date:
        # what SQLAlchemy's SQLite DATE stores ("%Y-%m-%d"), without its per-value formatting
        return [None if v is None else v.isoformat() for v in values]
    proc = col.type._cached_bind_processor(dialect)
    return values if proc is None else [proc(v) for v in values]


def encode_rows(
    dialect: Dialect, table: Table, rows: Sequence[Mapping[str, Any]]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Return the column names and the rows as the driver binds them (see :func:`insert_many`).

    Every row must have the same keys in the same order. The values are what the database
    stores (WKB, JSON text, ISO dates on SQLite), so that rows encoded here can be written
    later by :func:`write_encoded` or compared with what is stored.
    """
    if not rows:
        return [], []
    keys = list(rows[0])
    for r in rows:
        if list(r) != keys:
            raise ValueError(f"{table.name}: rows with different columns {sorted(r)}")
    unknown = sorted(set(keys) - set(table.columns.keys()))
    if unknown:
        raise ValueError(f"{table.name}: unknown columns {unknown}")
    cols = [table.columns[k] for k in keys]
    values = zip(*(r.values() for r in rows), strict=True)
    columns = [_encode_column(c, list(v), dialect) for c, v in zip(cols, values, strict=True)]
    return keys, list(zip(*columns, strict=True))


def encode_columns(
    dialect: Dialect, table: Table, cols: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> list[list[Any]]:
    """Return the values of ``cols`` of ``rows`` column by column, as the driver binds them.

    The same values as :func:`encode_rows` (``list(zip(*columns))`` are its rows), for rows
    that have at least the keys ``cols`` in any order.

    >>> from mineaction.store import schema as s
    >>> from sqlalchemy.dialects import sqlite
    >>> encode_columns(sqlite.dialect(), s.handover, ["report_id"], [{"report_id": "R1"}])
    [['R1']]
    """
    if not rows:
        return [[] for _ in cols]
    if len(cols) == 1:
        values: list[Any] = [[r[cols[0]] for r in rows]]
    else:
        pick = itemgetter(*cols)
        values = [list(v) for v in zip(*map(pick, rows), strict=True)]
    return [_encode_column(table.columns[c], v, dialect) for c, v in zip(cols, values, strict=True)]


def write_encoded(
    conn: Connection, table: Table, keys: Sequence[str], data: Sequence[Sequence[Any]]
) -> None:
    """Write rows encoded by :func:`encode_rows` through the driver (executemany or COPY)."""
    if not data:
        return
    names = ", ".join(f'"{table.columns[k].name}"' for k in keys)
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        sql = f'COPY "{table.name}" ({names}) FROM STDIN'
    else:
        sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" for _ in keys)})'
    try:
        if conn.dialect.name == "postgresql":
            with raw.cursor() as cur, cur.copy(sql) as copy:
                for row in data:
                    copy.write_row(row)
        else:
            cur = raw.cursor()
            try:
                cur.executemany(sql, data)
            finally:
                cur.close()
    except conn.dialect.loaded_dbapi.Error as exc:
        # the same exception classes as SQLAlchemy's own execute (IntegrityError, ...)
        raise DBAPIError.instance(sql, None, exc, conn.dialect.loaded_dbapi.Error) from exc


def insert_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows (all with the same keys, in the same order) into ``table``."""
    keys, data = encode_rows(conn.dialect, table, rows)
    write_encoded(conn, table, keys, data)

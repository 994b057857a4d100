"""Fast bulk inserts for full rebuilds: values encoded column by column, written by the driver.

SQLAlchemy's executemany compiles and processes every parameter of every row in Python; for a
national recompute (about 800,000 derived rows, seven geometries per hazard) that is most of
the time. Here each column is encoded once for the whole batch (geometries to WKB in one
vectorised GEOS call) with the same encoders SQLAlchemy would use, and the rows go straight to
the driver: ``executemany`` on SQLite, ``COPY ... FROM STDIN`` on PostgreSQL (binary format
where every value fits it, formatted by :func:`format_copy`, possibly in a worker process).
The stored values are byte for byte what :func:`sqlalchemy.insert` stores.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from typing import Any

import numpy as np
import orjson
import shapely
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Date,
    Dialect,
    Float,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError

from mineaction.store.engine import _dumps as engine_dumps
from mineaction.store.types import Geometry


def plain_wkb(values: Sequence[Any]) -> list[Any]:
    """Return geometries as plain WKB (None for None), in one vectorised call.

    What SQLite stores; bytes or hex text are taken as WKB already (and written again).

    >>> from shapely.geometry import Point
    >>> plain_wkb([Point(1, 2), None]) == [shapely.to_wkb(Point(1, 2)), None]
    True
    """
    # fromiter, not ``arr[:] = values``: numpy then takes each object as it is (8x cheaper)
    arr = np.fromiter(values, dtype=object, count=len(values))
    present = shapely.is_geometry(arr)
    n = int(np.count_nonzero(present))
    if n != len(arr) and n + sum(v is None for v in values) != len(arr):
        # some are WKB already (bytes or hex text)
        arr = np.fromiter(
            (shapely.from_wkb(v) if isinstance(v, bytes | str) else v for v in values),
            dtype=object,
            count=len(values),
        )
    return shapely.to_wkb(arr).tolist()  # GEOS gives None for None


#: EWKB header (byte order, type with the SRID flag, SRID 4326) by plain WKB header
_EWKB_HEADS: dict[bytes, bytes] = {}
_EWKB_SRID_FLAG = 0x20000000


def ewkb(wkbs: Sequence[bytes | None]) -> list[bytes | None]:
    """Return plain WKB as PostGIS EWKB with SRID 4326, as GEOS writes it (binary COPY's form).

    The same bytes as ``shapely.to_wkb(shapely.set_srid(g, 4326), include_srid=True)``
    without copying every geometry to set its SRID: GEOS writes the SRID only in the
    outermost header (the flag in the type, then the SRID), the rest are the plain WKB's.

    >>> from shapely.geometry import MultiPolygon, Point, box
    >>> geoms = [Point(1, 2), MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)]), None]
    >>> ewkb(plain_wkb(geoms)) == shapely.to_wkb(
    ...     shapely.set_srid(geoms, 4326), include_srid=True
    ... ).tolist()
    True
    """
    heads = _EWKB_HEADS
    out: list[bytes | None] = []
    append = out.append
    for w in wkbs:
        if w is None:
            append(None)
            continue
        head = heads.get(w[:5])
        if head is None:
            order: Any = "little" if w[0] == 1 else "big"
            kind = int.from_bytes(w[1:5], order) | _EWKB_SRID_FLAG
            head = heads[w[:5]] = w[:1] + kind.to_bytes(4, order) + (4326).to_bytes(4, order)
        append(head + w[5:])
    return out


def hex_ewkb(wkbs: Sequence[bytes | None]) -> list[str | None]:
    """Return plain WKB as PostGIS hex EWKB with SRID 4326 (upper case, as GEOS writes it).

    What :class:`~mineaction.store.types.Geometry` binds on PostgreSQL (see :func:`ewkb`).

    >>> from shapely.geometry import Point
    >>> hex_ewkb(plain_wkb([Point(1, 2), None])) == shapely.to_wkb(
    ...     shapely.set_srid([Point(1, 2), None], 4326), hex=True, include_srid=True
    ... ).tolist()
    True
    """
    return _hex(ewkb(wkbs))


def _hex(ewkbs: Sequence[bytes | None]) -> list[str | None]:
    return [None if e is None else e.hex().upper() for e in ewkbs]


def encode_geometries(values: Sequence[Any], dialect: str) -> list[Any]:
    """Encode geometries as :class:`~mineaction.store.types.Geometry` binds them, all at once.

    >>> from shapely.geometry import Point
    >>> encode_geometries([Point(1, 2), None], "sqlite")[0] == shapely.to_wkb(Point(1, 2))
    True
    >>> encode_geometries([None], "postgresql")
    [None]
    """
    wkbs = plain_wkb(values)
    return hex_ewkb(wkbs) if dialect == "postgresql" else wkbs


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


#: Top-level types of JSON column values that SQLAlchemy's JSON bind processor passes to the
#: serializer as they are (not ``JSON.NULL`` nor ``null()``).
_JSON_PLAIN = frozenset({dict, list, str, int, float, bool, type(None)})
_DATE_PLAIN = frozenset({date, type(None)})


def _fast_json(col: Column[Any], types: set[type], dialect: Dialect) -> bool:
    """Tell whether values of ``types`` of a JSON column are bound as ``_dumps(value)``.

    Always on PostgreSQL (:func:`_encode_column`); on SQLite when SQLAlchemy's JSON type
    calls the engine's serializer (the same function) with the value as it is.
    """
    if dialect.name == "postgresql":
        return True
    impl = col.type.dialect_impl(dialect)
    if not isinstance(impl, JSON) or impl.none_as_null:
        return False
    if getattr(dialect, "_json_serializer", None) is not engine_dumps:
        return False  # e.g. a bare dialect (the standard library's json)
    return types <= _JSON_PLAIN


def _encode_column(col: Column[Any], values: list[Any], dialect: Dialect) -> list[Any]:
    name = dialect.name
    if isinstance(col.type, Geometry):
        return encode_geometries(values, name)
    if name == "postgresql":
        # COPY text format: JSON as its text (None is JSON null, as SQLAlchemy's JSON type
        # stores it); everything else is adapted by psycopg itself.
        if isinstance(col.type.dialect_impl(dialect), JSON):
            return list(map(engine_dumps, values))
        if isinstance(col.type, Boolean):
            return [None if v is None else bool(v) for v in values]
        return values
    if type(col.type) is Date:
        # what SQLAlchemy's SQLite DATE stores ("%Y-%m-%d"), without its per-value formatting
        if set(map(type, values)) <= _DATE_PLAIN:
            return list(orjson.loads(orjson.dumps(values)))  # all at once, as ``isoformat``
        return [None if v is None else v.isoformat() for v in values]
    if isinstance(col.type.dialect_impl(dialect), JSON) and _fast_json(
        col, set(map(type, values)), dialect
    ):
        return list(map(engine_dumps, values))  # what the JSON type's bind processor returns
    proc = col.type._cached_bind_processor(dialect)
    return values if proc is None else [proc(v) for v in values]


def _pickled(values: list[Any]) -> bytes:
    """Pickle a list without the memo, so that equal values always give equal bytes."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=5)
    pickler.fast = True  # no memo: the bytes depend on the values only, not on object identity
    pickler.dump(values)
    return buf.getvalue()


class FreshColumns:
    """Fresh rows of one table, column by column: their digest parts and their encoding.

    A digest of the rows (:func:`mineaction.store.shards.rows_digest`) is only ever compared
    with a digest made the same way of earlier fresh rows, so it needs no encoded values: it
    is made of cheap forms of the raw values, equal only where the encoded values (and so the
    stored bytes) are equal (:meth:`parts`). The encoding (:meth:`encoded`) is needed only
    where rows are compared or written; what both need is done once. Whoever changes what a
    value encodes to must change :data:`mineaction.store.shards.DIGEST_VERSION` too.
    """

    def __init__(
        self, dialect: Dialect, table: Table, cols: Sequence[str], columns: Sequence[Sequence[Any]]
    ) -> None:
        """Take the raw values of ``cols`` (in that order) of the same rows, column by column."""
        self.dialect = dialect
        self.table = table
        self.cols = list(cols)
        self.values = [v if type(v) is list else list(v) for v in columns]
        self.rows = len(self.values[0]) if self.values else 0
        self._encoded: dict[int, list[Any]] = {}
        self._wkb: dict[int, list[Any]] = {}  # plain WKB of geometry columns
        self._ewkb: dict[int, list[Any]] = {}  # their EWKB (PostgreSQL)

    @classmethod
    def of_rows(
        cls, dialect: Dialect, table: Table, cols: Sequence[str], rows: Sequence[Mapping[str, Any]]
    ) -> FreshColumns:
        """Take rows as mappings with at least the keys ``cols`` (in any order)."""
        if not rows:
            return cls(dialect, table, cols, [[] for _ in cols])
        if len(cols) == 1:
            return cls(dialect, table, cols, [[r[cols[0]] for r in rows]])
        return cls(dialect, table, cols, list(zip(*map(itemgetter(*cols), rows), strict=True)))

    def _part(self, i: int) -> bytes:
        col = self.table.columns[self.cols[i]]
        values = self.values[i]
        if isinstance(col.type, Geometry):
            # plain WKB (one vectorised call) on both stores: what SQLite stores, and what
            # PostgreSQL's hex EWKB is made of (SRID 4326 added, hex), without those copies
            # (5x cheaper); what is cheaper still to tell them apart by costs as much as
            # writing the WKB when the rows are written
            return b"W" + _pickled(self._plain_wkb(i))
        if type(col.type) is Date:
            if set(map(type, values)) <= _DATE_PLAIN:
                return b"D" + orjson.dumps(values)  # ISO dates, as ``isoformat`` writes them
        elif isinstance(col.type.dialect_impl(self.dialect), JSON) and _fast_json(
            col, set(map(type, values)), self.dialect
        ):
            # the JSON text stored of every value, as one array
            texts = self._encoded.get(i)
            if texts is not None:  # encoded already: the same array, joined
                return b"J" + ("[" + ",".join(texts) + "]").encode()
            return b"J" + orjson.dumps(values, option=orjson.OPT_NON_STR_KEYS)
        # the values themselves: type and bits (the encoding is a function of them)
        return b"P" + _pickled(values)

    def parts(self) -> list[bytes]:
        """Return one byte string per column, equal only where the encoded columns are equal."""
        return [self._part(i) for i in range(len(self.cols))]

    def _plain_wkb(self, i: int) -> list[Any]:
        done = self._wkb.get(i)
        if done is None:
            done = self._wkb[i] = plain_wkb(self.values[i])
        return done

    def _geometry(self, i: int) -> bool:
        return isinstance(self.table.columns[self.cols[i]].type, Geometry)

    def _ewkb_of(self, i: int) -> list[Any]:
        done = self._ewkb.get(i)
        if done is None:
            done = self._ewkb[i] = ewkb(self._plain_wkb(i))
        return done

    def _encode(self, i: int) -> list[Any]:
        done = self._encoded.get(i)
        if done is None:
            if not self._geometry(i):
                col = self.table.columns[self.cols[i]]
                done = _encode_column(col, self.values[i], self.dialect)
            elif self.dialect.name == "postgresql":
                done = _hex(self._ewkb_of(i))
            else:
                done = self._plain_wkb(i)  # the digest's too
            self._encoded[i] = done
        return done

    def encoded(self) -> list[list[Any]]:
        """Return the columns as the driver binds them (as :func:`encode_columns`)."""
        return [self._encode(i) for i in range(len(self.cols))]

    def encode_values(self) -> None:
        """Encode every column but the geometries now (the digest then reuses the JSON texts)."""
        for i in range(len(self.cols)):
            if not self._geometry(i):
                self._encode(i)

    def to_insert(self) -> list[list[Any]]:
        """Return the columns as they are written: encoded, geometries as EWKB bytes on PostgreSQL.

        For :func:`format_copy_columns` (binary COPY takes EWKB bytes: no hex text to make and
        parse again) and :func:`mineaction.store.shards.write_scratch`.
        """
        if self.dialect.name != "postgresql":
            return self.encoded()
        return [
            self._ewkb_of(i) if self._geometry(i) else self._encode(i)
            for i in range(len(self.cols))
        ]


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


#: Largest and smallest value of a PostgreSQL ``integer`` (binary COPY sends 4 bytes as given).
_INT4 = (-(2**31), 2**31 - 1)


def _pg_binary_kind(col: Column[Any], dialect: Dialect) -> str | None:
    """Return how a column travels in a binary COPY, or None (text COPY for the whole batch)."""
    t = col.type
    if isinstance(t, Geometry):
        return "geometry"
    impl = t.dialect_impl(dialect)
    if isinstance(impl, JSONB):
        return "jsonb"
    if isinstance(impl, JSON):
        return None  # ``json`` (report payloads): not written here
    if isinstance(t, Boolean):
        return "bool"
    if type(t) is Integer:
        return "int4"
    if type(t) is Float:
        return "float8"
    if type(t) is Date:
        return "date"
    if type(t) in (String, Text):
        return "text"
    return None


#: psycopg type of each kind (geometry and jsonb go as the bytes of their binary input form)
_PG_BINARY_TYPE = {
    "geometry": "bytea",
    "jsonb": "bytea",
    "bool": "bool",
    "int4": "int4",
    "float8": "float8",
    "date": "date",
    "text": "text",
}
#: the only Python type a value of each kind may have (besides None) for the binary form
_PG_BINARY_PYTHON: dict[str, type] = {
    "geometry": str,
    "jsonb": str,
    "bool": bool,
    "int4": int,
    "float8": float,
    "date": date,
    "text": str,
}


def _jsonb_binary(text: str) -> bytes:
    return b"\x01" + text.encode()  # jsonb binary input: version 1, then the JSON text


def _binary_column(kind: str, values: Sequence[Any]) -> list[Any] | None:
    """Return the values of one column as binary COPY takes them, or None if one does not fit.

    A value fits only with exactly the Python type the text COPY would send in the same form
    (no bool as integer, no int as float, no datetime as date) and, for ``integer``, in range:
    then both formats store the same value.
    """
    seen = set(map(type, values))
    seen.discard(type(None))
    if not seen:
        return list(values)
    if kind == "geometry" and seen <= {str, bytes}:
        # hex EWKB text (encoded), or EWKB bytes already (:meth:`FreshColumns.to_insert`)
        return [v if v is None or type(v) is bytes else bytes.fromhex(v) for v in values]
    if seen != {_PG_BINARY_PYTHON[kind]}:
        return None
    if kind == "int4":
        present = [v for v in values if v is not None]
        return list(values) if _INT4[0] <= min(present) and max(present) <= _INT4[1] else None
    if kind == "jsonb":
        return [None if v is None else _jsonb_binary(v) for v in values]
    return list(values)


@dataclass(frozen=True)
class CopyData:
    """Rows of one table formatted for PostgreSQL's ``COPY ... FROM STDIN`` (not yet sent)."""

    binary: bool
    data: bytes
    rows: int


def format_copy(
    conn: Connection, table: Table, keys: Sequence[str], data: Sequence[Sequence[Any]]
) -> CopyData:
    """Format rows encoded by :func:`encode_rows` for a PostgreSQL COPY (see :func:`format_copy_columns`)."""
    if not data:
        return format_copy_columns(conn, table, keys, [[] for _ in keys])
    return format_copy_columns(conn, table, keys, list(zip(*data, strict=True)))


def format_copy_columns(
    conn: Connection, table: Table, keys: Sequence[str], columns: Sequence[Sequence[Any]]
) -> CopyData:
    """Format encoded rows, given column by column, for a PostgreSQL COPY, without sending them.

    Values as :func:`encode_columns` gives them, or :meth:`FreshColumns.to_insert` (geometries
    as EWKB bytes). Binary format where every value fits it (geometries as EWKB bytes, jsonb
    as its binary input, floats as their 8 bytes: no text to print and parse), else psycopg's
    text format, the same bytes :func:`write_encoded` sent before. Either way the table stores
    the same values. ``conn`` only lends psycopg's adapters (a worker formats its shard's rows
    on its own connection; the parent just sends the bytes: :func:`write_copy`).
    """
    from psycopg import Copy  # not needed on SQLite (its workers start without it)
    from psycopg.copy import FileWriter

    raw: Any = conn.connection.driver_connection
    kinds = [_pg_binary_kind(table.columns[k], conn.dialect) for k in keys]
    n = len(columns[0]) if columns else 0
    out: list[Sequence[Any]] = []
    if n and None not in kinds:
        for kind, values in zip(kinds, columns, strict=True):
            assert kind is not None
            column = _binary_column(kind, values)
            if column is None:
                break
            out.append(column)
    binary = bool(n) and len(out) == len(keys)
    if not binary:  # text: geometries as hex EWKB, everything else as encoded
        out = [
            [v.hex().upper() if type(v) is bytes else v for v in values]
            if kind == "geometry"
            else values
            for kind, values in zip(kinds, columns, strict=True)
        ]
    buf = io.BytesIO()
    with raw.cursor() as cur, Copy(cur, binary=binary, writer=FileWriter(buf)) as copy:
        if binary:
            copy.set_types([_PG_BINARY_TYPE[k] for k in kinds if k is not None])
        for row in zip(*out, strict=True):
            copy.write_row(row)
    return CopyData(binary, buf.getvalue(), n)


@contextmanager
def _sqlalchemy_errors(conn: Connection, sql: str) -> Iterator[None]:
    """Raise the driver's errors as SQLAlchemy's own execute does (IntegrityError, ...)."""
    try:
        yield
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, None, exc, conn.dialect.loaded_dbapi.Error) from exc


def write_copy(conn: Connection, table: Table, keys: Sequence[str], copy: CopyData) -> None:
    """Send rows formatted by :func:`format_copy` to ``table`` (PostgreSQL)."""
    if not copy.rows:
        return
    names = ", ".join(f'"{table.columns[k].name}"' for k in keys)
    fmt = " (FORMAT BINARY)" if copy.binary else ""
    sql = f'COPY "{table.name}" ({names}) FROM STDIN{fmt}'
    raw: Any = conn.connection.driver_connection
    with _sqlalchemy_errors(conn, sql), raw.cursor() as cur, cur.copy(sql) as out:
        out.write(copy.data)


def write_encoded(
    conn: Connection, table: Table, keys: Sequence[str], data: Sequence[Sequence[Any]]
) -> None:
    """Write rows encoded by :func:`encode_rows` through the driver (executemany or COPY)."""
    if not data:
        return
    if conn.dialect.name == "postgresql":
        write_copy(conn, table, keys, format_copy(conn, table, keys, data))
        return
    names = ", ".join(f'"{table.columns[k].name}"' for k in keys)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" for _ in keys)})'
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with _sqlalchemy_errors(conn, sql):
            cur.executemany(sql, data)
    finally:
        cur.close()


def insert_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows (all with the same keys, in the same order) into ``table``."""
    keys, data = encode_rows(conn.dialect, table, rows)
    write_encoded(conn, table, keys, data)

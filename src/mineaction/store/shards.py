"""Shards of the ledger for a parallel recompute, and the stored derived rows of one shard.

A full recompute is split into shards: ranges of hazard ids (every report of those hazards)
and ranges of report ids among the reports without a hazard (EORE sessions, spot EO reports).
Each shard can be recomputed on its own connection; its stored derived rows are read here
exactly as the database holds them (driver values: WKB or hex EWKB, JSON text, ISO dates on
SQLite) so that they can be compared with freshly encoded rows
(:func:`mineaction.store.bulkwrite.encode_rows`) and only the differences written.
"""

from __future__ import annotations

import hashlib
import math
import re
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import shapely
import sqlalchemy
from sqlalchemy import JSON, Connection, Float, Table, delete, func, select

from mineaction.core.codes import ReportType
from mineaction.store import schema as s
from mineaction.store.projections import COLUMNS, PER_REPORT, clear_digests
from mineaction.store.types import Geometry

#: Report types whose approved reports give rows in each per-report derived table (must match
#: :func:`mineaction.store.projections.derived_rows`; tests/store/test_shards.py checks it).
SOURCE_TYPES: dict[str, tuple[str, ...]] = {
    "release_polygon": (ReportType.ACTIVITY.value,),
    "activity": (ReportType.ACTIVITY.value,),
    "eo_item": (ReportType.ACTIVITY.value, ReportType.EO.value),
    "accident": (ReportType.ACCIDENT.value,),
    "victim": (ReportType.ACCIDENT.value,),
    "eore_session": (ReportType.EORE.value,),
    "qm_inspection": (ReportType.QM.value,),
    "handover": (ReportType.HANDOVER.value,),
}


#: ``derived_digest.tbl`` of the rows recording the shard plan (one per range, no digest):
#: no trigger deletes them, so the next recompute can keep the ranges (:func:`plan_shards`).
PLAN = ""

#: A shard range as digests are stored: ``(no_hazard, lo, hi)``.
RangeKey = tuple[bool, str | None, str | None]

_SNAPSHOT = re.compile(r"^[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9]+)?$")


@dataclass(frozen=True)
class Shard:
    """A part of the ledger: hazards ``after < hazard_id <= upto``, or reports without a hazard.

    For ``no_hazard`` shards the bounds are report ids. ``None`` is an open bound.
    """

    index: int
    after: str | None
    upto: str | None
    no_hazard: bool = False
    reports: int = 0

    def ledger_filter(self) -> dict[str, tuple[str | None, str | None]]:
        """Return the keyword arguments of :func:`~mineaction.store.reports.iter_approved_raw`."""
        bounds = (self.after, self.upto)
        return {"no_hazard": bounds} if self.no_hazard else {"hazards": bounds}


def _cut(
    keys: Sequence[tuple[str, int]], per_shard: int, no_hazard: bool, start: int
) -> list[Shard]:
    """Cut ordered ``(key, reports)`` into consecutive ranges of about ``per_shard`` reports."""
    shards: list[Shard] = []
    after: str | None = None
    n = 0
    for i, (key, count) in enumerate(keys):
        n += count
        if n >= per_shard and i < len(keys) - 1:
            shards.append(Shard(start + len(shards), after, key, no_hazard, n))
            after, n = key, 0
    shards.append(Shard(start + len(shards), after, None, no_hazard, n))
    return shards


def _reuse(
    keys: Sequence[tuple[str, int]],
    ranges: Sequence[tuple[str | None, str | None]],
    per_shard: int,
    no_hazard: bool,
    start: int,
) -> list[Shard] | None:
    """Return shards with the given ranges (``after``, ``upto``) if they still fit the ledger.

    They fit when they chain from an open start to an open end, every inner bound is still a
    key of the ledger (found by equality: no collation involved) and no range has grown past
    twice ``per_shard`` reports. Otherwise None (plan afresh).
    """
    if not ranges or not keys:
        return None
    at = {key: i for i, (key, _n) in enumerate(keys)}
    by_after = {after: upto for after, upto in ranges}
    if len(by_after) != len(ranges):
        return None
    shards: list[Shard] = []
    after: str | None = None
    pos = 0  # index of the first key after ``after``
    while True:
        if after not in by_after:
            return None
        upto = by_after.pop(after)
        end = len(keys) if upto is None else at.get(upto, -1) + 1
        if end <= pos and upto is not None:
            return None  # a bound no longer in the ledger, or out of order
        n = sum(c for _k, c in keys[pos:end])
        if n > 2 * per_shard:
            return None
        shards.append(Shard(start + len(shards), after, upto, no_hazard, n))
        if upto is None:
            break
        after, pos = upto, end
    return None if by_after else shards


def plan_shards(
    conn: Connection,
    *,
    reports_per_shard: int = 10_000,
    reuse: Iterable[RangeKey] = (),
) -> list[Shard]:
    """Split the approved ledger into shards of about ``reports_per_shard`` reports.

    Together the shards cover every possible hazard id and every report without a hazard
    (the first and last bounds are open), so that stale stored rows are found too. The
    shards without a hazard come first. ``reuse``: ranges of an earlier plan (those of the
    stored digests), kept where they still fit the ledger, so that approvals in between do
    not move every later cut point (and with it every digest).
    """
    sqlite = conn.dialect.name == "sqlite"
    # Through the driver (no row processing for ~200,000 rows). On SQLite the (hazard_id,
    # state) index covers the count and gives the hazards in order (the planner's choice, the
    # state index, looks every report up in the table and sorts: 3x the time).
    by_hazard: list[tuple[str, int]] = _execute(
        conn,
        "SELECT hazard_id, count(*) FROM report"
        + (" INDEXED BY ix_report_hazard" if sqlite else "")
        + " WHERE state = 'approved' AND hazard_id IS NOT NULL GROUP BY hazard_id"
        " ORDER BY hazard_id",
        (),
    )
    loose: list[tuple[str, int]] = _execute(
        conn,
        "SELECT report_id, 1 FROM report WHERE state = 'approved' AND hazard_id IS NULL"
        " ORDER BY report_id",
        (),
    )
    ranges = list(reuse)
    old_loose = [(lo, hi) for no_hazard, lo, hi in ranges if no_hazard]
    old_hazard = [(lo, hi) for no_hazard, lo, hi in ranges if not no_hazard]
    first = _reuse(loose, old_loose, reports_per_shard, True, 0) or _cut(
        loose, reports_per_shard, True, 0
    )
    rest = _reuse(by_hazard, old_hazard, reports_per_shard, False, len(first)) or _cut(
        by_hazard, reports_per_shard, False, len(first)
    )
    return first + rest


def _bounds(column: str, shard: Shard, mark: str) -> tuple[str, list[str]]:
    parts, params = [], []
    if shard.after is not None:
        parts.append(f"{column} > {mark}")
        params.append(shard.after)
    if shard.upto is not None:
        parts.append(f"{column} <= {mark}")
        params.append(shard.upto)
    return " AND ".join(parts) or "1 = 1", params


def _execute(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    raw: Any = conn.connection.driver_connection
    cur = raw.cursor()
    try:
        cur.execute(sql, list(params))
        return list(cur.fetchall())
    finally:
        cur.close()


def shard_reports(conn: Connection, shard: Shard) -> dict[str, list[str]]:
    """Return ``{type: [report_id, ...]}`` of every report of the shard, in any state."""
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    if shard.no_hazard:
        cond, params = _bounds("report_id", shard, mark)
        sql = f"SELECT report_id, type FROM report WHERE hazard_id IS NULL AND {cond}"
    else:
        cond, params = _bounds("hazard_id", shard, mark)
        sql = f"SELECT report_id, type FROM report WHERE hazard_id IS NOT NULL AND {cond}"
    out: dict[str, list[str]] = {}
    for rid, rtype in _execute(conn, sql, params):
        out.setdefault(rtype, []).append(rid)
    return out


def compare_columns(table: Table) -> list[str]:
    """Return the columns a derived row is compared on: all but a surrogate ``id``.

    The order of the rows the recompute builds (:data:`mineaction.store.projections.COLUMNS`).
    """
    return list(COLUMNS[table])


def _select_list(conn: Connection, table: Table, cols: Sequence[str]) -> str:
    pg = conn.dialect.name == "postgresql"
    out = []
    for name in cols:
        col = table.columns[name]
        if pg and isinstance(col.type.dialect_impl(conn.dialect), JSON):
            out.append(f'"{name}"::text')
        else:
            out.append(f'"{name}"')
    return ", ".join(out)


def stored_hazards(conn: Connection, shard: Shard, cols: Sequence[str]) -> list[tuple[Any, ...]]:
    """Return the stored ``hazard`` rows of a hazard shard (``cols``, driver values)."""
    if shard.no_hazard:
        return []
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    cond, params = _bounds("hazard_id", shard, mark)
    sql = f"SELECT {_select_list(conn, s.hazard, cols)} FROM hazard WHERE {cond}"
    return _execute(conn, sql, params)


def stored_rows(
    conn: Connection, table: Table, cols: Sequence[str], report_ids: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Return the stored rows of ``table`` that came from ``report_ids`` (``cols``, in order).

    Rows of one report come in the order they were inserted (``id``) or by primary key.
    """
    if not report_ids:
        return []
    order = (
        "report_id, id"
        if "id" in table.columns
        else "report_id, " + ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
    )
    select_list = _select_list(conn, table, cols)
    if conn.dialect.name == "postgresql":
        sql = f'SELECT {select_list} FROM "{table.name}" WHERE report_id = ANY(%s) ORDER BY {order}'
        return _execute(conn, sql, [list(report_ids)])
    sql = (
        f'SELECT {select_list} FROM "{table.name}" '
        f"WHERE report_id IN (SELECT value FROM json_each(?)) ORDER BY {order}"
    )
    return _execute(conn, sql, [orjson.dumps(list(report_ids)).decode()])


def comparable(conn: Connection, table: Table, cols: Sequence[str]) -> Callable[[Any], Any]:
    """Return a function mapping a row (driver values) to a value equal only for equal rows.

    JSON is compared by its canonical form (keys sorted) on both stores: PostgreSQL's jsonb
    orders keys its own way, and a restored backup stores the keys of a JSON value sorted,
    which is the same value. On PostgreSQL a float ``-0.0`` is told apart from ``0.0``, which
    ``float8`` keeps; SQLite keeps no sign of a zero REAL and converts by column affinity
    exactly as it would on writing, so other values are compared as they are.
    """
    keys = column_keys(conn, table, cols)
    at = [(i, k) for i, k in enumerate(keys) if k is not None]
    if not at:
        return tuple

    def key(row: Any) -> Any:
        out = list(row)
        for i, k in at:
            out[i] = k(out[i])
        return tuple(out)

    return key


def column_keys(
    conn: Connection, table: Table, cols: Sequence[str]
) -> list[Callable[[Any], Any] | None]:
    """Return, per column, what :func:`comparable` does to one value (``None``: nothing).

    For comparing whole columns at once: values ``a`` and ``b`` of column ``i`` are equal
    for :func:`comparable` exactly when ``f(a) == f(b)`` for ``f = column_keys(...)[i]``
    (or ``a == b`` when it is ``None``).
    """
    loads, dumps, sort = orjson.loads, orjson.dumps, orjson.OPT_SORT_KEYS
    pg = conn.dialect.name == "postgresql"

    def json_key(v: Any) -> Any:
        if v is None:
            return None
        try:
            return dumps(loads(v), option=sort)
        except (orjson.JSONDecodeError, TypeError):  # not JSON text: compared as it is
            return v

    def float_key(v: Any) -> Any:
        return "-0.0" if v == 0.0 and v is not None and math.copysign(1.0, v) < 0 else v

    out: list[Callable[[Any], Any] | None] = []
    for name in cols:
        col = table.columns[name]
        if isinstance(col.type.dialect_impl(conn.dialect), JSON):
            out.append(json_key)
        elif pg and isinstance(col.type, Float):
            out.append(float_key)
        else:
            out.append(None)
    return out


def geometry_columns(table: Table) -> list[str]:
    """Return the names of the geometry columns of ``table``."""
    return [c.name for c in table.columns if isinstance(c.type, Geometry)]


def export_snapshot(conn: Connection) -> str | None:
    """On PostgreSQL, export the transaction's snapshot for other connections to share."""
    if conn.dialect.name != "postgresql":
        return None
    return str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar())


def use_snapshot(conn: Connection, snapshot: str) -> None:
    """Make ``conn``'s new transaction see exactly the exporting transaction's snapshot."""
    if not _SNAPSHOT.match(snapshot):
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    import psycopg

    raw: Any = conn.connection.driver_connection
    if raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raw.rollback()
    raw.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    raw.read_only = True
    # psycopg opens the transaction (BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY) first
    raw.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")


def row_counts(conn: Connection) -> dict[str, int]:
    """Return the number of rows of every per-report derived table."""
    return {
        t.name: int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)
        for t in PER_REPORT
    }


def delete_keys(conn: Connection, table: Table, column: str, keys: Iterable[str]) -> None:
    """Delete the rows of ``table`` whose ``column`` is one of ``keys``."""
    ids = list(keys)
    col = table.c[column]
    for i in range(0, len(ids), 500):
        conn.execute(delete(table).where(col.in_(ids[i : i + 500])))


def _unmatched(table: Table) -> Any:
    r = s.report.c
    sources = select(r.report_id).where(r.type.in_(SOURCE_TYPES[table.name]))
    return table.c.report_id.not_in(sources)


def delete_unmatched(conn: Connection, table: Table) -> None:
    """Delete rows of ``table`` that no report of a type producing them accounts for."""
    conn.execute(delete(table).where(_unmatched(table)))


def unmatched_reports(conn: Connection, table: Table) -> list[str]:
    """Report ids named by rows of ``table`` that no report of a producing type accounts for."""
    query = select(table.c.report_id).where(_unmatched(table)).distinct()
    return sorted(conn.execute(query.order_by(table.c.report_id)).scalars())


#: Rows bound per INSERT statement of a scratch file (at most 999 values in all on old SQLite).
SCRATCH_ROWS_PER_INSERT = 16


def write_scratch(
    path: str, tables: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]]]]
) -> None:
    """Append encoded rows ``(table, columns, values)`` to a scratch SQLite file of one process.

    ``values``: the rows column by column (one sequence per column, all of the same length).
    The scratch tables have no declared column types (no affinity), so every value is kept
    exactly as bound; :class:`ScratchCopier` then converts it by the real column's affinity,
    exactly as binding it there would. Rows keep their order (``rowid``). No journal, no
    sync: the file is thrown away after the recompute, whatever happens. Rows go in
    :data:`SCRATCH_ROWS_PER_INSERT` at a time (one multi-row ``VALUES``): the same values
    bound, a fifth less CPU than one statement per row; the values of those rows are slices
    of one row-major list filled column by column (no row tuples made first).
    """
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("BEGIN")
        for name, cols, columns in tables:
            names = ", ".join(f'"{c}"' for c in cols)
            db.execute(f'CREATE TABLE IF NOT EXISTS "{name}" ({names})')
            m = len(cols)
            n = len(columns[0]) if columns else 0
            if not n:
                continue
            flat: list[Any] = [None] * (n * m)  # row after row
            for j, column in enumerate(columns):
                flat[j::m] = column
            one = "(" + ", ".join("?" for _ in cols) + ")"
            k = max(1, min(SCRATCH_ROWS_PER_INSERT, 999 // max(1, m)))
            whole = n // k * k * m  # values in whole statements
            step = k * m
            if whole:
                many = ", ".join([one] * k)
                db.executemany(
                    f'INSERT INTO "{name}" ({names}) VALUES {many}',
                    (tuple(flat[i : i + step]) for i in range(0, whole, step)),
                )
            if whole < len(flat):
                db.executemany(
                    f'INSERT INTO "{name}" ({names}) VALUES {one}',
                    (tuple(flat[i : i + m]) for i in range(whole, len(flat), m)),
                )
        db.execute("COMMIT")
    finally:
        db.close()


class ScratchCopier:
    """Copies rows of scratch files (:func:`write_scratch`) into the tables, on SQLite.

    Runs inside the caller's SQLite write transaction: each file is attached to its
    connection once (SQLite allows at most 10, and no detaching inside a transaction that
    read one), and SQLite copies the rows itself (``INSERT ... SELECT``, in the order they
    were written). A connection with files attached is closed at the end instead of going
    back to a pool.
    """

    def __init__(self, conn: Connection) -> None:
        """Copy into the tables of ``conn`` (in its write transaction)."""
        self.conn = conn
        self.attached: dict[str, str] = {}
        self.copied: dict[str, set[str]] = {}

    def copy(self, path: str, tables: Sequence[Table]) -> None:
        """Insert the rows of ``tables`` from the scratch file ``path`` (each table once)."""
        alias = self.attached.get(path)
        if alias is None:
            if not self.attached:
                self.conn.detach()
            alias = self.attached[path] = f"scratch{len(self.attached)}"
            self.conn.exec_driver_sql(f"ATTACH DATABASE ? AS {alias}", (path,))
            self.copied[path] = set()
        done = self.copied[path]
        for table in tables:
            if table.name in done:
                continue
            done.add(table.name)
            found = self.conn.exec_driver_sql(
                f"SELECT count(*) FROM {alias}.sqlite_master WHERE type = 'table' AND name = ?",
                (table.name,),
            ).scalar()
            if found:
                cols = ", ".join(f'"{c}"' for c in compare_columns(table))
                self.conn.exec_driver_sql(
                    f'INSERT INTO main."{table.name}" ({cols}) '
                    f'SELECT {cols} FROM {alias}."{table.name}" ORDER BY rowid'
                )


# --- digests of stored derived rows (migration 0012) ----------------------------------------

#: Changes whenever the way rows are digested changes, or what a value is encoded to
#: (:mod:`mineaction.store.bulkwrite`): old digests then simply do not match (one full
#: comparison). Version 2: digests of the raw values' canonical forms
#: (:class:`~mineaction.store.bulkwrite.FreshColumns`), not of the encoded values.
DIGEST_VERSION = b"mineaction-derived-rows-2"

#: The libraries that turn the digested forms into stored bytes: a digest made with other
#: versions does not match (their encoding might differ).
_ENCODERS = (
    f"python {sys.version_info[0]}.{sys.version_info[1]}",
    f"geos {shapely.geos_version_string}",
    f"shapely {shapely.__version__}",
    f"orjson {orjson.__version__}",
    f"sqlalchemy {sqlalchemy.__version__}",
    f"sqlite {sqlite3.sqlite_version}",
)


def range_key(shard: Shard) -> RangeKey:
    """Return the key of a shard's range in ``derived_digest``."""
    return (shard.no_hazard, shard.after, shard.upto)


def rows_digest(
    dialect: str, table: str, cols: Sequence[str], rows: int, parts: Iterable[bytes]
) -> str:
    """Return a digest of ``rows`` fresh rows given as one byte string per column.

    ``parts`` are :meth:`mineaction.store.bulkwrite.FreshColumns.parts`: equal only where the
    encoded columns are equal. Covers the version, the encoding libraries, the dialect,
    table, column names, number of rows and every part; equal rows in the same order give
    the same digest.

    >>> a = rows_digest("sqlite", "t", ["a", "b"], 2, [b"x", b"y"])
    >>> a == rows_digest("sqlite", "t", ["a", "b"], 2, [b"x", b"y"])
    True
    >>> a == rows_digest("sqlite", "t", ["a", "b"], 2, [b"xy", b""])
    False
    """
    h = hashlib.blake2b(digest_size=32)
    h.update(orjson.dumps([DIGEST_VERSION.decode(), _ENCODERS, dialect, table, list(cols), rows]))
    for data in parts:
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def take_digests(conn: Connection) -> dict[RangeKey, dict[str, str]]:
    """Return the stored digests by shard range and table, and delete them (in the transaction).

    The recompute writes new ones before it commits; if it does not commit, they stay.
    """
    out: dict[RangeKey, dict[str, str]] = {}
    d = s.derived_digest.c
    for tbl, no_hazard, lo, hi, digest in conn.execute(
        select(d.tbl, d.no_hazard, d.lo, d.hi, d.digest)
    ):
        out.setdefault((bool(no_hazard), lo, hi), {})[tbl] = digest
    clear_digests(conn)
    return out


def store_digests(conn: Connection, digests: Iterable[tuple[RangeKey, str, str]]) -> None:
    """Write ``(range, table, digest)`` rows into ``derived_digest``."""
    rows = [
        {"tbl": tbl, "no_hazard": key[0], "lo": key[1], "hi": key[2], "digest": digest}
        for key, tbl, digest in digests
    ]
    if rows:
        conn.execute(s.derived_digest.insert(), rows)


def lock_derived(conn: Connection) -> None:
    """On PostgreSQL, lock the derived tables against other writers until the commit.

    Taken first in a recompute's transaction (before its snapshot), so that no direct edit
    of a derived row can slip in between what the workers read and the digests written at
    the end. Readers are not blocked (``EXCLUSIVE`` mode). SQLite's writer lock does this.
    """
    if conn.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in s.DERIVED_TABLES)
        conn.exec_driver_sql(f"LOCK TABLE {names} IN EXCLUSIVE MODE")


@contextmanager
def trusted_writer(conn: Connection) -> Iterator[None]:
    """Write derived rows without the digest triggers, inside the caller's write transaction.

    SQLite: the triggers are dropped and made again at the end (both in the transaction, so
    an interrupted recompute leaves them as they were). PostgreSQL: the row triggers are told
    to skip this transaction (``mineaction.derived_writer``); see :func:`lock_derived`.
    """
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql("SET LOCAL mineaction.derived_writer = 'on'")
        yield
        return
    triggers = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
        "AND name LIKE 'derived\\_digest\\_%' ESCAPE '\\' ORDER BY name"
    ).all()
    for name, _sql in triggers:
        conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    yield
    for _name, sql in triggers:
        conn.exec_driver_sql(sql)

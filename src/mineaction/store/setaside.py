"""Secondary indexes and the hazards' R*Tree set aside while the derived tables are refilled.

On SQLite a full rebuild into emptied derived tables drops their secondary indexes and the
R*Tree's insert trigger, and builds them once over the finished tables (PostgreSQL keeps its
indexes: see :func:`indexes_set_aside`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from mineaction.store import schema as s

#: The rows of an R*Tree's three shadow tables (``_node``, ``_rowid``, ``_parent``).
RtreeTables = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def build_rtree(
    name: str, create: str, page_size: int, rows: Sequence[tuple[Any, ...]]
) -> RtreeTables:
    """Insert ``rows`` one by one into a new R*Tree in memory; return its shadow tables' rows.

    ``create``: the ``CREATE VIRTUAL TABLE`` statement of the R*Tree ``name``. The tree depends only on
    the inserts and their order (and on the node size, which follows the page size), so it
    is node for node the tree those inserts make in any database (run by a worker process
    while the recompute builds its indexes).
    """
    db = sqlite3.connect(":memory:", isolation_level=None)
    try:
        db.execute(f"PRAGMA page_size = {int(page_size)}")
        db.execute(create)
        db.execute("BEGIN")
        db.executemany(f'INSERT INTO "{name}" VALUES (?, ?, ?, ?, ?)', rows)
        db.execute("COMMIT")
        return (
            db.execute(f'SELECT nodeno, data FROM "{name}_node" ORDER BY nodeno').fetchall(),
            db.execute(f'SELECT rowid, nodeno FROM "{name}_rowid" ORDER BY rowid').fetchall(),
            db.execute(
                f'SELECT nodeno, parentnode FROM "{name}_parent" ORDER BY nodeno'
            ).fetchall(),
        )
    finally:
        db.close()


class SetAside:
    """What :func:`indexes_set_aside` set aside; the hazards' R*Tree is filled at the end."""

    def __init__(self, conn: Connection, rtree: str | None) -> None:
        """Fill the R*Tree of ``conn`` (``rtree``: its insert trigger's SQL, None: none)."""
        self.conn = conn
        self.rtree = rtree
        self._built: Future[RtreeTables] | None = None
        self._rows: list[tuple[Any, ...]] = []  # R*Tree entries of the hazard rows so far

    def collect_rtree_rows(self) -> None:
        """Read the R*Tree entries of the hazard rows appended since the last call.

        For :meth:`build_rtree_in`, bit by bit while rows are still being written (hazard
        rows are only appended then: never updated nor deleted).
        """
        if self.rtree is None:
            return
        raw: Any = self.conn.connection.dbapi_connection
        upto = self._rows[-1][0] if self._rows else 0
        self._rows.extend(
            raw.execute(
                "SELECT rowid, minx, maxx, miny, maxy FROM hazard WHERE rowid > ? ORDER BY rowid",
                (upto,),
            )
        )

    def build_rtree_in(self, pool: Executor) -> None:
        """Have ``pool`` build the R*Tree from every hazard row now written (no more follow).

        The rows go in ``rowid`` order, as the insert trigger would have inserted them; the
        pool's process builds the same tree (:func:`build_rtree`) while this connection
        builds the indexes, and its nodes are written at the end instead of the inserts.
        """
        if self.rtree is None:
            return
        self.collect_rtree_rows()
        create = str(
            self.conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                (s.HAZARD_RTREE,),
            ).scalar()
        )
        page_size = int(self.conn.exec_driver_sql("PRAGMA page_size").scalar() or 0)
        rows, self._rows = self._rows, []
        self._built = pool.submit(build_rtree, s.HAZARD_RTREE, create, page_size, rows)

    def _fill(self) -> None:
        """Fill the empty R*Tree from every hazard row, as its insert trigger would have."""
        built = self._built.result() if self._built is not None else None
        name = s.HAZARD_RTREE
        node_size = self.conn.exec_driver_sql(
            f"SELECT length(data) FROM {name}_node WHERE nodeno = 1"
        ).scalar()
        if built is None or not built[0] or len(built[0][0][1]) != node_size:
            self.conn.exec_driver_sql(
                f"INSERT INTO {name} SELECT rowid, minx, maxx, miny, maxy FROM hazard "
                "ORDER BY rowid"
            )
            return
        nodes, rowids, parents = built
        raw: Any = self.conn.connection.dbapi_connection
        for table in ("node", "rowid", "parent"):
            raw.execute(f"DELETE FROM {name}_{table}")
        raw.executemany(f"INSERT INTO {name}_node (nodeno, data) VALUES (?, ?)", nodes)
        raw.executemany(f"INSERT INTO {name}_rowid (rowid, nodeno) VALUES (?, ?)", rowids)
        raw.executemany(f"INSERT INTO {name}_parent (nodeno, parentnode) VALUES (?, ?)", parents)


@contextmanager
def indexes_set_aside(conn: Connection) -> Iterator[SetAside]:
    """On SQLite, drop the derived tables' secondary indexes for a full rebuild, then rebuild them.

    Building an index once over the finished table is much cheaper than keeping it up to date
    row by row. The same goes for the hazards' R*Tree (migration 0007): its insert trigger is
    set aside too, and the R*Tree is filled at the end from the hazard table in ``rowid``
    order, which is the order the trigger would have inserted the rows of a table filled
    from empty (the same tree; or built meanwhile elsewhere, see
    :meth:`SetAside.build_rtree_in`). Everything happens inside the caller's write
    transaction, so an interrupted rebuild leaves the indexes (and the rows) as they were;
    WAL readers keep seeing the old state until the commit. PostgreSQL keeps its indexes:
    dropping one there would lock the table against readers for the whole rebuild.
    """
    if conn.dialect.name != "sqlite":
        yield SetAside(conn, None)
        return
    names = ", ".join(f"'{t.name}'" for t in s.DERIVED_TABLES)
    indexes = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({names}) ORDER BY name"
    ).all()
    for name, _sql in indexes:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    rtree = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
        (f"{s.HAZARD_RTREE}_insert",),
    ).scalar()
    if rtree is not None:
        conn.exec_driver_sql(f'DROP TRIGGER "{s.HAZARD_RTREE}_insert"')
    aside = SetAside(conn, rtree)
    yield aside
    for _name, sql in indexes:
        conn.exec_driver_sql(sql)
    if rtree is not None:
        conn.exec_driver_sql(f"DELETE FROM {s.HAZARD_RTREE}")
        aside._fill()
        conn.exec_driver_sql(rtree)

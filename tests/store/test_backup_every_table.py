"""Backups cover every table of the schema: each one is filled, backed up and restored exactly.

The source has a real ledger and projection (``populate``) and, in every table the ledger does
not fill, rows of every column type made from the table's own definition (so a table added to
``store/schema.py`` later is covered without changing this test, and an empty table fails it).
Rows are compared as Python values read back through SQLAlchemy (geometries as WKB, times in
UTC), not through the backup's own encoding, so a lossy encoder cannot hide itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import Point, box
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    func,
    select,
    text,
)
from tests.reliability.data import populate
from tests.reliability.pgutil import pg_databases
from tests.reliability.rows import rows_of

from mineaction.services import ledger
from mineaction.store import backup as bk
from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.store.types import Geometry

AWKWARD = "é'\"<b>;--\\ \u2603"


@pytest.fixture
def new_pg_db(pg_url: str, pg_template_db: str) -> Iterator[Callable[[], str]]:
    """Make extra PostGIS databases (the source may already use ``fresh_pg_db``)."""
    with pg_databases(pg_url, pg_template_db) as make:
        yield make


def _value(table: Table, col: Column[Any], i: int, conn: Any) -> Any:
    """A value of the column's type for row ``i`` (row 1 leaves nullable columns empty)."""
    if col.foreign_keys:
        (fk,) = col.foreign_keys
        target = fk.column
        if target.table is table:  # self-reference: the second row points at the first
            return None
        values = sorted(v for (v,) in conn.execute(select(target).distinct()))
        assert values, f"{target.table.name} must be filled before {table.name}"
        return values[min(i, len(values) - 1)]
    if i == 1 and col.nullable and not col.primary_key:
        return None
    kind = col.type
    if isinstance(kind, Geometry):
        return box(30 + i, 50, 30.001 + i, 50.002) if i == 0 else Point(30.5, 50.25)
    if isinstance(kind, Boolean):
        return i == 0
    if isinstance(kind, Integer):
        return 7 * (i + 1)
    if isinstance(kind, Float):
        return 0.1 + 0.2 + i  # not exact in binary: must round-trip bit for bit
    if isinstance(kind, DateTime):
        return datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC) + timedelta(days=i)
    if isinstance(kind, Date):
        return date(2025, 12, 31) + timedelta(days=i)
    if isinstance(kind, LargeBinary):
        return bytes(range(256)) * (i + 1)
    if isinstance(kind, String | Text):
        value = f"{table.name}.{col.name}.{i} {AWKWARD}"
        length = getattr(kind, "length", None)
        return value[-length:] if length else value
    # JSON (the remaining column type of the schema)
    return {"row": i, "f": 0.1, "text": AWKWARD, "list": [None, True, 1.5e300], "nested": {}}


def _fill(conn: Any, table: Table) -> None:
    """Insert two rows of every column type into an empty table."""
    auto = table.autoincrement_column
    for i in range(2):
        row = {c.name: _value(table, c, i, conn) for c in table.columns if c is not auto}
        if table is s.location and i == 1:
            row["parent_pcode"] = conn.execute(select(table.c.pcode)).scalar_one()
        conn.execute(table.insert().values(row))


def _filled_source(store: Store) -> Store:
    populate(store, 3)
    with store.write() as conn:
        for table in s.metadata.sorted_tables:  # parents before children
            if not conn.execute(select(func.count()).select_from(table)).scalar():
                _fill(conn, table)
    return store


@pytest.mark.parametrize("target_kind", ["sqlite", "postgis"])
def test_every_table_is_restored_exactly(
    store: Store, target_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    source = _filled_source(store)
    before = rows_of(source, caches=True)
    empty = [name for name, rows in before.items() if not rows]
    assert not empty, f"tables with no rows in the source: {empty}"
    assert set(before) == set(s.metadata.tables)
    archive = tmp_path / "every.zip"
    result = bk.backup(source, archive)
    manifest = bk.read_manifest(archive)
    # every table but the caches (digests of derived rows: a restore trusts none)
    caches = set(getattr(s, "CACHE_TABLES", ()))
    assert {t.name for t in manifest.tables} == set(s.metadata.tables) - caches
    assert manifest.schema_revision == source.head_revision()
    assert all(len(t.sha256) == 64 for t in manifest.tables)
    assert result.total_rows == sum(len(r) for n, r in before.items() if n not in caches)
    if target_kind == "sqlite":
        url = f"sqlite:///{tmp_path}/restored.db"
    else:
        url = request.getfixturevalue("new_pg_db")()
    target = Store(url, check_schema=False)
    try:
        bk.restore(target, archive)
        target.check_schema()
        after = rows_of(target, caches=True)
        for name in before:
            if name in caches:
                assert after[name] == [], f"cache {name} restored"
            else:
                assert after[name] == before[name], f"table {name} differs after restore"
        if target.dialect == "sqlite":  # the spatial index is rebuilt for every hazard
            with target.read() as conn:
                missing = conn.execute(
                    text(
                        "SELECT count(*) FROM hazard h LEFT JOIN hazard_rtree r ON r.id = h.rowid"
                        " WHERE r.id IS NULL OR r.minx > h.minx OR r.maxx < h.maxx"
                        " OR r.miny > h.miny OR r.maxy < h.maxy"
                    )
                ).scalar()
                indexed = conn.execute(text("SELECT count(*) FROM hazard_rtree")).scalar()
            assert missing == 0 and indexed == len(before["hazard"])
    finally:
        target.dispose()


def test_restored_projection_is_exact_without_synthetic_rows(
    store: Store, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A real programme (every report approved): restore, then ``recompute --check`` is clean."""
    ids = populate(store, 3, approve=False)
    for rid in ids:
        ledger.approve(store, rid, actor="im")
    archive = tmp_path / "real.zip"
    bk.backup(store, archive)
    target = Store(f"sqlite:///{tmp_path}/real.db", check_schema=False)
    try:
        bk.restore(target, archive)
        assert rows_of(target) == rows_of(store)
        checked = ledger.check(target)
        assert not checked.differences and not checked.errors
        assert checked.hazards == 3
        with target.read() as conn:
            assert conn.execute(select(func.count()).select_from(s.eore_session)).scalar() == 1
    finally:
        target.dispose()

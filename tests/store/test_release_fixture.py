"""Upgrading a database made by the previous release (schema 0010) keeps every record.

``tests/fixtures/releases/mineaction-0010.db`` was written by the program as it was at schema
0010 (commit 0b958c2^, see ``make_fixture.py`` there): a ledger with approved, rejected,
unapproved and pending reports and its projection, users, a token, a session, imports with
quarantine, a task, and two rows in every other table. Its own backup
(``mineaction-0010-backup.zip``) restores at 0010 and is upgraded there, which is how the same
release's data is upgraded on PostGIS.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.reliability.pgutil import pg_databases
from tests.reliability.rows import rows_of

from mineaction.services import ledger
from mineaction.store import backup as bk
from mineaction.store import schema as s
from mineaction.store.engine import Store

RELEASES = Path(__file__).parents[1] / "fixtures" / "releases"
OLD_DB = RELEASES / "mineaction-0010.db"
OLD_BACKUP = RELEASES / "mineaction-0010-backup.zip"


def raw_rows(path: Path) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every row of every table of a SQLite file, as stored (sqlite3, no mapping), sorted."""
    con = sqlite3.connect(path)
    try:
        names = [
            n
            for (n,) in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                " AND name NOT LIKE 'hazard_rtree%' AND name != 'alembic_version'"
            )
        ]
        out = {}
        for name in names:
            cur = con.execute(f'SELECT * FROM "{name}"')
            cols = [d[0] for d in cur.description]
            out[name] = (cols, sorted(cur.fetchall(), key=repr))
        return out
    finally:
        con.close()


@pytest.fixture
def upgraded(tmp_path: Path) -> Iterator[tuple[Path, Store]]:
    """A copy of the old release's database, upgraded to this program's schema."""
    path = tmp_path / "old.db"
    shutil.copyfile(OLD_DB, path)
    store = Store(f"sqlite:///{path}", check_schema=False)
    try:
        assert store.current_revision() == "0010"
        store.upgrade()
        store.check_schema()
        yield path, store
    finally:
        store.dispose()


def test_upgrade_keeps_every_row_and_column(upgraded: tuple[Path, Store]) -> None:
    path, store = upgraded
    before = raw_rows(OLD_DB)
    after = raw_rows(path)
    assert sum(len(rows) for _, rows in before.values()) > 150
    for name, (cols, rows) in before.items():
        assert name in after, f"table {name} is gone after the upgrade"
        new_cols, new_rows = after[name]
        assert set(cols) <= set(new_cols), f"{name}: columns lost {set(cols) - set(new_cols)}"
        at = [new_cols.index(c) for c in cols]
        kept = sorted((tuple(r[i] for i in at) for r in new_rows), key=repr)
        assert kept == rows, f"table {name} changed in the upgrade"


#: The m² columns. Since areas take edges as straight in lon/lat exactly (core/geometry.py,
#: after schema 0013), the old release's stored m² differ from this program's in the last
#: digits (rounding of another sum); everything else it stored is what this one computes.
M2_COLUMNS = {*ledger.AREA_FIELDS, "polygon_m2"}


def recompute_changes_only_last_digits_of_m2(path: Path, store: Store) -> None:
    """Recompute the old release's projection; assert only m² changed, by < 1e-9."""
    before = raw_rows(path)
    ledger.recompute(store)
    after = raw_rows(path)
    for name, (cols, rows) in before.items():
        if name in ("audit_log", "derived_digest"):
            continue  # the recompute's own audit entry and digests
        new_cols, new_rows = after[name]
        assert new_cols == cols and len(new_rows) == len(rows), name
        same = [i for i, c in enumerate(cols) if c not in M2_COLUMNS and c != "id"]
        m2 = [i for i, c in enumerate(cols) if c in M2_COLUMNS]

        def by_key(rs: list[tuple[Any, ...]], same: list[int] = same) -> list[tuple[Any, ...]]:
            return sorted(rs, key=lambda r: repr([r[i] for i in same]))

        for old, new in zip(by_key(rows), by_key(new_rows), strict=True):
            assert [old[i] for i in same] == [new[i] for i in same], f"{name} changed"
            for i in m2:
                assert abs(old[i] - new[i]) <= 1e-9 * abs(old[i]), f"{name}.{cols[i]}"


def test_upgraded_ledger_checks_and_keeps_working(upgraded: tuple[Path, Store]) -> None:
    path, store = upgraded
    recompute_changes_only_last_digits_of_m2(path, store)
    checked = ledger.check(store)
    assert checked.hazards == 6 and not checked.differences and not checked.errors
    ledger.approve(store, "OLD-EORE-1", actor="im")
    checked = ledger.check(store)
    assert not checked.differences and checked.reports == 18  # 17 approved by the old release
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(s.eore_session)).scalar() == 1


@pytest.fixture
def new_pg_db(pg_url: str, pg_template_db: str) -> Iterator[Callable[[], str]]:
    """Make extra PostGIS databases."""
    with pg_databases(pg_url, pg_template_db) as make:
        yield make


@pytest.mark.parametrize("target_kind", ["sqlite", "postgis"])
def test_old_release_backup_restores_and_upgrades_on_both_stores(
    upgraded: tuple[Path, Store], target_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The old release's backup, restored at 0010 and upgraded, equals the upgraded file."""
    _, reference = upgraded
    assert bk.read_manifest(OLD_BACKUP).schema_revision == "0010"
    if target_kind == "sqlite":
        url = f"sqlite:///{tmp_path}/restored.db"
    else:
        url = request.getfixturevalue("new_pg_db")()
    target = Store(url, check_schema=False)
    try:
        bk.restore(target, OLD_BACKUP)
        target.check_schema()
        assert rows_of(target) == rows_of(reference)
        ledger.recompute(target)  # this program's m² (see M2_COLUMNS)
        checked = ledger.check(target)
        assert checked.hazards == 6 and not checked.differences and not checked.errors
    finally:
        target.dispose()

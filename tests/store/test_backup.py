"""Backups: consistent, checksummed, portable between SQLite and PostGIS; refusals change nothing."""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from tests.reliability.data import hazard_docs, populate
from tests.reliability.pgutil import pg_databases

from mineaction.cli import cli
from mineaction.errors import StoreError
from mineaction.services import ledger
from mineaction.store import backup as bk
from mineaction.store import schema as s
from mineaction.store.engine import Store, open_store


@pytest.fixture
def new_pg_db(pg_url: str, pg_template_db: str) -> Iterator[Callable[[], str]]:
    """Make extra PostGIS databases (the source may already use ``fresh_pg_db``)."""
    with pg_databases(pg_url, pg_template_db) as make:
        yield make


def snapshot(store: Store) -> dict[str, list[bytes]]:
    with store.read() as conn:
        return bk.dump_tables(conn)


def assert_same(a: Store, b: Store) -> None:
    da, db = snapshot(a), snapshot(b)
    assert da.keys() == db.keys()
    for name in da:
        assert da[name] == db[name], f"table {name} differs after restore"


@pytest.fixture
def source(store: Store) -> Store:
    populate(store, 4)
    with store.write() as conn:
        conn.execute(s.setting.insert().values(key="programme_name", value={"x": [1, 2.5]}))
    return store


@pytest.mark.parametrize("target_kind", ["sqlite", "postgis"])
def test_restore_reproduces_every_record_and_projection(
    source: Store, target_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    archive = tmp_path / "b.zip"
    result = bk.backup(source, archive)
    assert result.total_rows > 50
    if target_kind == "sqlite":
        url = f"sqlite:///{tmp_path}/restored.db"
    else:
        make = request.getfixturevalue("new_pg_db")
        url = make()
    target = Store(url, check_schema=False)
    try:
        bk.restore(target, archive)
        target.check_schema()
        assert_same(source, target)
        checked = ledger.check(target)
        assert not checked.differences and not checked.errors
        assert checked.hazards == 4
        # the store keeps working: new ids do not collide with restored ones
        ledger.approve(target, "K-EORE-1", actor="im")
        with target.read() as conn:
            assert conn.execute(select(func.count()).select_from(s.eore_session)).scalar() == 1
    finally:
        target.dispose()


def test_digests_of_derived_rows_are_not_carried_by_a_backup(
    sqlite_store: Store, tmp_path: Path
) -> None:
    """A restored database trusts no digest: its first recompute compares every stored row."""
    from mineaction.services import rebuild

    populate(sqlite_store, 4)
    rebuild.recompute(sqlite_store, jobs=1, reports_per_shard=5)
    with sqlite_store.read() as conn:
        assert conn.execute(select(func.count()).select_from(s.derived_digest)).scalar()
    archive = tmp_path / "b.zip"
    bk.backup(sqlite_store, archive)
    assert "data/derived_digest.jsonl" not in zipfile.ZipFile(archive).namelist()
    target = Store(f"sqlite:///{tmp_path}/restored.db", check_schema=False)
    try:
        bk.restore(target, archive)
        with target.read() as conn:
            assert conn.execute(select(func.count()).select_from(s.derived_digest)).scalar() == 0
        assert_same(sqlite_store, target)
        # (the restored hazard rows hold the same values, not always the same stored bytes:
        # a digest carried over would have vouched for bytes that are not there)
        result = rebuild.recompute(target, jobs=1, reports_per_shard=5)
        assert result.hazards == 4 and not result.errors
        with target.read() as conn:
            assert conn.execute(select(func.count()).select_from(s.derived_digest)).scalar()
        again = rebuild.recompute(target, jobs=1, reports_per_shard=5)
        assert again.rows_inserted == 0 and again.keys_deleted == 0
    finally:
        target.dispose()


def test_backup_is_consistent_while_writers_run(store: Store, tmp_path: Path) -> None:
    """Online: backups taken while another thread submits and approves (SQLite, PostGIS)."""
    populate(store, 2)
    stop = threading.Event()
    extra = hazard_docs(40, prefix="W")

    def writer() -> None:
        for doc in extra:
            if stop.is_set():
                return
            ledger.submit(store, doc)
            ledger.approve(store, doc["report_id"])

    t = threading.Thread(target=writer)
    t.start()
    try:
        archives = []
        for i in range(3):
            archives.append(tmp_path / f"b{i}.zip")
            bk.backup(store, archives[-1])
    finally:
        stop.set()
        t.join()
    for i, a in enumerate(archives):
        target = Store(f"sqlite:///{tmp_path}/r{i}.db", check_schema=False)
        bk.restore(target, a)
        checked = ledger.check(target)
        assert not checked.differences, checked.differences[:3]
        with target.read() as conn:
            approved = conn.execute(
                select(func.count()).where(s.report.c.state == "approved")
            ).scalar()
            events = conn.execute(select(func.count()).select_from(s.report_event)).scalar()
            reports = conn.execute(select(func.count()).select_from(s.report)).scalar()
        assert events == reports + approved  # every submit and approve has its event
        target.dispose()


def _rewrite(src: Path, dst: Path, change) -> None:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = change(item.filename, zin.read(item.filename))
            if data is not None:
                zout.writestr(item.filename, data)


def _empty(url: str) -> bool:
    st = Store(url, check_schema=False)
    try:
        return st.current_revision() is None
    finally:
        st.dispose()


@pytest.fixture
def good_archive(sqlite_store: Store, tmp_path: Path) -> Path:
    populate(sqlite_store, 2)
    path = tmp_path / "good.zip"
    bk.backup(sqlite_store, path)
    return path


def test_corrupted_archive_is_refused_and_changes_nothing(
    good_archive: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.zip"

    def flip(name: str, data: bytes) -> bytes:
        return data.replace(b"KH0001", b"KH0009") if name == "data/hazard.jsonl" else data

    _rewrite(good_archive, bad, flip)
    url = f"sqlite:///{tmp_path}/t.db"
    with pytest.raises(bk.BackupError, match="checksum mismatch"):
        bk.restore(Store(url, check_schema=False), bad)
    assert _empty(url)


def test_truncated_archive_is_refused(good_archive: Path, tmp_path: Path) -> None:
    raw = good_archive.read_bytes()
    for cut in (len(raw) // 3, len(raw) - 30):
        bad = tmp_path / f"cut{cut}.zip"
        bad.write_bytes(raw[:cut])
        url = f"sqlite:///{tmp_path}/t{cut}.db"
        with pytest.raises(bk.BackupError, match="damaged or truncated|no manifest"):
            bk.restore(Store(url, check_schema=False), bad)
        assert _empty(url)


def test_missing_rows_are_refused(good_archive: Path, tmp_path: Path) -> None:
    bad = tmp_path / "short.zip"

    def drop_line(name: str, data: bytes) -> bytes:
        if name == "data/report.jsonl":
            return b"".join(data.splitlines(keepends=True)[:-1])
        return data

    _rewrite(good_archive, bad, drop_line)
    with pytest.raises(bk.BackupError, match="checksum"):
        bk.verify(bad)


def test_newer_schema_is_refused_clearly(good_archive: Path, tmp_path: Path) -> None:
    newer = tmp_path / "newer.zip"

    def bump(name: str, data: bytes) -> bytes:
        if name == "manifest.json":
            doc = orjson.loads(data)
            doc["schema_revision"] = "9999"
            return orjson.dumps(doc)
        return data

    _rewrite(good_archive, newer, bump)
    url = f"sqlite:///{tmp_path}/t.db"
    with pytest.raises(bk.BackupError, match="newer than this program.*newer mineaction"):
        bk.restore(Store(url, check_schema=False), newer)
    assert _empty(url)


def test_restore_into_a_non_empty_database_is_refused(
    good_archive: Path, sqlite_store: Store
) -> None:
    with pytest.raises(bk.BackupError, match="not empty"):
        bk.restore(sqlite_store, good_archive)


def test_cli_backup_verify_restore(good_archive: Path, sqlite_store: Store, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli.zip"
    res = runner.invoke(cli, ["--db", sqlite_store.url, "backup", str(out)])
    assert res.exit_code == 0, res.output
    assert "backup written" in res.output and "schema" in res.output
    res = runner.invoke(cli, ["restore", str(out), "--verify-only"])
    assert res.exit_code == 0 and "backup ok" in res.output
    target = f"sqlite:///{tmp_path}/cli-restored.db"
    res = runner.invoke(cli, ["restore", str(out), "--db", target])
    assert res.exit_code == 0, res.output
    restored = open_store(target)
    assert_same(sqlite_store, restored)
    res = runner.invoke(cli, ["--db", target, "recompute", "--check"])
    assert res.exit_code == 0, res.output
    restored.dispose()


def test_backup_of_uninitialised_database_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not initialised"):
        bk.backup(Store(f"sqlite:///{tmp_path}/none.db", check_schema=False), tmp_path / "x.zip")
    assert not list(tmp_path.glob("*.zip*"))


def test_docstring_examples() -> None:
    import doctest

    assert doctest.testmod(bk).failed == 0

"""Sharded, parallel recompute and check: the same result as rewriting every derived table."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections import Counter
from typing import Any

import pytest
import shapely
from sqlalchemy import delete, func, insert, select, text, update

from mineaction.errors import ValidationError
from mineaction.services import ledger, rebuild
from mineaction.services.demo import build_demo
from mineaction.store import projections as proj
from mineaction.store import reports as ledger_store
from mineaction.store import schema as s
from mineaction.store import setaside
from mineaction.store import shards as sh
from mineaction.store.engine import Store

#: small shards, so that the small demo (about 50 hazards) is cut into many of them
PER_SHARD = 40


def _content(store: Store) -> dict[str, Counter[tuple[Any, ...]]]:
    """Every derived table as a multiset of rows (without surrogate ids), geometries as WKB."""
    out: dict[str, Counter[tuple[Any, ...]]] = {}
    with store.read() as conn:
        for table in s.DERIVED_TABLES:
            cols = [c for c in table.columns if c.name != "id"]
            rows = Counter()
            for r in conn.execute(select(*cols)):
                rows[
                    tuple(
                        shapely.to_wkb(v, include_srid=False)
                        if isinstance(v, shapely.Geometry)
                        else repr(v)
                        for v in r
                    )
                ] += 1
            out[table.name] = rows
    return out


def _full_rewrite(store: Store) -> None:
    """The reference: clear every derived table and write it again in one process."""
    with store.write() as conn, store.read() as reader:
        ledger.recompute_in(conn, reader=reader)


def _tamper(store: Store) -> None:
    """Damage every derived table in a different way (only possible by editing the database)."""
    with store.write() as conn:
        hz = [r[0] for r in conn.execute(select(s.hazard.c.hazard_id).order_by("hazard_id"))]
        conn.execute(delete(s.hazard).where(s.hazard.c.hazard_id.in_(hz[:3])))
        conn.execute(
            update(s.hazard)
            .where(s.hazard.c.hazard_id.in_(hz[10:12]))
            .values(remaining_m2=s.hazard.c.remaining_m2 + 1, details={"x": -0.0})
        )
        conn.execute(
            update(s.hazard)
            .where(s.hazard.c.hazard_id == hz[20])
            .values(geom=shapely.box(35, 51, 35.01, 51.01))
        )
        stale = dict(
            conn.execute(select(s.hazard).where(s.hazard.c.hazard_id == hz[30])).one()._mapping
        )
        conn.execute(insert(s.hazard).values({**stale, "hazard_id": "ZZ-STALE"}))
        rel = [r[0] for r in conn.execute(select(s.release_polygon.c.id).order_by("id"))]
        conn.execute(delete(s.release_polygon).where(s.release_polygon.c.id.in_(rel[:2])))
        conn.execute(
            update(s.release_polygon).where(s.release_polygon.c.id == rel[5]).values(polygon_m2=1)
        )
        orphan = dict(
            conn.execute(select(s.release_polygon).where(s.release_polygon.c.id == rel[6]))
            .one()
            ._mapping
        )
        del orphan["id"]
        conn.execute(insert(s.release_polygon).values({**orphan, "report_id": "NO-SUCH-REPORT"}))
        conn.execute(
            update(s.activity).values(team="tampered").where(s.activity.c.stage == "completion")
        )
        conn.execute(delete(s.eore_session).where(s.eore_session.c.women > 5))
        conn.execute(update(s.eo_item).values(quantity=s.eo_item.c.quantity + 1))
        conn.execute(delete(s.handover))
        conn.execute(update(s.qm_inspection).values(nonconformities=[{"x": 1}]))
        conn.execute(update(s.victim).values(age=None))


@pytest.fixture
def demo_store(store: Store) -> Store:
    build_demo(store, seed=1, scale="small")
    return store


def test_shards_cover_the_ledger_in_order(demo_store: Store) -> None:
    with demo_store.read() as conn:
        shards = sh.plan_shards(conn, reports_per_shard=PER_SHARD)
        everything = [e.report_id for _h, e in ledger_store.iter_approved_raw(conn)]
        parts = [
            e.report_id
            for shard in shards
            for _h, e in ledger_store.iter_approved_raw(conn, **shard.ledger_filter())
        ]
    assert len(shards) > 5
    assert [x.index for x in shards] == list(range(len(shards)))
    assert sorted(parts) == sorted(everything) and len(parts) == len(everything)
    assert sum(x.reports for x in shards) == len(everything)
    # open bounds at both ends, so that stale rows anywhere are found
    hazard_shards = [x for x in shards if not x.no_hazard]
    assert hazard_shards[0].after is None and hazard_shards[-1].upto is None
    assert all(a.upto == b.after for a, b in zip(hazard_shards, hazard_shards[1:], strict=False))


def test_source_types_match_the_derived_rows(demo_store: Store) -> None:
    with demo_store.read() as conn:
        entries = [e for _h, e in ledger_store.iter_approved_raw(conn)]
    produced: dict[str, set[str]] = {}
    for e in entries:
        for table, rows in proj.derived_rows(e).items():
            if rows:
                produced.setdefault(table.name, set()).add(e.type.value)
    assert set(produced) == set(sh.SOURCE_TYPES)
    for name, types in produced.items():
        assert types <= set(sh.SOURCE_TYPES[name]), name


def test_unchanged_projection_writes_nothing(demo_store: Store) -> None:
    before = _content(demo_store)
    result = rebuild.recompute(demo_store, jobs=1, reports_per_shard=PER_SHARD)
    assert result.rows_inserted == 0 and result.keys_deleted == 0
    assert result.hazards == len(before["hazard"]) and not result.errors
    assert _content(demo_store) == before


@pytest.mark.parametrize("jobs", [1, 2])
def test_recompute_equals_full_rewrite_after_tampering(demo_store: Store, jobs: int) -> None:
    _full_rewrite(demo_store)
    expected = _content(demo_store)
    _tamper(demo_store)
    assert _content(demo_store) != expected
    serial = ledger.check_serial(demo_store)
    parallel = rebuild.check(demo_store, jobs=jobs, reports_per_shard=PER_SHARD)
    # the hazard figures are named as by the one-pass reference (which checks only those) ...
    rows = [d for d in parallel.differences if " rows of " in d]
    figures = [d for d in parallel.differences if d not in rows]
    assert figures == serial.differences and serial.differences
    # ... and every other damaged row by its table and key: a hazard's geometry, every
    # per-report table, rows of a report that does not exist
    tables = {d.split(" rows of ")[0] for d in rows}
    assert tables == {
        "hazard",
        "release_polygon",
        "activity",
        "eore_session",
        "eo_item",
        "handover",
        "qm_inspection",
        "victim",
    }, rows
    with demo_store.read() as conn:
        hz = [r[0] for r in conn.execute(select(s.hazard.c.hazard_id).order_by("hazard_id"))]
    moved = hz[20 - 3]  # three hazards were deleted before it
    assert f"hazard rows of hazard_id {moved}: stored values differ" in " ".join(rows)
    assert any("report_id NO-SUCH-REPORT" in d for d in rows)
    assert (parallel.hazards, parallel.reports) == (serial.hazards, serial.reports)
    progress: list[int] = []
    result = rebuild.recompute(
        demo_store, jobs=jobs, reports_per_shard=PER_SHARD, progress=progress.append
    )
    assert sum(progress) == result.reports == serial.reports
    assert 0 < result.rows_inserted < sum(len(v) for v in expected.values())
    assert _content(demo_store) == expected
    assert rebuild.check(demo_store, jobs=1).differences == []
    again = rebuild.recompute(demo_store, jobs=1, reports_per_shard=PER_SHARD)
    assert again.rows_inserted == 0 and again.keys_deleted == 0


@pytest.mark.parametrize("jobs", [1, 2])
def test_recompute_fills_empty_derived_tables(
    demo_store: Store, jobs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _content(demo_store)
    indexes_before = _indexes(demo_store)
    with demo_store.write() as conn:
        proj.clear_derived(conn)
    built_elsewhere: list[bool] = []  # how the R*Tree was filled
    fill = setaside.SetAside._fill

    def spied(self: setaside.SetAside) -> None:
        built_elsewhere.append(self._built is not None)
        fill(self)

    monkeypatch.setattr(setaside.SetAside, "_fill", spied)
    collected: list[int] = []  # R*Tree entries read, step by step
    collect = setaside.SetAside.collect_rtree_rows

    def counted(self: setaside.SetAside) -> None:
        before = len(self._rows)
        collect(self)
        if len(self._rows) > before:
            collected.append(len(self._rows) - before)

    monkeypatch.setattr(setaside.SetAside, "collect_rtree_rows", counted)
    result = rebuild.recompute(demo_store, jobs=jobs, reports_per_shard=PER_SHARD)
    assert result.rows_inserted == sum(sum(c.values()) for c in expected.values())
    assert _content(demo_store) == expected
    assert _indexes(demo_store) == indexes_before  # set aside on SQLite and built again
    if demo_store.dialect == "sqlite":
        with demo_store.read() as conn:
            n = conn.execute(text("SELECT count(*) FROM hazard_rtree")).scalar()
        assert n == len(expected["hazard"])
        # with workers, one of them builds the tree while the parent builds the indexes
        assert built_elsewhere == [jobs > 1]
        if jobs > 1:  # read bit by bit, as scratch files were copied
            assert len(collected) > 1 and sum(collected) == n
        _assert_rtree_as_by_trigger(demo_store)
    else:
        assert built_elsewhere == []  # PostgreSQL has no R*Tree


def _assert_rtree_as_by_trigger(store: Store) -> None:
    """The hazards' R*Tree (filled in bulk) is the tree the insert trigger builds, node by node."""
    with store.write() as conn:
        conn.exec_driver_sql("CREATE VIRTUAL TABLE temp.by_trigger USING rtree(id, x0, x1, y0, y1)")
        # what the trigger does when the rows are inserted into an empty hazard table
        for row in conn.exec_driver_sql(
            "SELECT rowid, minx, maxx, miny, maxy FROM hazard ORDER BY rowid"
        ).all():
            conn.exec_driver_sql("INSERT INTO temp.by_trigger VALUES (?, ?, ?, ?, ?)", tuple(row))
        mine = conn.exec_driver_sql("SELECT * FROM hazard_rtree_node ORDER BY nodeno").all()
        want = conn.exec_driver_sql("SELECT * FROM temp.by_trigger_node ORDER BY nodeno").all()
        conn.exec_driver_sql("DROP TABLE temp.by_trigger")
    assert mine and mine == want  # entries in insertion order within each node
    with store.read() as conn:
        assert conn.exec_driver_sql("SELECT rtreecheck('hazard_rtree')").scalar() == "ok"


#: one value of one row per table, each of a different kind (text, date, JSON, geometry, float,
#: boolean): the column-by-column comparison must find every one of them
_ONE_VALUE: list[tuple[Any, str, Any]] = [
    (s.hazard, "geom_geojson", '{"type":"Point","coordinates":[0,0]}'),
    (s.hazard, "first_date", None),
    (s.hazard, "details", {"evidence": []}),
    (s.release_polygon, "geom", shapely.box(35, 51, 35.001, 51.001)),
    (s.activity, "end_date", None),
    (s.eo_item, "x", 1e-9),
    (s.accident, "demining", True),
    (s.victim, "sex", "x"),
    (s.qm_inspection, "open_corrective_actions", 99),
    (s.handover, "community", {"x": 1}),
]


def _order(store: Store, table: Any) -> list[tuple[Any, ...]]:
    """Every row but its geometry, the rows of each report in their ``id`` order."""
    cols = [c for c in table.columns if c.name not in ("id", "geom")]
    with store.read() as conn:
        query = select(*cols).order_by(table.c.report_id, table.c.id)
        return [tuple(r) for r in conn.execute(query)]


def test_one_changed_value_is_found_and_only_its_rows_written(demo_store: Store) -> None:
    expected = _content(demo_store)
    items = _order(demo_store, s.eo_item)
    changed: list[tuple[str, str]] = []
    with demo_store.write() as conn:
        for table, column, value in _ONE_VALUE:
            key = "hazard_id" if table is s.hazard else "report_id"
            rows = conn.execute(select(table.c[key], table.c[column]).order_by(table.c[key]))
            # a row in the middle of the table, whose value really changes
            candidates = [k for k, v in rows if v != value]
            assert candidates, (table.name, column)
            k = candidates[len(candidates) // 2]
            pk = list(table.primary_key.columns)[0]
            one = conn.execute(select(pk).where(table.c[key] == k).limit(1)).scalar()
            conn.execute(update(table).where(pk == one).values({column: value}))
            changed.append((table.name, k))
        # two EO items of one report swapped: the same rows in another order
        two = conn.execute(
            select(s.eo_item.c.report_id)
            .group_by(s.eo_item.c.report_id)
            .having(func.count(func.distinct(s.eo_item.c.category)) > 1)
            .order_by(s.eo_item.c.report_id)
        ).first()
        assert two is not None
        first, second = conn.execute(
            select(s.eo_item)
            .where(s.eo_item.c.report_id == two[0])
            .order_by(s.eo_item.c.category, s.eo_item.c.id)
        ).all()[::-1][:2]
        for target, source in ((first, second), (second, first)):
            values = {k: v for k, v in source._mapping.items() if k != "id"}
            conn.execute(update(s.eo_item).where(s.eo_item.c.id == target.id).values(values))
        changed.append(("eo_item", two[0]))
    assert _content(demo_store) != expected
    assert _order(demo_store, s.eo_item) != items
    result = rebuild.recompute(demo_store, jobs=1, reports_per_shard=PER_SHARD)
    assert _content(demo_store) == expected
    assert _order(demo_store, s.eo_item) == items
    # only the changed hazards' and reports' rows were deleted and written again
    assert result.keys_deleted == len(set(changed)) > 5
    assert len(set(changed)) <= result.rows_inserted < 30
    again = rebuild.recompute(demo_store, jobs=1, reports_per_shard=PER_SHARD)
    assert again.rows_inserted == 0 and again.keys_deleted == 0


def test_workers_scratch_files_are_copied_then_removed(
    sqlite_store: Store, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_demo(sqlite_store, seed=1, scale="small")
    expected = _content(sqlite_store)
    with sqlite_store.write() as conn:
        proj.clear_derived(conn)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    # left by a recompute killed with SIGKILL (its process is gone), and by a running one
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = scratch / f"mineaction-recompute-{gone.pid}-abc"
    running = scratch / f"mineaction-recompute-{os.getpid()}-abc"
    for d in (stale, running):
        d.mkdir()
        (d / "worker-1-0.db").write_bytes(b"x")
    copies: list[tuple[str, list[str]]] = []
    real = sh.ScratchCopier.copy

    def copy(self: sh.ScratchCopier, path: str, tables: Any) -> None:
        copies.append((path, [t.name for t in tables]))
        real(self, path, tables)

    monkeypatch.setattr(sh.ScratchCopier, "copy", copy)
    # files of a few shards each, copied as soon as finished (natural keys only at the end)
    monkeypatch.setattr(rebuild, "SCRATCH_MAX_FILES", 6)
    # a pooled store (a server's): its connection must not go back with the files attached
    pooled = Store(sqlite_store.url, pooled=True)
    try:
        with pooled.read() as conn:
            n_shards = len(sh.plan_shards(conn, reports_per_shard=PER_SHARD))
        result = rebuild.recompute(pooled, jobs=2, reports_per_shard=PER_SHARD)
        files = {path for path, _ in copies}
        assert 3 <= len(files) <= 6 < n_shards  # several shards per file, within the limit
        early = [names for names in copies[: -len(files)]]
        assert early and all("accident" not in names for names in early)
        assert [set(names) for _, names in copies[-len(files) :]] == [set(rebuild._TABLES)] * len(
            files
        )
        assert result.rows_inserted == sum(sum(c.values()) for c in expected.values())
        assert _content(sqlite_store) == expected
        assert list(scratch.iterdir()) == [running]  # own removed after the commit, stale too
        with pooled.read() as conn:
            attached = [r[1] for r in conn.exec_driver_sql("PRAGMA database_list")]
        assert attached == ["main"]
    finally:
        pooled.dispose()


def _indexes(store: Store) -> set[tuple[str, str]]:
    sql = (
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        if store.dialect == "sqlite"
        else "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    )
    with store.read() as conn:
        found = {(r[0], r[1]) for r in conn.execute(text(sql))}
    assert len(found) > 10
    return found


def test_interrupted_recompute_leaves_the_database_as_it_was(
    demo_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tamper(demo_store)
    before = _content(demo_store)
    with demo_store.read() as conn:
        audits = conn.execute(select(func.count()).select_from(s.audit_log)).scalar()
    calls = {"n": 0}
    real = rebuild.run_shard

    def failing(
        conn: Any, shard: sh.Shard, mode: str, empty: bool, digests: Any = None
    ) -> rebuild.ShardResult:
        calls["n"] += 1
        if calls["n"] == 4:  # after three shards' changes were written
            raise RuntimeError("interrupted")
        return real(conn, shard, mode, empty, digests)

    monkeypatch.setattr(rebuild, "run_shard", failing)
    with pytest.raises(RuntimeError, match="interrupted"):
        rebuild.recompute(demo_store, jobs=1, reports_per_shard=PER_SHARD)
    assert _content(demo_store) == before
    with demo_store.read() as conn:
        assert conn.execute(select(func.count()).select_from(s.audit_log)).scalar() == audits


def test_jobs_are_resolved_and_validated() -> None:
    assert rebuild.resolve_jobs(None, rebuild.AUTO_MIN_REPORTS - 1) == 1
    assert rebuild.resolve_jobs(None, 10**6) == min(rebuild.available_cpus(), rebuild.AUTO_MAX_JOBS)
    assert rebuild.resolve_jobs(5, 1) == 5
    with pytest.raises(ValidationError, match="--jobs"):
        rebuild.resolve_jobs(0, 1)


def test_comparable_tells_negative_zero_and_json_forms_apart(store: Store) -> None:
    cols = sh.compare_columns(s.hazard)
    with store.read() as conn:
        key = sh.comparable(conn, s.hazard, cols)
    row = [None] * len(cols)
    a, b = list(row), list(row)
    a[cols.index("remaining_m2")], b[cols.index("remaining_m2")] = 0.0, -0.0
    if store.dialect == "postgresql":
        assert key(a) != key(b)  # float8 keeps the sign of zero
        a[cols.index("remaining_m2")] = -0.0
        a[cols.index("details")], b[cols.index("details")] = '{"b": 1, "a": 2}', '{"a":2,"b":1}'
        assert key(a) == key(b)  # jsonb: the same value
    else:
        assert key(a) == key(b)  # SQLite stores 0.0 for both


def test_docstring_examples() -> None:
    import doctest

    assert doctest.testmod(rebuild).failed == 0


# --- digests of the stored rows (migration 0012) ----------------------------------------------


def _digests(store: Store) -> dict[tuple[Any, ...], str]:
    with store.read() as conn:
        rows = conn.execute(
            select(
                s.derived_digest.c.tbl,
                s.derived_digest.c.no_hazard,
                s.derived_digest.c.lo,
                s.derived_digest.c.hi,
                s.derived_digest.c.digest,
            )
        ).all()
    return {(r[0], bool(r[1]), r[2], r[3]): r[4] for r in rows}


def _no_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make reading stored derived rows fail: a recompute trusting its digests reads none."""

    def fail(*_args: Any, **_kw: Any) -> Any:
        raise AssertionError("stored rows read although the digest matched")

    for name in ("stored_rows", "stored_hazards", "shard_reports"):
        monkeypatch.setattr(sh, name, fail)


def test_recompute_writes_digests_and_trusts_them(
    demo_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _digests(demo_store) == {}  # a full rewrite leaves none: the first recompute compares
    first = rebuild.recompute(demo_store, jobs=1, reports_per_shard=PER_SHARD)
    assert first.rows_inserted == 0
    digests = _digests(demo_store)
    with demo_store.read() as conn:
        shards = sh.plan_shards(conn, reports_per_shard=PER_SHARD)
    loose = sum(1 for x in shards if x.no_hazard)
    # every table of every shard (no hazard table for shards of reports without a hazard),
    # and the plan: one row per shard
    assert len(digests) == (len(shards) - loose) * 9 + loose * 8 + len(shards)
    assert sum(k[0] == sh.PLAN for k in digests) == len(shards)
    expected = _content(demo_store)
    _no_reading(monkeypatch)
    again = rebuild.recompute(demo_store, jobs=1, reports_per_shard=PER_SHARD)
    assert (again.rows_inserted, again.keys_deleted, again.reports) == (0, 0, first.reports)
    assert _digests(demo_store) == digests
    assert _content(demo_store) == expected


def test_digests_of_another_version_are_not_trusted(
    demo_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an upgrade (another digest version) the first recompute compares every row."""
    rebuild.recompute(demo_store, jobs=1, reports_per_shard=PER_SHARD)
    expected, old = _content(demo_store), _digests(demo_store)
    monkeypatch.setattr(sh, "DIGEST_VERSION", b"mineaction-derived-rows-test")
    read: list[str] = []
    real = sh.stored_rows

    def counting(conn: Any, table: Any, *args: Any) -> Any:
        read.append(table.name)
        return real(conn, table, *args)

    monkeypatch.setattr(sh, "stored_rows", counting)
    again = rebuild.recompute(demo_store, jobs=1, reports_per_shard=PER_SHARD)
    assert (again.rows_inserted, again.keys_deleted) == (0, 0)
    assert set(read) == {t.name for t in sh.PER_REPORT}  # every table compared
    assert _content(demo_store) == expected
    new = _digests(demo_store)
    assert new.keys() == old.keys()
    assert all(new[k] != d for k, d in old.items() if k[0] != sh.PLAN)
    _no_reading(monkeypatch)
    third = rebuild.recompute(demo_store, jobs=1, reports_per_shard=PER_SHARD)
    assert (third.rows_inserted, third.keys_deleted) == (0, 0)
    assert _digests(demo_store) == new


@pytest.mark.parametrize("jobs", [1, 2])
def test_direct_edits_lose_their_digest_and_are_repaired(demo_store: Store, jobs: int) -> None:
    rebuild.recompute(demo_store, jobs=1, reports_per_shard=PER_SHARD)
    expected, digests = _content(demo_store), _digests(demo_store)
    changed: set[tuple[str, str]] = set()
    with demo_store.write() as conn:
        for table, column, value in [*_ONE_VALUE, (s.hazard, "remaining_m2", 1.5)]:
            key = "hazard_id" if table is s.hazard else "report_id"
            rows = conn.execute(select(table.c[key], table.c[column]).order_by(table.c[key]))
            k = [k for k, v in rows if v != value][-1]
            pk = list(table.primary_key.columns)[0]
            one = conn.execute(select(pk).where(table.c[key] == k).limit(1)).scalar()
            conn.execute(update(table).where(pk == one).values({column: value}))
            changed.add((table.name, k))
    left = _digests(demo_store)
    # only the edited ranges' digests are gone, of the edited tables only
    assert set(left) < set(digests) and len(digests) - len(left) <= len(changed)
    assert {t for t, *_ in set(digests) - set(left)} == {t.name for t, _c, _v in _ONE_VALUE}
    checked = rebuild.check(demo_store, jobs=jobs, reports_per_shard=PER_SHARD)
    assert any("remaining_m2 is 1.50" in d for d in checked.differences)
    # --check names every edited row, not only the hazard figures: geometries, stored GeoJSON,
    # dates, details and every per-report table, each by its table and key
    for table, key in changed:
        if (table, key) == ("hazard", _hazard_with_figure(changed, checked.differences)):
            continue
        assert any(f"{table} rows of " in d and key in d for d in checked.differences), (
            table,
            key,
            checked.differences,
        )
    assert len(checked.differences) == len(changed)
    result = rebuild.recompute(demo_store, jobs=jobs, reports_per_shard=PER_SHARD)
    assert result.keys_deleted == len(changed)
    assert _content(demo_store) == expected
    assert _digests(demo_store) == digests
    assert rebuild.check(demo_store, jobs=1).differences == []


def _hazard_with_figure(changed: set[tuple[str, str]], differences: list[str]) -> str | None:
    """The edited hazard whose figure (remaining m²) check names field by field, if any."""
    for table, key in changed:
        if table == "hazard" and any(d.startswith(f"hazard {key}: ") for d in differences):
            return key
    return None


def test_every_write_of_a_derived_row_forgets_its_digest(demo_store: Store) -> None:
    rebuild.recompute(demo_store, jobs=1, reports_per_shard=PER_SHARD)
    digests = _digests(demo_store)
    for table in s.DERIVED_TABLES:
        key = "hazard_id" if table is s.hazard else "report_id"
        with demo_store.read() as conn:
            row = dict(conn.execute(select(table).order_by(table.c[key]).limit(1)).one()._mapping)
        for edit in ("update", "delete", "insert"):
            with demo_store.write() as conn:
                if edit == "update":
                    conn.execute(
                        update(table).where(table.c[key] == row[key]).values({key: row[key]})
                    )
                elif edit == "delete":
                    conn.execute(delete(table).where(table.c[key] == row[key]))
                else:  # the row deleted, every digest put back, then the row inserted
                    conn.execute(delete(table).where(table.c[key] == row[key]))
                    conn.execute(delete(s.derived_digest))
                    conn.execute(
                        insert(s.derived_digest),
                        [
                            {"tbl": t, "no_hazard": n, "lo": lo, "hi": hi, "digest": d}
                            for (t, n, lo, hi), d in digests.items()
                        ],
                    )
                    conn.execute(insert(table).values(row))
            gone = set(digests) - set(_digests(demo_store))
            assert len(gone) == 1 and next(iter(gone))[0] == table.name, (table.name, edit)
            rebuild.recompute(demo_store, jobs=1, reports_per_shard=PER_SHARD)
            assert _digests(demo_store) == digests
    # a row that names no known report: every digest of its table goes
    with demo_store.write() as conn:
        row = dict(conn.execute(select(s.handover).limit(1)).one()._mapping)
        conn.execute(insert(s.handover).values({**row, "report_id": "NO-SUCH-REPORT"}))
    assert not any(k[0] == "handover" for k in _digests(demo_store))
    assert len(_digests(demo_store)) == len(digests) - sum(k[0] == "handover" for k in digests)
    rebuild.recompute(demo_store, jobs=1, reports_per_shard=PER_SHARD)
    assert _digests(demo_store) == digests
    if demo_store.dialect == "postgresql":
        with demo_store.write() as conn:
            conn.exec_driver_sql("TRUNCATE handover")
        assert not any(k[0] == "handover" for k in _digests(demo_store))


def _report_tuples_read(conn: Any) -> int:
    """Return the rows of ``report`` this PostgreSQL transaction has read (scans and lookups)."""
    return int(
        conn.execute(
            text(
                "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) "
                "FROM pg_stat_xact_user_tables WHERE relname = 'report'"
            )
        ).scalar()
    )


def test_digest_triggers_look_the_report_up_by_its_index(fresh_pg_db: str) -> None:
    """PostgreSQL: writing a derived row outside a recompute reads its report, not the ledger.

    Migration 0012's row trigger passed the table name (a ``name``, collation "C") with the
    report id, so the lookup ran in "C", which ``report.report_id``'s index cannot serve: a
    full scan of ``report`` per stored digest of the table for every row an approval wrote
    (about 6 s per row with the national demo). SQLite's triggers compare in the column's own
    collation (the same query, no such parameter).
    """
    from mineaction.store.engine import open_store

    store = open_store(fresh_pg_db, create=True)
    try:
        build_demo(store, seed=1, scale="small")
        rebuild.recompute(store, jobs=1, reports_per_shard=PER_SHARD)
        with store.read() as conn:
            reports = conn.execute(select(func.count()).select_from(s.report)).scalar_one()
        assert reports > 200
        checked = []
        for table in (t for t in s.DERIVED_TABLES if t is not s.hazard):
            with store.read() as conn:
                rid = conn.execute(select(table.c.report_id).limit(1)).scalar()
                stored = conn.execute(
                    select(func.count()).where(s.derived_digest.c.tbl == table.name)
                ).scalar_one()
            if rid is None:
                continue
            assert stored > 3, table.name  # several digests to check against
            with store.write() as conn:
                conn.execute(text("SET LOCAL enable_seqscan = off"))  # an index if it can
                before = _report_tuples_read(conn)
                rows = conn.execute(
                    update(table).where(table.c.report_id == rid).values(report_id=rid)
                ).rowcount
                read = _report_tuples_read(conn) - before
            # each row, old and new: one lookup of the report and one per digest of the table
            assert read <= rows * 2 * (1 + stored), (table.name, read, rows, reports)
            checked.append(table.name)
        assert {"release_polygon", "activity", "eo_item", "eore_session"} <= set(checked)
    finally:
        store.dispose()


def test_an_approval_forgets_the_digests_of_its_hazard(demo_store: Store) -> None:
    with demo_store.read() as conn:
        pending = conn.execute(
            select(s.report.c.report_id, s.report.c.hazard_id)
            .where(s.report.c.state == "submitted", s.report.c.hazard_id.isnot(None))
            .order_by(s.report.c.report_id)
        ).first()
    assert pending is not None
    rebuild.recompute(demo_store, jobs=1, reports_per_shard=PER_SHARD)
    digests = _digests(demo_store)
    ledger.approve(demo_store, pending[0], actor="im")
    gone = set(digests) - set(_digests(demo_store))
    hid = pending[1]
    assert gone and all(
        not no_hazard and (lo is None or lo < hid) and (hi is None or hid <= hi)
        for _t, no_hazard, lo, hi in gone
    )
    result = rebuild.recompute(demo_store, jobs=1)
    assert result.rows_inserted == 0  # the approval wrote its rows itself
    _full_rewrite(demo_store)
    assert rebuild.check(demo_store, jobs=1).differences == []


def test_interrupted_recompute_keeps_digests_and_triggers(
    demo_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    rebuild.recompute(demo_store, jobs=1, reports_per_shard=PER_SHARD)
    digests = _digests(demo_store)
    sql = (
        "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
        if demo_store.dialect == "sqlite"
        else "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname"
    )
    with demo_store.read() as conn:
        triggers = [r[0] for r in conn.execute(text(sql))]
    assert sum(t.startswith("derived_digest_") for t in triggers) >= 18
    real = rebuild.run_shard

    def failing(conn: Any, shard: sh.Shard, *args: Any) -> rebuild.ShardResult:
        if shard.index == 3:
            raise RuntimeError("interrupted")
        return real(conn, shard, *args)

    monkeypatch.setattr(rebuild, "run_shard", failing)
    with demo_store.write() as conn:  # a direct edit: its digest goes
        conn.execute(update(s.victim).values(age=None))
    digests = _digests(demo_store)
    with pytest.raises(RuntimeError, match="interrupted"):
        rebuild.recompute(demo_store, jobs=1, reports_per_shard=PER_SHARD)
    assert _digests(demo_store) == digests
    with demo_store.read() as conn:
        assert [r[0] for r in conn.execute(text(sql))] == triggers
    # the triggers still work after the rollback
    with demo_store.write() as conn:
        conn.execute(update(s.activity).values(team="x"))
    # (ranges of reports without a hazard have no activities: their digests stay)
    assert not any(k[0] == "activity" and not k[1] for k in _digests(demo_store))
    assert any(k[0] == "activity" and not k[1] for k in digests)


def test_the_plan_of_the_last_recompute_is_kept_while_it_fits(demo_store: Store) -> None:
    with demo_store.read() as conn:
        fresh = sh.plan_shards(conn, reports_per_shard=PER_SHARD)
    keys = [sh.range_key(x) for x in fresh]
    with demo_store.read() as conn:
        # a coarser earlier plan (ranges under twice the size) is kept as it is
        coarse = [
            sh.range_key(x) for x in sh.plan_shards(conn, reports_per_shard=PER_SHARD * 3 // 2)
        ]
        assert coarse != keys
        again = sh.plan_shards(conn, reports_per_shard=PER_SHARD, reuse=coarse)
        assert [sh.range_key(x) for x in again] == coarse
        assert sum(x.reports for x in again) == sum(x.reports for x in fresh)
        kept = sh.plan_shards(conn, reports_per_shard=PER_SHARD, reuse=keys)
        assert [sh.range_key(x) for x in kept] == keys
        assert [x.reports for x in kept] == [x.reports for x in fresh]
        # a range that does not chain (a gap): planned afresh
        gap = [k for k in keys if k != keys[-1]]
        assert [
            sh.range_key(x) for x in sh.plan_shards(conn, reports_per_shard=PER_SHARD, reuse=gap)
        ] == keys
        # ranges grown past twice the shard size: planned afresh
        small = sh.plan_shards(conn, reports_per_shard=PER_SHARD // 3, reuse=keys)
        assert len(small) > len(keys)
        # a bound that is no longer a key of the ledger: planned afresh
        moved = [(k[0], k[1], "ZZZ" if k[2] is not None else None) for k in keys]
        assert [
            sh.range_key(x) for x in sh.plan_shards(conn, reports_per_shard=PER_SHARD, reuse=moved)
        ] == keys


def test_an_approval_keeps_the_plan_and_the_other_digests(demo_store: Store) -> None:
    with demo_store.read() as conn:
        pending = (
            conn.execute(
                select(s.report.c.report_id)
                .where(s.report.c.state == "submitted", s.report.c.hazard_id.isnot(None))
                .order_by(s.report.c.report_id)
            )
            .scalars()
            .all()
        )
    rebuild.recompute(demo_store, jobs=1, reports_per_shard=PER_SHARD)
    plan = {k for k in _digests(demo_store) if k[0] == sh.PLAN}
    for rid in pending[:3]:
        ledger.approve(demo_store, rid, actor="im")
    left = _digests(demo_store)
    result = rebuild.recompute(demo_store, jobs=1, reports_per_shard=PER_SHARD)
    assert result.rows_inserted == 0
    after = _digests(demo_store)
    assert {k for k in after if k[0] == sh.PLAN} == plan  # the same ranges
    assert all(after[k] == d for k, d in left.items())  # the digests not forgotten still hold


def test_workers_do_not_run_the_main_script(demo_store: Store, tmp_path: Any) -> None:
    """Spawned workers leave an unguarded main script alone (the CLI's would cost ~1 s each)."""
    marker = tmp_path / "ran.txt"
    script = tmp_path / "main_script.py"
    script.write_text(
        "import os, sys\n"
        f"sys.path.insert(0, {os.path.abspath('src')!r})\n"
        f"with open({str(marker)!r}, 'a') as f:\n"
        "    f.write(f'{os.getpid()}\\n')\n"
        # no `if __name__ == '__main__'` guard: a worker running this would recompute too
        "from mineaction.services import rebuild\n"
        "from mineaction.store.engine import Store\n"
        f"store = Store({demo_store.url!r})\n"
        f"res = rebuild.recompute(store, jobs=2, reports_per_shard={PER_SHARD})\n"
        "print(res.hazards, res.reports)\n"
    )
    with demo_store.read() as conn:
        hazards = proj.count_hazards(conn)
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[0] == str(hazards)
    assert len(marker.read_text().split()) == 1  # the parent only

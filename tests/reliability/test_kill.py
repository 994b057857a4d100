"""Crash safety: SIGKILL at random points during approve, bulk submit, recompute and migration.

Recompute is killed after its projection was damaged (emptied, or rows changed and deleted),
with ``--jobs 1`` and ``--jobs 2`` (several shards: two worker processes, on SQLite writing
scratch files the parent copies): afterwards the database is exactly as before the run (every
row, index and the R*Tree) or completely rebuilt, no worker outlives the kill, and the next
run removes the scratch files and rebuilds exactly.

A short campaign (about 50 kill points over SQLite and PostGIS); the long one is
``python tests/reliability/run_kill.py``. After every kill: the projection equals a fresh
recompute, every report has its events and audit entries, derived rows match the approved
reports; re-running the interrupted command succeeds and gives the exact expected counts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.reliability import killing

SEED = int(os.environ.get("MINEACTION_KILL_SEED", "20261125"))
LEDGER_ROUNDS = {"approve": 6, "submit": 6, "recompute": 6}
MIGRATION_ROUNDS = 6
IMPORT_ROUNDS = 3  # kill points: 2 stores x (6 + 6 + 6 + 6 + 3) = 54


def _assert_campaign(stats: killing.KillStats, tried: int) -> None:
    assert not stats.failures, "\n".join(stats.failures)
    assert stats.records_lost == 0
    assert sum(stats.tried.values()) == tried
    assert stats.survived == stats.tried
    # the random delays must really interrupt most runs, or the test proves little
    assert sum(stats.killed.values()) >= tried // 2, stats.as_dict()


def test_kill_ledger_commands(store_url: str, tmp_path: Path) -> None:
    stats = killing.ledger_campaign(
        store_url,
        tmp_path,
        rounds=LEDGER_ROUNDS,
        hazards_per_batch=2,
        recompute_hazards=40,  # 120 more reports: several shards of 10 for two workers
        seed=SEED,
    )
    _assert_campaign(stats, sum(LEDGER_ROUNDS.values()))
    # recompute in one process and with two workers (SQLite: writing scratch files), each
    # interrupted at least once; with two, at least once while the workers were running
    assert stats.killed["recompute -j1"] >= 1 and stats.killed["recompute -j2"] >= 1, stats
    assert stats.with_workers["recompute -j2"] >= 1, stats.as_dict()
    if store_url.startswith("sqlite"):  # the workers had their scratch directory
        assert stats.with_scratch["recompute -j2"] >= 1, stats.as_dict()


def test_kill_migration_sqlite(tmp_path: Path) -> None:
    with killing.sqlite_dbs(tmp_path) as (make, copy):
        stats = killing.migration_campaign(make, copy, rounds=MIGRATION_ROUNDS, seed=SEED)
    _assert_campaign_migration(stats)


def test_kill_migration_postgis(pg_url: str, pg_template_db: str) -> None:
    with killing.postgis_dbs(pg_url, pg_template_db) as (make, copy):
        stats = killing.migration_campaign(make, copy, rounds=MIGRATION_ROUNDS, seed=SEED)
    _assert_campaign_migration(stats)


def _assert_campaign_migration(stats: killing.KillStats) -> None:
    assert not stats.failures, "\n".join(stats.failures)
    assert stats.records_lost == 0
    assert stats.tried["migrate"] == MIGRATION_ROUNDS == stats.survived["migrate"]


def test_harness_detects_a_broken_projection(sqlite_store: object, tmp_path: Path) -> None:
    """The checks can fail: a hazard row changed behind the ledger's back is reported."""
    from sqlalchemy import update
    from tests.reliability.data import populate

    from mineaction.store import schema as s
    from mineaction.store.engine import Store

    assert isinstance(sqlite_store, Store)
    populate(sqlite_store, 2)
    assert killing.consistency_problems(sqlite_store) == []
    with sqlite_store.write() as conn:
        conn.execute(update(s.hazard).values(remaining_m2=1.0))
        conn.execute(s.report_event.delete().where(s.report_event.c.action == "approve"))
    problems = killing.consistency_problems(sqlite_store)
    assert any("remaining_m2" in p for p in problems)
    assert any(p.startswith("approved reports without an approve event") for p in problems)


@pytest.mark.parametrize("kill_after", [None, 0.0])
def test_run_cli_reports_kills(tmp_path: Path, kill_after: float | None) -> None:
    run = killing.run_cli(["--db", f"sqlite:///{tmp_path}/x.db", "init"], kill_after=kill_after)
    assert run.killed == (kill_after is not None)
    if kill_after is None:
        assert run.exitcode == 0 and "database ready" in run.output


def test_kill_import_sqlite(tmp_path: Path) -> None:
    with killing.sqlite_dbs(tmp_path) as (make, copy):
        stats = killing.import_campaign(make, copy, rounds=IMPORT_ROUNDS, seed=SEED)
    assert not stats.failures, "\n".join(stats.failures)
    assert stats.records_lost == 0 and stats.survived["import"] == IMPORT_ROUNDS


def test_kill_import_postgis(pg_url: str, pg_template_db: str) -> None:
    with killing.postgis_dbs(pg_url, pg_template_db) as (make, copy):
        stats = killing.import_campaign(make, copy, rounds=IMPORT_ROUNDS, seed=SEED)
    assert not stats.failures, "\n".join(stats.failures)
    assert stats.records_lost == 0 and stats.survived["import"] == IMPORT_ROUNDS


def test_kill_bulk_load_sqlite(tmp_path: Path) -> None:
    """`mineaction demo` loads in one transaction: killed, nothing; re-run, everything."""
    with killing.sqlite_dbs(tmp_path) as (make, copy):
        stats = killing.demo_campaign(make, copy, rounds=1, seed=SEED)
    assert not stats.failures, "\n".join(stats.failures)
    assert stats.records_lost == 0 and stats.survived["demo"] == 1


@pytest.mark.parametrize("empty", [True, False])
def test_damaged_projection_is_detected(sqlite_store: object, empty: bool) -> None:
    """What the recompute kills start from: the checks see the damage (so a half-done rebuild
    that is not the state before the run cannot pass), and a recompute repairs it."""
    import random

    from tests.reliability.data import populate

    from mineaction.services import ledger
    from mineaction.store.engine import Store

    assert isinstance(sqlite_store, Store)
    populate(sqlite_store, 4)
    before = killing.database_state(sqlite_store)
    killing.damage_projection(sqlite_store, random.Random(1), empty=empty)
    assert killing.database_state(sqlite_store) != before
    assert any(p.startswith("check") for p in killing.consistency_problems(sqlite_store))
    ledger.recompute(sqlite_store, jobs=1)
    assert killing.consistency_problems(sqlite_store) == []

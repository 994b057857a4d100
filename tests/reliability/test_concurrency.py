"""Concurrent editors: 20 clients on a real uvicorn server for a few seconds (SQLite, PostGIS).

Reviewers go through every review level (verify, ops_approve, final approve) over the API.
No 5xx, no hang, no lost update (stale edits answer 412), ledger and projections agree.
The long run is ``python tests/reliability/run_concurrency.py``.
"""

from __future__ import annotations

import threading
import time

from tests.reliability.concurrency import run_concurrency
from tests.reliability.data import hazard_docs

from mineaction.services import ledger
from mineaction.store.engine import Store


def test_twenty_clients_on_a_real_server(store_url: str) -> None:
    stats = run_concurrency(store_url, clients=20, seconds=3.0)
    assert not stats.failures, "\n".join(stats.failures[:10])
    assert stats.records_lost == 0
    ops = stats.operations
    for decision in ("verify", "ops_approve", "approve"):  # every level was taken
        assert ops[f"{decision} 200"] > 0, ops
    assert sum(n for k, n in ops.items() if k.startswith("edit task 200")) > 0, ops
    assert sum(n for k, n in ops.items() if k.startswith("submit 201")) > 0, ops


def test_level_check_can_fail(sqlite_store: Store) -> None:
    """A report approved without its verify and ops_approve steps is reported."""
    from tests.reliability.concurrency import level_problems

    docs = hazard_docs(1, prefix="L")
    ledger.submit(sqlite_store, docs[0])
    ledger.approve(sqlite_store, docs[0]["report_id"])
    problems = level_problems(sqlite_store, exempt=set())
    assert len(problems) == 1 and "L-HA-0000" in problems[0], problems
    assert level_problems(sqlite_store, exempt={"L-HA-0000"}) == []


def test_writers_are_serialised(store: Store) -> None:
    """A second write transaction waits for the first (PostgreSQL: advisory lock; SQLite: WAL)."""
    order: list[str] = []
    entered = threading.Event()

    def first() -> None:
        with store.write():
            entered.set()
            time.sleep(0.5)
            order.append("first done")

    t = threading.Thread(target=first)
    t.start()
    entered.wait(10)
    with store.write():
        order.append("second in")
    t.join()
    assert order == ["first done", "second in"]


def test_parallel_approvals_of_one_hazard_keep_the_projection_exact(store: Store) -> None:
    """Many threads approving reports of the same hazards at once: no lost projection update."""
    docs = hazard_docs(4, prefix="P")
    for d in docs:
        ledger.submit(store, d)
    for d in docs[::3]:
        ledger.approve(store, d["report_id"])  # the hazard reports first
    rest = [d["report_id"] for i, d in enumerate(docs) if i % 3]
    errors: list[str] = []

    def approve(rid: str) -> None:
        try:
            ledger.approve(store, rid)
        except Exception as exc:
            errors.append(f"{rid}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=approve, args=(rid,)) for rid in rest * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # each report approved once; the second attempt is a clear conflict, never a crash
    assert len(errors) == len(rest), errors
    assert all("ConflictError" in e for e in errors), errors
    checked = ledger.check(store)
    assert not checked.differences and checked.reports == len(docs)


def test_sqlite_runs_in_wal_mode_with_busy_handling(sqlite_store: Store) -> None:
    """One writer at a time, readers not blocked (WAL), waiting instead of failing (busy)."""
    with sqlite_store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 10_000
        # FULL (2): every commit is on disk before it returns, so a power cut loses nothing
        assert int(conn.exec_driver_sql("PRAGMA synchronous").scalar() or 0) == 2
    # a reader sees the last committed state while a write transaction is open
    docs = hazard_docs(1, prefix="W")
    ledger.submit(sqlite_store, docs[0])
    with sqlite_store.write() as w:
        w.exec_driver_sql("DELETE FROM report_event")
        with sqlite_store.read() as r:
            assert r.exec_driver_sql("SELECT count(*) FROM report_event").scalar() == 1
        w.rollback()

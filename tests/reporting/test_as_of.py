"""Reports "as of" a past cut-off use exactly the reports approved by then."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from golden_programme import build, hazard
from mineaction.core.reporting import Period
from mineaction.services import ledger, reporting
from mineaction.store import schema as s
from mineaction.store.engine import Store

YEAR = Period.parse("2026")


def _pause() -> datetime:
    time.sleep(0.01)
    t = datetime.now(UTC)
    time.sleep(0.01)
    return t


def test_as_of_excludes_later_approvals_and_keeps_later_unapprovals(store: Store) -> None:
    build(store)
    cut = _pause()
    before = reporting.generate(store, "oslo-action-plan", YEAR, cut_off=cut)
    g_before = reporting.generate(store, "ccm-form-g", YEAR, cut_off=cut)

    # After the cut-off: a new AP-mine hazard is approved and an EORE report is unapproved.
    ledger.submit(
        store,
        hazard(
            "R-H6",
            "DEM",
            "2026-03-01",
            "H6",
            (34.96, 50.52, 34.961, 50.521),
            location="UA5902",
            contamination=["AP_MINE"],
            evidence=[{"type": "VERBAL_REPORT"}],
        ),
    )
    ledger.approve(store, "R-H6", actor="im")
    ledger.unapprove(store, "R-EORE1", reason="duplicate of another session", actor="im")

    now = reporting.generate(store, "oslo-action-plan", YEAR)
    assert one_row(now)["new_count"] == one_row(before)["new_count"] + 1
    assert now.ledger_hash != before.ledger_hash
    assert now.report_count == before.report_count  # one approved, one unapproved

    again = reporting.generate(store, "oslo-action-plan", YEAR, cut_off=cut)
    assert again.ledger_hash == before.ledger_hash
    assert again.cut_off == before.cut_off
    assert again.table("breakdown").rows == before.table("breakdown").rows

    # The unapproval happened after the cut-off: as of the cut-off the session still counts.
    g_again = reporting.generate(store, "ccm-form-g", YEAR, cut_off=cut)
    assert g_again.table("eore_by_admin").total == g_before.table("eore_by_admin").total
    assert g_before.table("eore_by_admin").total["total"] == 45 + 48 + 400
    g_now = reporting.generate(store, "ccm-form-g", YEAR)
    assert g_now.table("eore_by_admin").total["total"] == 48 + 400


def test_cut_off_before_everything_gives_empty_reports(store: Store) -> None:
    early = datetime.now(UTC)
    time.sleep(0.01)
    build(store)
    doc = reporting.generate(store, "apmbc-article7", YEAR, cut_off=early)
    assert doc.report_count == 0
    assert doc.table("mined_areas").rows == []
    empty = reporting.generate(store, "operations", YEAR, cut_off=early)
    assert empty.ledger_hash == doc.ledger_hash


def one_row(doc: reporting.ReportDoc) -> dict:
    (row,) = doc.table("breakdown").rows
    return row


def test_snapshot_now_equals_stored_projection(store: Store) -> None:
    build(store)
    snap = reporting.load_store(store)
    with store.read() as conn:
        stored = {r["hazard_id"]: r for r in conn.execute(select(s.hazard)).mappings()}
    assert set(stored) == set(snap.hazards)
    for hid, row in stored.items():
        st = snap.hazards[hid]
        assert (st.status.value, st.classification.value) == (row["status"], row["classification"])
        for f in ("area_m2", "cancelled_m2", "reduced_m2", "cleared_m2", "remaining_m2"):
            assert getattr(st.areas, f) == pytest.approx(row[f], abs=0.01), (hid, f)

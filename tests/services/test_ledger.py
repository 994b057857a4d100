"""The ledger on both stores: approval drives the projection; nothing is overwritten."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from tests.factories import activity_report, hazard_report, rect

from mineaction.errors import ConflictError, NotFoundError, ValidationError
from mineaction.services import ledger
from mineaction.store import projections as proj
from mineaction.store import reports as repo
from mineaction.store import schema as s
from mineaction.store.engine import Store

# Hazard H1: 0.004 x 0.002 degrees; left quarter 0..0.001, etc.
LEFT = rect(0, 0, 0.001, 0.002)
MIDDLE = rect(0.001, 0, 0.003, 0.002)
ALL = rect(0, 0, 0.004, 0.002)


def hazard(store: Store, hid: str = "H1") -> dict:
    with store.read() as conn:
        return dict(proj.get_hazard(conn, hid))


def test_submitted_report_changes_nothing_until_approved(store: Store) -> None:
    ledger.submit(store, hazard_report())
    with store.read() as conn, pytest.raises(NotFoundError):
        proj.get_hazard(conn, "H1")
    effect = ledger.approve(store, "R-HA-1", actor="im")
    assert effect.after and effect.after["status"] == "open"
    h = hazard(store)
    assert h["classification"] == "SHA" and h["status"] == "open"
    assert h["remaining_m2"] == pytest.approx(h["area_m2"])
    # 0.004 deg of longitude at 51.2 N ~ 279.6 m, 0.002 deg of latitude ~ 222.5 m: ~62,200 m²
    assert 62_000 < h["area_m2"] < 62_400


def test_full_lifecycle_and_explanation(store: Store) -> None:
    for doc in (
        hazard_report(),
        activity_report("R-NTS", activity="NTS", date="2024-02-01", releases=[("cancelled", LEFT)]),
        activity_report(
            "R-CL1",
            date="2024-03-01",
            releases=[("cleared", MIDDLE)],
            eo_items=[{"category": "AP_MINE", "model": "PMN-2", "quantity": 2}],
        ),
        activity_report(
            "R-CL2", date="2024-04-01", releases=[("cleared", ALL)], stage="completion"
        ),
        {
            "report_id": "R-HO",
            "type": "handover",
            "organisation": "FSD",
            "date_of_information": "2024-05-01",
            "handover": {"hazard_id": "H1", "date": "2024-05-01", "recipient": "Sudzha council"},
        },
    ):
        ledger.submit(store, doc)
        ledger.approve(store, doc["report_id"], actor="im")
    h = hazard(store)
    assert h["status"] == "handed_over"
    assert h["classification"] == "CHA"  # EO found is direct evidence
    assert h["remaining_m2"] == pytest.approx(0, abs=1e-6)
    # cleared wins over the earlier cancellation of the left quarter
    assert h["cancelled_m2"] == pytest.approx(0, abs=1e-6)
    assert h["cleared_m2"] == pytest.approx(h["area_m2"], rel=1e-9)
    assert h["eo_found"] == {"AP_MINE": 2}
    state, steps = ledger.explain(store, "H1")
    assert [st.report_id for st in steps] == ["R-HA-1", "R-NTS", "R-CL1", "R-CL2", "R-HO"]
    quarter = steps[0].area_m2 / 4
    assert steps[1].cancelled_m2 == pytest.approx(quarter, rel=1e-3)
    assert steps[2].cleared_m2 == pytest.approx(2 * quarter, rel=1e-3)
    assert steps[3].cleared_m2 == pytest.approx(2 * quarter, rel=1e-3)
    assert steps[3].cancelled_m2 == pytest.approx(-quarter, rel=1e-3)  # re-attributed
    assert [st.status_after for st in steps] == [
        "open",
        "open",
        "worked_on",
        "closed",
        "handed_over",
    ]
    with store.read() as conn:
        n_release = conn.execute(select(func.count()).select_from(s.release_polygon)).scalar()
        n_eo = conn.execute(select(func.sum(s.eo_item.c.quantity))).scalar()
    assert n_release == 3 and n_eo == 2


def test_date_of_information_orders_reports_not_approval_order(store: Store) -> None:
    ledger.submit(store, hazard_report())
    ledger.approve(store, "R-HA-1")
    late = activity_report("R-late", date="2024-06-01", releases=[("cleared", ALL)])
    early = activity_report(
        "R-early", date="2024-02-01", activity="NTS", releases=[("cancelled", LEFT)]
    )
    for doc in (late, early):
        ledger.submit(store, doc)
    ledger.approve(store, "R-late")
    ledger.approve(store, "R-early")  # approved later, but earlier information
    _, steps = ledger.explain(store, "H1")
    assert [s.report_id for s in steps] == ["R-HA-1", "R-early", "R-late"]
    h = hazard(store)
    assert h["cleared_m2"] == pytest.approx(h["area_m2"], rel=1e-9)


def test_same_date_ties_broken_by_approval_order(store: Store) -> None:
    ledger.submit(store, hazard_report())
    ledger.approve(store, "R-HA-1")
    a = activity_report("R-a", date="2024-02-01", activity="NTS", releases=[("cancelled", LEFT)])
    b = activity_report("R-b", date="2024-02-01", activity="TS", releases=[("reduced", LEFT)])
    ledger.submit(store, b)
    ledger.submit(store, a)
    ledger.approve(store, "R-a")
    ledger.approve(store, "R-b")
    _, steps = ledger.explain(store, "H1")
    assert [s.report_id for s in steps[1:]] == ["R-a", "R-b"]


def test_illegal_transition_refused_and_nothing_written(store: Store) -> None:
    ho = {
        "report_id": "R-HO",
        "type": "handover",
        "organisation": "FSD",
        "date_of_information": "2024-05-01",
        "handover": {"hazard_id": "H1", "date": "2024-05-01", "recipient": "council"},
    }
    ledger.submit(store, hazard_report())
    ledger.approve(store, "R-HA-1")
    ledger.submit(store, ho)
    before = hazard(store)
    with pytest.raises(ConflictError, match="cannot go from open to handed_over"):
        ledger.approve(store, "R-HO")
    assert hazard(store) == before
    with store.read() as conn:
        assert repo.get_report(conn, "R-HO")["state"] == "submitted"


def test_activity_before_hazard_is_refused(store: Store) -> None:
    ledger.submit(store, activity_report("R-x", releases=[("cleared", ALL)]))
    with pytest.raises(ConflictError, match="hazard does not exist yet"):
        ledger.approve(store, "R-x")


def test_resubmission_is_idempotent_and_conflicts_are_refused(store: Store) -> None:
    assert ledger.submit(store, hazard_report()).status == "new"
    assert ledger.submit(store, hazard_report()).status == "duplicate"
    with pytest.raises(ConflictError, match="supersedes"):
        ledger.submit(store, hazard_report(name="changed"))
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(s.report)).scalar() == 1


def test_correction_supersedes_approved_report(store: Store) -> None:
    ledger.submit(store, hazard_report())
    ledger.approve(store, "R-HA-1")
    first_area = hazard(store)["area_m2"]
    fix = hazard_report("R-HA-1b", polygon=rect(0, 0, 0.002, 0.002))
    fix["supersedes"] = "R-HA-1"
    ledger.submit(store, fix)
    ledger.approve(store, "R-HA-1b")
    assert hazard(store)["area_m2"] == pytest.approx(first_area / 2, rel=1e-3)
    with store.read() as conn:
        old = repo.get_report(conn, "R-HA-1")
        assert old["state"] == "superseded"
        assert [e["action"] for e in repo.events(conn, "R-HA-1")] == [
            "submit",
            "approve",
            "supersede",
        ]


def test_unapprove_and_reject_need_reasons_and_are_recorded(store: Store) -> None:
    ledger.submit(store, hazard_report())
    ledger.approve(store, "R-HA-1")
    ledger.submit(store, activity_report("R-CL", releases=[("cleared", LEFT)]))
    ledger.approve(store, "R-CL")
    with pytest.raises(ValidationError):
        ledger.unapprove(store, "R-CL", reason=" ")
    # the hazard report cannot be withdrawn while a later report depends on it
    with pytest.raises(ConflictError, match="depend on it"):
        ledger.unapprove(store, "R-HA-1", reason="wrong")
    ledger.unapprove(store, "R-CL", reason="polygon drawn on the wrong field")
    h = hazard(store)
    assert (h["cleared_m2"], h["status"]) == (0, "open")  # replayed without the clearance
    ledger.submit(store, activity_report("R-CL2", releases=[("cleared", LEFT)], date="2024-03-02"))
    ledger.reject(store, "R-CL2", reason="missing depth evidence", actor="im")
    with store.read() as conn:
        r = repo.get_report(conn, "R-CL2")
        assert r["state"] == "rejected" and r["reason"] == "missing depth evidence"
        assert repo.get_report(conn, "R-CL")["state"] == "unapproved"


def test_recompute_rebuilds_identically_and_check_detects_tampering(store: Store) -> None:
    ledger.submit(store, hazard_report())
    ledger.submit(store, hazard_report("R-HA-2", "H2", polygon=rect(0.01, 0, 0.012, 0.001)))
    ledger.submit(store, activity_report("R-CL", releases=[("cleared", MIDDLE)]))
    for rid in ("R-HA-1", "R-HA-2", "R-CL"):
        ledger.approve(store, rid)
    before = {h: hazard(store, h) for h in ("H1", "H2")}
    assert ledger.check(store).differences == []
    result = ledger.recompute(store)
    assert (result.hazards, result.reports, result.errors) == (2, 3, [])
    after = {h: hazard(store, h) for h in ("H1", "H2")}
    for hid in before:
        for key in ("status", "classification", "area_m2", "cleared_m2", "remaining_m2"):
            assert after[hid][key] == pytest.approx(before[hid][key])
    with store.write() as conn:
        conn.execute(s.hazard.update().where(s.hazard.c.hazard_id == "H1").values(remaining_m2=1.0))
    diffs = ledger.check(store).differences
    assert len(diffs) == 1 and "H1: remaining_m2" in diffs[0]


def test_failed_approval_in_batch_leaves_database_unchanged(store: Store) -> None:
    with pytest.raises(ValidationError), store.write() as conn:
        ledger.submit_in(conn, hazard_report(), submitted_by=None)
        ledger.submit_in(conn, {"report_id": "bad", "type": "hazard"}, submitted_by=None)
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(s.report)).scalar() == 0


def test_reported_area_difference_is_flagged(store: Store) -> None:
    ledger.submit(store, hazard_report())
    ledger.approve(store, "R-HA-1")
    doc = activity_report("R-CL", releases=[("cleared", LEFT)])
    doc["activity"]["releases"][0]["reported_m2"] = 30_000  # polygon is ~15,500 m²
    ledger.submit(store, doc)
    ledger.approve(store, "R-CL")
    flags = hazard(store)["flags"]
    assert any("reported 30,000 m² cleared" in f for f in flags)


def test_duplicate_accident_id_from_another_report_is_a_clear_conflict(store: Store) -> None:
    acc = {
        "report_id": "R-ACC-1",
        "type": "accident",
        "organisation": "EMR",
        "date_of_information": "2024-04-20",
        "accident": {
            "accident_id": "ACC-1",
            "date": "2024-04-18",
            "device_category": "AP_MINE",
            "point": {"type": "Point", "coordinates": [35.21, 51.21]},
            "victims": [{"victim_id": "V-1", "sex": "male", "age": 30, "status": "injured"}],
        },
    }
    ledger.submit(store, acc)
    ledger.approve(store, "R-ACC-1")
    ledger.submit(store, {**acc, "report_id": "R-ACC-2", "organisation": "FSD"})
    with pytest.raises(ConflictError, match="already in the database"):
        ledger.approve(store, "R-ACC-2")
    with store.read() as conn:
        assert repo.get_report(conn, "R-ACC-2")["state"] == "submitted"
        assert conn.execute(select(func.count()).select_from(s.victim)).scalar() == 1


def test_altitudes_are_dropped_so_3d_positions_store_on_both_backends(store: Store) -> None:
    doc = hazard_report()
    ring = doc["hazard"]["polygon"]["coordinates"][0]
    doc["hazard"]["polygon"]["coordinates"] = [[[x, y, 181.5] for x, y in ring]]
    doc["hazard"]["benchmark"] = {"type": "Point", "coordinates": [35.2, 51.2, 180.0]}
    ledger.submit(store, doc)
    ledger.approve(store, "R-HA-1")
    h = hazard(store)
    assert not h["geom"].has_z and h["area_m2"] > 0

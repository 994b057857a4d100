"""Golden figures of every report on the hand-made programme (tests/golden_programme.py).

Areas are geodesic m² of the programme's rectangles, computed independently with pyproj
(``area``). Pieces left after overlay get extra vertices on shared edges, which moves a
geodesic area by a few cm²; figures are compared to 0.5 m².
"""

from __future__ import annotations

from typing import Any

import pytest

from golden_programme import (
    H1_CANCELLED,
    H2_MANUAL,
    H2_MECH,
    H2_REDUCED,
    H3_CLEARED,
    RECT_H1,
    RECT_H2,
    RECT_H3,
    RECT_H5,
    area,
    build,
)
from mineaction.core.reporting import Period, ReportDoc, Scope
from mineaction.services import reporting
from mineaction.store.engine import Store

TOL = 0.5
H1_REMAINING = area((34.902, 50.500, 34.904, 50.502))  # east half of H1
H2_REMAINING = area((34.951, 50.501, 34.952, 50.502))  # north-east quarter-strip of H2
H3_REMAINING = area((35.101, 50.600, 35.103, 50.603))  # east two thirds of H3
H1_2026 = Period.parse("2026-01..2026-06")


def rows(doc: ReportDoc, table: str) -> list[dict[str, Any]]:
    return doc.table(table).rows


def one(doc: ReportDoc, table: str, **match: Any) -> dict[str, Any]:
    found = [r for r in rows(doc, table) if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (table, match, rows(doc, table))
    return found[0]


@pytest.fixture
def programme(store: Store) -> Store:
    build(store)
    return store


def test_golden_figures(programme: Store) -> None:
    snap = reporting.load_store(programme)
    assert snap.errors == []
    assert snap.report_count == 18

    # --- APMBC Article 7, first half of 2026 --------------------------------------------
    a7 = reporting.build(snap, "apmbc-article7", H1_2026)
    mined = {r["hazard_id"]: r for r in rows(a7, "mined_areas")}
    assert set(mined) == {"H1", "H2"}  # H3 is cluster munitions only; H5 recorded in July
    assert mined["H1"]["classification"] == "SHA"
    assert mined["H1"]["remaining_m2"] == pytest.approx(H1_REMAINING, abs=TOL)
    # H2 = reduced south strip + manual north-west + mechanical middle-east + remaining
    assert mined["H2"]["classification"] == "CHA"
    assert mined["H2"]["remaining_m2"] == pytest.approx(
        area(RECT_H2) - area(H2_REDUCED) - area(H2_MANUAL) - area(H2_MECH), abs=TOL
    )
    assert mined["H2"]["remaining_m2"] == pytest.approx(H2_REMAINING, abs=TOL)
    assert mined["H1"]["admin_pcode"] == "UA59" and mined["H1"]["admin_name"] == "Sumska"
    ua59 = one(a7, "mined_areas_by_admin", admin_pcode="UA59")
    assert (ua59["sha_count"], ua59["cha_count"]) == (1, 1)
    assert ua59["total_m2"] == pytest.approx(H1_REMAINING + H2_REMAINING, abs=TOL)
    by_type = {r["contamination"]: r for r in rows(a7, "contamination_by_type")}
    assert by_type["Anti-vehicle mine"]["cha_m2"] == pytest.approx(H2_REMAINING, abs=TOL)
    assert by_type["Cluster munition remnants"]["cha_m2"] == pytest.approx(H3_REMAINING, abs=TOL)
    assert by_type["Improvised explosive device"]["sha_count"] == 0
    # AP mines destroyed: 3 PMN-2 in clearance (April), 2 PMN-2 spot (February); PMN in 2025.
    pmn2 = one(a7, "ap_mines_destroyed", model="PMN-2")
    assert (pmn2["land_release"], pmn2["spot"], pmn2["period_total"], pmn2["cumulative"]) == (
        3,
        2,
        5,
        5,
    )
    pmn = one(a7, "ap_mines_destroyed", model="PMN")
    assert (pmn["period_total"], pmn["cumulative"]) == (0, 1)
    assert a7.table("ap_mines_destroyed").total == {
        "model": "Total",
        "land_release": 3,
        "spot": 2,
        "period_total": 5,
        "cumulative": 6,
    }

    # --- Oslo breakdown -----------------------------------------------------------------
    oslo = reporting.build(snap, "oslo-action-plan", H1_2026)
    assert len(rows(oslo, "breakdown")) == 1  # only UA59 has AP-mine hazards
    r = one(oslo, "breakdown", admin_pcode="UA59")
    assert (r["start_sha_count"], r["start_cha_count"]) == (1, 0)  # H1 recorded 2025-11-10
    assert r["start_sha_m2"] == pytest.approx(area(RECT_H1), abs=TOL)
    assert (r["new_count"], r["new_m2"]) == (1, pytest.approx(area(RECT_H2), abs=TOL))
    assert r["cancelled_m2"] == pytest.approx(area(H1_CANCELLED), abs=TOL)
    assert r["reduced_m2"] == pytest.approx(area(H2_REDUCED), abs=TOL)
    assert r["cleared_m2"] == pytest.approx(area(H2_MANUAL) + area(H2_MECH), abs=TOL)
    assert r["other_m2"] == pytest.approx(0, abs=TOL)
    assert (r["end_sha_count"], r["end_cha_count"]) == (1, 1)
    assert r["end_sha_m2"] == pytest.approx(H1_REMAINING, abs=TOL)
    assert r["end_m2"] == pytest.approx(H1_REMAINING + H2_REMAINING, abs=TOL)
    methods = {(m["outcome"], m["method"]): m["m2"] for m in rows(oslo, "released_by_method")}
    assert methods == {
        ("Cancelled", "Non-technical survey"): pytest.approx(area(H1_CANCELLED), abs=TOL),
        ("Reduced", "TS mechanical"): pytest.approx(area(H2_REDUCED), abs=TOL),
        ("Cleared", "manual"): pytest.approx(area(H2_MANUAL), abs=TOL),
        ("Cleared", "mechanical"): pytest.approx(area(H2_MECH), abs=TOL),
    }
    # The whole year adds H5 (July) as a new SHA.
    year = reporting.build(snap, "oslo-action-plan", Period.parse("2026"))
    r = one(year, "breakdown", admin_pcode="UA59")
    assert (r["new_count"], r["end_sha_count"]) == (2, 2)
    assert r["end_sha_m2"] == pytest.approx(H1_REMAINING + area(RECT_H5), abs=TOL)
    # Admin level 2 groups by district.
    lvl2 = reporting.build(snap, "oslo-action-plan", H1_2026, options=reporting.Options(2))
    assert [x["admin_pcode"] for x in rows(lvl2, "breakdown")] == ["UA5902"]

    # --- CCM Form F ---------------------------------------------------------------------
    f = reporting.build(snap, "ccm-form-f", H1_2026)
    r = one(f, "breakdown", admin_pcode="UA63")
    assert r["start_cha_m2"] == pytest.approx(area(RECT_H3), abs=TOL)
    assert r["cleared_m2"] == pytest.approx(area(H3_CLEARED), abs=TOL)
    assert r["end_cha_m2"] == pytest.approx(H3_REMAINING, abs=TOL)
    assert [x["hazard_id"] for x in rows(f, "cmr_areas")] == ["H3"]
    assert one(f, "submunitions_destroyed", model="PTAB-2.5M")["period_total"] == 7

    # --- CCM Form G ---------------------------------------------------------------------
    g = reporting.build(snap, "ccm-form-g", H1_2026)
    r = one(g, "eore_by_admin", admin_pcode="UA59")
    assert (r["sessions"], r["women"], r["men"], r["girls"], r["boys"]) == (1, 10, 8, 12, 15)
    assert (r["total"], r["with_disability"]) == (10 + 8 + 12 + 15, 2)
    assert g.table("eore_by_admin").total["total"] == 45 + (5 + 5 + 20 + 18)
    # The August mass-media session counts for the whole year only.
    g_year = reporting.build(snap, "ccm-form-g", Period.parse("2026"))
    assert one(g_year, "eore_by_method", method="mass media")["total"] == 400

    # --- CCM Form H: aggregate only -----------------------------------------------------
    h = reporting.build(snap, "ccm-form-h", H1_2026)
    sub = one(h, "casualties_period", key="Submunition")
    # woman 34 killed; boy 12 injured; man of unknown age injured
    assert (sub["accidents"], sub["killed"], sub["injured"]) == (1, 1, 2)
    assert (sub["women"], sub["boys"], sub["unknown"], sub["men"]) == (1, 1, 1, 0)
    ap = one(h, "casualties_period", key="Anti-personnel mine")
    assert (ap["injured"], ap["men"], ap["deminers"]) == (1, 1, 1)
    text = str(h.as_dict())
    for personal in ("Kovalenko", "Shevchenko", "V-1", "A-1"):
        assert personal not in text

    # --- Operations, April 2026 ---------------------------------------------------------
    ops = reporting.build(snap, "operations", Period.parse("2026-04"))
    dem = one(ops, "by_operator", organisation="DEM")
    hal = one(ops, "by_operator", organisation="HAL")
    assert dem["cleared_m2"] == pytest.approx(area(H2_MANUAL), abs=TOL)
    assert hal["cleared_m2"] == pytest.approx(area(H2_MECH), abs=TOL)
    assert (dem["team_days"], hal["team_days"]) == (10, 2)
    assert (dem["eo_found"], dem["eo_destroyed"], dem["accidents"]) == (4, 4, 1)
    assert (dem["inspections"], dem["open_cas"], hal["inspections"]) == (1, 1, 0)
    total = ops.table("by_operator").total
    assert total["cleared_m2"] == pytest.approx(area(H2_MANUAL) + area(H2_MECH), abs=TOL)
    manual = one(ops, "productivity", method="manual")
    assert manual["m2_per_team_day"] == pytest.approx(area(H2_MANUAL) / 10, abs=0.1)
    mech = one(ops, "productivity", method="mechanical")
    assert mech["m2_per_team_day"] == pytest.approx(area(H2_MECH) / 2, abs=0.1)
    eo = {x["category"]: x for x in rows(ops, "eo")}
    assert eo["Anti-personnel mine"]["destroyed"] == 3
    assert eo["Anti-vehicle mine"]["in_land_release"] == 1
    qm = one(ops, "qm", organisation="DEM")
    assert (qm["minor"], qm["major"], qm["critical"], qm["open_cas"]) == (1, 1, 0, 1)
    task = one(ops, "tasks", task_id="T-1")
    assert task["remaining_m2"] == pytest.approx(H2_REMAINING, abs=TOL)
    assert task["progress_pct"] == pytest.approx(100 * (1 - H2_REMAINING / area(RECT_H2)), abs=0.1)
    # Per operator: only HAL's figures.
    ops_hal = reporting.build(
        snap, "operations", Period.parse("2026-04"), Scope(organisation="HAL")
    )
    assert [x["organisation"] for x in rows(ops_hal, "by_operator")] == ["HAL"]
    assert rows(ops_hal, "qm") == [] and rows(ops_hal, "tasks") == []


def test_scope_by_admin_area(programme: Store) -> None:
    snap = reporting.load_store(programme)
    ua63 = Scope(area="UA63")
    a7 = reporting.build(snap, "apmbc-article7", H1_2026, ua63)
    assert rows(a7, "mined_areas") == []
    f = reporting.build(snap, "ccm-form-f", H1_2026, ua63)
    assert [x["hazard_id"] for x in rows(f, "cmr_areas")] == ["H3"]
    g = reporting.build(snap, "ccm-form-g", H1_2026, ua63)
    assert g.table("eore_by_admin").total["total"] == 48
    h = reporting.build(snap, "ccm-form-h", H1_2026, Scope(area="UA59"))
    assert [x["key"] for x in rows(h, "casualties_period")] == ["Anti-personnel mine"]


def test_report_states_cut_off_and_hash(programme: Store) -> None:
    doc = reporting.generate(programme, "apmbc-article7", H1_2026)
    meta = dict(doc.metadata())
    assert meta["Ledger hash (sha256)"] == doc.ledger_hash and len(doc.ledger_hash) == 64
    assert meta["Data cut-off"].endswith("UTC")
    assert doc.as_dict()["approved_reports"] == 18

"""Planning on a real store (SQLite and PostGIS): calibration with known answers, stored
plans, accept exactly once, re-planning keeps work in progress, backtest on the demo."""

from __future__ import annotations

import math
from datetime import date

import pytest
from sqlalchemy import func, select
from tests.factories import activity_report, hazard_report, rect

from mineaction.core.planning.calibration import DEFAULT_NTS_SHARE, DEFAULT_TS_SHARE
from mineaction.core.planning.model import AssetClass
from mineaction.errors import ConflictError, ValidationError
from mineaction.services import ledger
from mineaction.services import planning as pl
from mineaction.services.tasks import update_task
from mineaction.store import schema as s
from mineaction.store.engine import Store

W = 0.004  # every hazard is a W x 0.002 degree rectangle at the same latitude: equal areas


def _box(k: int, a: float, b: float) -> dict:
    """Part [a, b] (share of the width) of hazard k's rectangle; areas are linear in longitude."""
    x0 = k * 0.01
    return rect(x0 + a * W, 0, x0 + b * W, 0.002)


def _completed_hazard(store: Store, k: int, rate: float) -> None:
    """NTS cancels 40 % of the width, TS reduces 30 %, manual clearance clears the last 30 %
    with team-days = cleared m2 / rate."""
    hid = f"H{k}"
    docs = [
        hazard_report(f"HA-{k}", hid, polygon=_box(k, 0, 1), location="R1"),
        activity_report(
            f"NTS-{k}",
            hid,
            activity="NTS",
            date="2024-02-01",
            stage="completion",
            releases=[("cancelled", _box(k, 0, 0.4))],
        ),
        activity_report(
            f"TS-{k}",
            hid,
            activity="TS",
            date="2024-03-01",
            stage="completion",
            releases=[("reduced", _box(k, 0.4, 0.7))],
        ),
    ]
    for d in docs:
        ledger.submit(store, d)
        ledger.approve(store, d["report_id"], actor="im")
    with store.read() as conn:
        area = conn.execute(
            select(s.hazard.c.area_m2).where(s.hazard.c.hazard_id == hid)
        ).scalar_one()
    cleared = area * 0.3
    d = activity_report(
        f"CL-{k}",
        hid,
        date="2024-04-01",
        stage="completion",
        releases=[("cleared", _box(k, 0.7, 1))],
        assets=["manual"],
        team_days=cleared / rate,
    )
    ledger.submit(store, d)
    ledger.approve(store, d["report_id"], actor="im")


def test_calibration_known_answers_and_threshold(store: Store) -> None:
    for k in range(9):
        _completed_hazard(store, k, 100.0 if k % 2 == 0 else 400.0)
    cal = pl.calibrate_store(store)
    # 9 completed hazards < 10: stage shares fall back to the documented defaults
    assert cal.completed_hazards == 9
    assert not cal.nts.fitted and cal.nts.share == DEFAULT_NTS_SHARE
    assert cal.ts.share == pytest.approx(DEFAULT_TS_SHARE)
    # 9 clearance reports >= 8: the manual/open rate is fitted
    fit = next(f for f in cal.rates if f.asset is AssetClass.MANUAL and f.terrain == "open")
    assert fit.fitted and fit.reports == 9
    _completed_hazard(store, 9, 400.0)
    cal = pl.calibrate_store(store)
    assert cal.completed_hazards == 10 and cal.nts.fitted and cal.ts.fitted
    assert cal.nts.share == pytest.approx(0.4, abs=1e-6)  # 40 % of the area entering NTS
    assert cal.ts.share == pytest.approx(0.5, abs=1e-6)  # 30 of the 60 % entering TS
    rel = cal.release
    assert (rel.cancelled, rel.reduced, rel.cleared) == pytest.approx((0.4, 0.3, 0.3), abs=1e-6)
    fit = next(f for f in cal.rates if f.asset is AssetClass.MANUAL and f.terrain == "open")
    # five reports at 100 and five at 400 m2/team-day on equal areas:
    # ratio estimator = harmonic mean 2 / (1/100 + 1/400) = 160; lognormal mu = ln 200,
    # sigma = ln(4)/2 * sqrt(10/9) (sample standard deviation)
    assert fit.reports == 10
    assert fit.rate == pytest.approx(160.0, rel=1e-6)
    assert fit.mu == pytest.approx(math.log(200.0), rel=1e-9)
    assert fit.sigma == pytest.approx(math.log(4) / 2 * math.sqrt(10 / 9), rel=1e-9)
    # NTS/TS reports without team-days are counted as not used, not silently dropped
    assert cal.excluded == {"no team-days": 20}
    # too little history for dogs: the default is used and says so
    dogs = next(f for f in cal.rates if f.asset is AssetClass.DOGS and f.terrain == "open")
    assert not dogs.fitted and dogs.rate == 1500.0
    d = cal.as_dict()
    assert d["stages"][0]["source"] == "fitted" and "manual" in pl.calibration_csv(cal)


TEAMS = [
    {"id": "M1", "asset": "manual", "home": "R1"},
    {"id": "M2", "asset": "manual", "home": "R1"},
    {"id": "N1", "asset": "nts", "home": "R1"},
    {"id": "T1", "asset": "ts", "home": "R1"},
]


def _open_hazards(store: Store, n: int = 4) -> None:
    for k in range(n):
        d = hazard_report(f"OH-{k}", f"O{k}", polygon=_box(20 + k, 0, 1 + k * 0.5), location="R1")
        ledger.submit(store, d)
        ledger.approve(store, d["report_id"], actor="im")


def _task_count(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(s.task)).scalar_one())


def test_plan_accept_once_and_replan_keeps_started_tasks(store: Store) -> None:
    _open_hazards(store)
    opts = pl.PlanOptions(start=date(2027, 4, 1), time_limit=1.0, bound=True, bound_time=20)
    first = pl.run_plan(store, opts, teams_rows=TEAMS, created_by="planner")
    p1 = pl.get_plan(store, first.plan_id)
    assert p1["status"] == "draft" and p1["items"]
    assert p1["bound"] is not None and p1["bound"] <= p1["objective"] * (1 + 1e-9)
    assert p1["gap"] is not None and p1["gap"] >= -1e-9
    assert p1["data_cutoff"] and len(p1["config_hash"]) == 64
    # every item is on a team of the right class; stages follow NTS -> TS -> clearance
    stage_team = {"nts": {"N1"}, "ts": {"T1"}, "clearance": {"M1", "M2"}}
    assert all(r["team"] in stage_team[r["stage"]] for r in p1["items"])

    r = pl.accept_plan(store, first.plan_id, actor="ops")
    assert r["tasks_created"] == len(p1["items"]) == _task_count(store)
    with pytest.raises(ConflictError):
        pl.accept_plan(store, first.plan_id, actor="ops")
    assert _task_count(store) == len(p1["items"])  # exactly once
    with store.read() as conn:
        tasks = [
            dict(x) for x in conn.execute(select(s.task).order_by(s.task.c.task_id)).mappings()
        ]
    assert all(t["plan_id"] == first.plan_id and t["status"] == "planned" for t in tasks)
    assert {t["hazard_id"] for t in tasks} == {"O0", "O1", "O2", "O3"}

    # the first NTS task starts: re-planning keeps it on its team, from the plan start
    started = next(t for t in tasks if t["activity_type"] == "NTS")
    update_task(
        store, started["task_id"], {"status": "in_progress"}, expected_version=None, actor="ops"
    )
    second = pl.run_plan(store, opts, teams_rows=TEAMS, created_by="planner")
    p2 = pl.get_plan(store, second.plan_id)
    kept = [x for x in p2["items"] if x["frozen"]]
    assert len(kept) == 1
    assert kept[0]["task_id"] == started["task_id"] and kept[0]["team"] == started["team"]
    assert kept[0]["stage"] == "nts" and kept[0]["start_day"] == 0.0
    r2 = pl.accept_plan(store, second.plan_id, actor="ops")
    assert r2["kept_in_progress"] == 1 and r2["superseded"] == [first.plan_id]
    assert r2["tasks_cancelled"] == len(p1["items"]) - 1
    assert r2["tasks_created"] == len(p2["items"]) - 1
    with store.read() as conn:
        st = dict(conn.execute(select(s.task.c.task_id, s.task.c.status)).all())
    assert st[started["task_id"]] == "in_progress"
    assert sum(1 for v in st.values() if v == "planned") == r2["tasks_created"]
    assert pl.get_plan(store, first.plan_id, items=False)["status"] == "superseded"
    assert [p["plan_id"] for p in pl.list_plans(store)][0] == second.plan_id
    # exports: CSV has one line per item; GeoJSON one feature per item with a point
    assert len(pl.items_csv(p2["items"]).splitlines()) == len(p2["items"]) + 1
    gj = pl.items_geojson(store, p2["items"])
    assert len(gj["features"]) == len(p2["items"])
    assert all(f["geometry"]["type"] == "Point" for f in gj["features"])


def test_plan_input_errors_are_clear(store: Store) -> None:
    with pytest.raises(ValidationError, match="no open hazard"):
        pl.run_plan(store, pl.PlanOptions(time_limit=0.1, bound=False), teams_rows=TEAMS)
    _open_hazards(store, 1)
    with pytest.raises(ValidationError, match="no teams"):
        pl.run_plan(store, pl.PlanOptions(time_limit=0.1, bound=False))
    with pytest.raises(ValidationError, match="unknown asset class"):
        pl.run_plan(store, pl.PlanOptions(bound=False), teams_rows=[{"id": "X", "asset": "robot"}])
    with pytest.raises(ValidationError, match="not planning regions"):
        pl.run_plan(
            store,
            pl.PlanOptions(bound=False),
            teams_rows=[{"id": "X", "asset": "manual", "home": "R9"}],
        )
    bad = {"regions": {"R1": {"closures": [{"start": "2027-02-01", "end": "2027-01-01"}]}}}
    with pytest.raises(ValidationError, match="before it starts"):
        pl.run_plan(store, pl.PlanOptions(bound=False), teams_rows=TEAMS, calendars=bad)


def test_backtest_on_the_demo(store: Store) -> None:
    from mineaction.services.demo import build_demo

    build_demo(store, seed=1, scale="small")
    as_of = date(2025, 10, 31)
    then = pl.load_programme(store, as_of)
    today = pl.load_programme(store)
    # only reports dated (and approved) up to the date are in the replay
    assert then.releases and max(r.day for r in then.releases) <= as_of
    assert len(then.activities) < len(today.activities)
    out = pl.backtest(store, as_of, months=12, period_months=6, samples=4)
    assert out["as_of"] == "2025-10-31" and len(out["periods"]) == 2
    open_then = {h.hazard_id for h in then.open_hazards()}
    assert out["hazards_open_then"] == len(open_then)
    # the actual m2 released in the first period, recomputed independently from the ledger
    with store.read() as conn:
        a = s.activity.c
        rows = conn.execute(
            select(a.hazard_id, a.cancelled_m2 + a.reduced_m2 + a.cleared_m2).where(
                a.date_of_information > as_of, a.date_of_information <= date(2026, 4, 30)
            )
        ).all()
    expected = sum(m2 for hid, m2 in rows if hid in open_then)
    first = out["periods"][0]
    assert first["period_end"] == "2026-04-30"
    assert first["released_m2"]["actual"] == pytest.approx(expected, abs=0.1)
    for p in out["periods"]:
        for m in ("released_m2", "hazards_completed"):
            v = p[m]
            assert v["p10"] <= v["p50"] <= v["p90"]
            assert v["covered"] == (v["p10"] <= v["actual"] <= v["p90"])
    assert 0.0 <= out["coverage_p10_p90"] <= 1.0
    # released m2 by outcome adds up to the total, in reality and in each quantile's samples
    for p in out["periods"]:
        parts = p["by_outcome"]
        assert sum(v["actual"] for v in parts.values()) == pytest.approx(
            p["released_m2"]["actual"], abs=1.0
        )
    assert set(out["by_region"]) and set(out["coverage_by_measure"]) == {
        "released_m2",
        "hazards_completed",
        "by_outcome",
        "by_region",
    }
    assert out["settings"]["count_stages"] is True
    # the work selection is fitted on the history before the date only
    assert out["settings"]["work_selection"] is True
    first, again = out["tasking_first"], out["tasking_again"]
    assert first["source"] == again["source"] == "fitted" and first["window_months"] == 12
    assert sum(first["activities"]) + sum(again["activities"]) == sum(out["tasking"]["activities"])
    replayed = sum(
        1
        for a in then.activities
        if a.released_m2 > 0 and a.start and date(2024, 11, 1) <= a.start <= as_of
    )
    assert sum(out["tasking"]["activities"]) <= replayed
    whole = pl.backtest(store, as_of, months=6, period_months=6, samples=2, work_selection=False)
    assert whole["settings"]["work_selection"] is False
    with pytest.raises(ValidationError, match="nothing happened after"):
        pl.backtest(store, date(2030, 1, 1), samples=2)

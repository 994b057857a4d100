"""Forecast: stages counted when they end, seasonal capacity paths from utilisation history."""

from __future__ import annotations

import dataclasses
import datetime as dt
from datetime import date

import numpy as np
import pytest

from mineaction.core.planning.calibration import ActivityRecord, monthly_utilisation
from mineaction.core.planning.check import check_plan
from mineaction.core.planning.forecast import (
    ForecastSettings,
    _capacity_paths,
    _history_months,
    _sample_problem,
    forecast,
)
from mineaction.core.planning.generate import generate_problem
from mineaction.core.planning.instance import compile_problem
from mineaction.core.planning.model import AssetClass, Stage, WorkPackage
from mineaction.core.planning.planner import plan
from mineaction.core.planning.schedule import dispatch_schedule, list_schedule


def _paths(pb, settings, rng, days):
    return _capacity_paths(pb, settings, _history_months(pb, settings, rng, days // 28 + 2))


def test_each_stage_releases_its_area_when_it_ends():
    pb = generate_problem(40, seed=4)
    f = forecast(pb, ForecastSettings(samples=4, seed=2), keep_stages=True)
    total = sum(p.area_m2 for p in pb.packages)
    # everything is released in the end, in every sample, whatever the sampled survey outcome
    assert np.allclose(f.released_by(1e9), total, rtol=1e-5)
    parts = sum(f.released_by(1e9, stage=s) for s in (Stage.NTS, Stage.TS, Stage.CLEARANCE))
    assert np.allclose(parts, total, rtol=1e-5)
    by_region = sum(f.released_by(1e9, region=r) for r in f.all_regions if r in f.region_days)
    assert np.allclose(by_region, total, rtol=1e-5)
    # half-way, the stages that have ended count, so more than the packages completed
    mid = float(np.median(f.programme_days)) / 2
    area = np.asarray([p.area_m2 for p in pb.packages])
    whole = (f.package_days <= mid).astype(float) @ area
    assert (f.released_by(mid) >= whole - 1e-3).all() and (f.released_by(mid) > whole).any()
    with pytest.raises(ValueError, match="keep_stages"):
        forecast(pb, ForecastSettings(samples=1)).released_by(10)


def test_monthly_utilisation_spreads_team_days_over_the_activity():
    acts = [
        ActivityRecord(
            "A",
            "H",
            "CLEARANCE",
            AssetClass.MANUAL,
            "open",
            62.0,
            1.0,
            date(2026, 2, 28),
            start=date(2026, 1, 1),
        ),
        ActivityRecord(
            "B", "H", "CLEARANCE", AssetClass.MANUAL, "open", 30.0, 1.0, date(2026, 1, 15)
        ),  # no start: its end day
        ActivityRecord("C", "H", "BAC", None, "open", 30.0, 1.0, date(2026, 1, 15)),
    ]
    months = [
        (date(2026, 1, 1), date(2026, 1, 31), 20.0),
        (date(2026, 2, 1), date(2026, 2, 28), 10.0),
    ]
    u = monthly_utilisation(acts, {AssetClass.MANUAL: 2}, months, cap=10.0)[AssetClass.MANUAL]
    # A: 62 team-days over 59 days -> 32.59 in January, 29.41 in February; B: 30 in January
    assert u == pytest.approx(((62 * 31 / 59 + 30) / 40, 62 * 28 / 59 / 20), abs=1e-5)
    capped = monthly_utilisation(acts, {AssetClass.MANUAL: 2}, months)[AssetClass.MANUAL]
    assert capped[0] == 1.0


def _settings(history: list[float], first_month: tuple[int, int] = (2025, 1)) -> ForecastSettings:
    return ForecastSettings(
        utilisation_months=(("manual", tuple(history)),),
        utilisation_applied=(("manual", 0.5),),
        utilisation_first_month=first_month,
    )


def test_capacity_paths_keep_the_season():
    pb = dataclasses.replace(generate_problem(10, seed=1), start=date(2026, 1, 1))
    # Jan..Dec history: nothing in June, July and August, 0.5 otherwise
    history = [0.5] * 5 + [0.0, 0.0, 0.0] + [0.5] * 4
    for k in range(20):
        paths = _paths(pb, _settings(history), np.random.default_rng(k), 800)
        top, closures = paths[AssetClass.MANUAL]
        assert top == pytest.approx(1.0)  # 0.5 / 0.5 applied
        july = [c for c in closures if c.start.month == 7]
        assert july and all(c.fraction == 0.0 for c in july)  # July draws June..August
        assert all(c.start.month in (5, 6, 7, 8, 9) for c in closures)
    # busier months than the applied utilisation raise the rates and scale the others down
    busy = [1.0] * 12
    busy[0] = 2.0
    top, closures = _paths(pb, _settings(busy), np.random.default_rng(3), 400)[AssetClass.MANUAL]
    assert top in (2.0, 4.0) and all(c.fraction in (0.5, 0.25) for c in closures)


def test_forecast_with_capacity_paths_is_reproducible_and_spreads():
    pb = dataclasses.replace(generate_problem(60, seed=2), start=date(2026, 1, 1))
    assets = sorted({t.asset.value for t in pb.teams})
    rng = np.random.default_rng(0)
    hist = tuple((a, tuple(float(x) for x in rng.uniform(0.2, 1.0, 12))) for a in assets)
    s = ForecastSettings(
        samples=6,
        seed=3,
        utilisation_months=hist,
        utilisation_applied=tuple((a, 0.6) for a in assets),
        utilisation_first_month=(2025, 1),
    )
    a, b = forecast(pb, s), forecast(pb, s)
    assert np.array_equal(a.programme_days, b.programme_days)
    plain = forecast(pb, dataclasses.replace(s, utilisation_months=()))
    assert np.ptp(a.programme_days) > 0 and not np.array_equal(
        a.programme_days, plain.programme_days
    )
    assert a.percentiles()[0] >= pb.start + dt.timedelta(days=1)


def test_release_days_are_respected_by_every_planner_and_the_checker():
    pb = generate_problem(30, seed=5)
    late = tuple(
        dataclasses.replace(p, release_day=float(40 * (j % 3))) for j, p in enumerate(pb.packages)
    )
    inst = compile_problem(dataclasses.replace(pb, packages=late))
    for result in (dispatch_schedule(inst), list_schedule(inst, "wspt"), plan(inst, max_moves=300)):
        assert check_plan(result) == []
        first = inst.op_pred < 0
        assert (result.start[first] >= inst.op_release[first] - 1e-9).all()
    forged = dispatch_schedule(compile_problem(pb))
    forged.instance = inst
    assert any("release day" in v for v in check_plan(forged))


def test_inflow_competes_for_teams_but_is_not_reported():
    pb = dataclasses.replace(generate_problem(40, seed=6), start=date(2026, 1, 1))
    month = tuple(
        WorkPackage(
            f"n{j}", f"N{j}", pb.packages[0].region, 20_000.0, "open", 50.0, release_day=3.0
        )
        for j in range(6)
    )
    s = ForecastSettings(samples=4, seed=1, inflow=(month,) * 12, inflow_months=6)
    variant = _sample_problem(pb, s, 0, 2000)
    extra = variant.packages[len(pb.packages) :]
    assert len(extra) == 36 and {p.release_day for p in extra[:6]} == {3.0}
    assert min(p.release_day for p in extra[6:12]) == 31.0 + 3  # February 4th
    with_new = forecast(pb, s, keep_stages=True)
    without = forecast(pb, dataclasses.replace(s, inflow=()), keep_stages=True)
    assert with_new.package_days.shape == without.package_days.shape
    # heavy, urgent new hazards delay today's hazards
    assert with_new.programme_days.mean() > without.programme_days.mean()
    total = sum(p.area_m2 for p in pb.packages)
    assert np.allclose(with_new.released_by(1e9), total, rtol=1e-5)

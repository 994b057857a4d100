"""Work selection: the tasking curve fitted from history, its draws, and release days that no
team commits to before they come."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import numpy as np
import pytest
from tests.planning.helpers import month_window

from mineaction.core.planning.calibration import (
    HazardHistory,
    months_idle,
    tasking_curve,
)
from mineaction.core.planning.forecast import (
    DAYS_PER_MONTH,
    ForecastSettings,
    _capacity_paths,
    _history_months,
    _tasking_days,
    forecast,
)
from mineaction.core.planning.generate import generate_problem
from mineaction.core.planning.instance import compile_problem
from mineaction.core.planning.model import (
    AssetClass,
    PlanningProblem,
    Stage,
    Team,
    WorkPackage,
)
from mineaction.core.planning.schedule import dispatch_schedule


def _simulate(
    p_new: float, p_old: float, n: int, months: int, seed: int, tempo: float = 0.0
) -> list[HazardHistory]:
    """Hazards reported over time; each month a hazard idle 0 months is worked on with
    ``p_new``, an older one with ``p_old`` (a known tasking curve), both times the month's
    tempo factor (lognormal, log-sigma ``tempo``)."""
    rng = np.random.default_rng(seed)
    factor = np.exp(rng.normal(0.0, tempo, size=months)) if tempo else np.ones(months)
    out = []
    for j in range(n):
        first_m = int(rng.integers(0, months))
        first = month_window(first_m)[0] + timedelta(days=int(rng.integers(0, 5)))
        starts: list[date] = []
        last = first
        for k in range(first_m + 1, months):
            m0, _ = month_window(k)
            idle = int((m0 - last).days / DAYS_PER_MONTH)
            if rng.uniform() < (p_new if idle == 0 else p_old) * factor[k]:
                day = m0 + timedelta(days=int(rng.integers(0, 25)))
                starts.append(day)
                last = day
        out.append(HazardHistory(f"H{j}", first, tuple(starts)))
    return out


def test_tasking_curve_recovers_a_known_curve():
    hist = _simulate(0.45, 0.08, 3000, 24, seed=3)
    window = [month_window(k) for k in range(12, 24)]
    c = tasking_curve(hist, window, max_age=6)
    assert c.fitted and c.window_months == 12
    assert c.probability[0] == pytest.approx(0.45, abs=0.03)
    for a in range(1, 7):
        assert c.probability[a] == pytest.approx(0.08, abs=0.03), a
    assert sum(c.events) > 0 and all(r >= 0 for r in c.at_risk)
    assert c.tempo_sigma < 0.08  # a steady programme: month-to-month spread is noise
    # history after the window is not used (no peeking): dropping it changes nothing
    cut = window[-1][1]
    trimmed = [
        dataclasses.replace(h, events=tuple(e for e in h.events if e <= cut))
        for h in hist
        if h.first <= cut
    ]
    assert tasking_curve(trimmed, window, max_age=6) == c


def test_tempo_sigma_recovers_a_known_month_to_month_spread():
    hist = _simulate(0.3, 0.05, 4000, 36, seed=5, tempo=0.35)
    window = [month_window(k) for k in range(12, 36)]
    c = tasking_curve(hist, window, max_age=6)
    assert c.tempo_sigma == pytest.approx(0.35, abs=0.12)


def test_sparse_ages_are_pooled_and_closed_hazards_are_not_at_risk():
    window = [month_window(k) for k in range(3, 6)]
    young = [HazardHistory(f"Y{j}", date(2024, 3, 20), (date(2024, 4, 10),)) for j in range(40)]
    old = [HazardHistory(f"O{j}", date(2024, 1, 2)) for j in range(5)]
    closed = [HazardHistory(f"C{j}", date(2024, 1, 2), (), date(2024, 2, 1)) for j in range(50)]
    c = tasking_curve(young + old + closed, window, max_age=4, min_at_risk=30)
    assert sum(c.at_risk) == 40 * 3 + 5 * 3  # closed hazards never at risk
    # the old hazards' ages have too few hazard-months: they share one pooled value
    assert len(set(c.probability[1:])) == 1
    assert months_idle(young[0], date(2024, 6, 1)) == 1
    assert not tasking_curve([], window).fitted


def test_tasking_draws_follow_the_curve_and_the_idle_age():
    pb = generate_problem(400, seed=2)
    hazards = sorted({p.hazard_id for p in pb.packages})
    half = {h: (0 if j % 2 else 5) for j, h in enumerate(hazards)}
    s = ForecastSettings(
        tasking=(0.5, 0.0, 0.0, 0.0, 0.0, 0.1), hazard_idle_months=tuple(half.items())
    )
    days = _tasking_days(pb, s, 0)
    young = np.asarray([days[h] for h in hazards if half[h] == 0])
    old = np.asarray([days[h] for h in hazards if half[h] == 5])
    # young: half in the first month, the rest never before month 5 (zero probability)
    assert (young < DAYS_PER_MONTH).mean() == pytest.approx(0.5, abs=0.12)
    assert not ((young >= DAYS_PER_MONTH) & (young < 5 * DAYS_PER_MONTH)).any()
    # old: geometric with p = 0.1 a month from the start
    assert (old < DAYS_PER_MONTH).mean() == pytest.approx(0.1, abs=0.08)
    assert np.median(old) / DAYS_PER_MONTH == pytest.approx(6.6, abs=3.0)
    # its own random stream: the same draws whatever the teams
    fewer = dataclasses.replace(pb, teams=pb.teams[:-3])
    assert _tasking_days(fewer, s, 0) == days


def test_forecast_starts_no_hazard_before_it_is_taken_up():
    pb = generate_problem(60, seed=7)
    s = ForecastSettings(samples=3, seed=1, tasking=(0.3,))
    f = forecast(pb, s, keep_stages=True)
    everything = forecast(pb, dataclasses.replace(s, tasking=()), keep_stages=True)
    for k in range(3):
        days = _tasking_days(pb, s, k)
        for j, p in enumerate(pb.packages):
            assert f.package_days[k, j] >= days[p.hazard_id]
    # taking hazards up over time releases less early than working the whole stock at once
    assert f.released_by(60).mean() < everything.released_by(60).mean()


def test_capacity_ceiling_is_the_season_best_and_never_below_the_calendar():
    pb = dataclasses.replace(generate_problem(20, seed=1), start=date(2026, 1, 1))
    hist = (0.2,) * 11 + (3.0,)  # history Jan-Dec 2025: only December above the calendar
    s = ForecastSettings(
        utilisation_months=(("manual", hist),),
        utilisation_applied=(("manual", 0.5),),
        utilisation_first_month=(2025, 1),
        capacity_ceiling=True,
        tasking=(0.5,),
    )
    idx = _history_months(pb, s, np.random.default_rng(0), 12)
    top, closures = _capacity_paths(pb, s, idx)[AssetClass.MANUAL]
    assert top == pytest.approx(3.0 / 0.5)  # the season's best, relative to the applied 0.5
    avail = {c.start.month: c.fraction for c in closures}
    # Jan (next to Dec) and Nov-Dec at the top; other months at the calendar (1 / 0.5 / top)
    assert 1 not in avail and 12 not in avail and 11 not in avail
    assert avail[6] == pytest.approx((1.0 / 0.5) / top)


def test_no_team_waits_for_work_released_later_while_work_is_ready():
    team = Team("T", AssetClass.MANUAL, "R", {"open": 100.0})
    urgent_later = WorkPackage("A", "HA", "R", 1_000.0, "open", 1000.0, release_day=100.0)
    ready_now = WorkPackage("B", "HB", "R", 3_000.0, "open", 1.0)
    pb = PlanningProblem(packages=(urgent_later, ready_now), teams=(team,), start=date(2026, 6, 1))
    plan = dispatch_schedule(compile_problem(pb))
    b = 1 if plan.instance.op_pkg[1] == 1 else 0
    a = 1 - b
    assert plan.start[b] == pytest.approx(0.0)  # not idle until day 100
    assert plan.start[a] >= 100.0
    assert Stage.CLEARANCE in {urgent_later.first_stage, ready_now.first_stage}


def test_stage_lags_are_kept_by_dispatch_list_scheduling_and_the_checker():
    from mineaction.core.planning.check import check_plan
    from mineaction.core.planning.model import PlanningInputError
    from mineaction.core.planning.schedule import list_schedule
    from mineaction.core.planning.search import local_search

    pb = generate_problem(30, seed=3, chain_share=1.0)
    lagged = tuple(dataclasses.replace(p, stage_lags=(15.0, 40.0)) for p in pb.packages)
    inst = compile_problem(dataclasses.replace(pb, packages=lagged))
    assert inst.op_lag.size and inst.op_lag.max() == 40.0
    for plan in (dispatch_schedule(inst), list_schedule(inst, "wspt")):
        assert check_plan(plan) == []
        pred = inst.op_pred
        has = pred >= 0
        gap = plan.start[has] - plan.end[pred[has]]
        assert (gap >= inst.op_lag[has] - 1e-9).all() and (inst.op_lag[has] > 0).all()
    forged = dispatch_schedule(compile_problem(pb))
    forged.instance = inst
    assert any("stage lag" in v for v in check_plan(forged))
    with pytest.raises(PlanningInputError, match="dispatching only"):
        local_search(dispatch_schedule(inst), max_moves=10)
    with pytest.raises(PlanningInputError, match="stage lags"):
        compile_problem(
            dataclasses.replace(pb, packages=(dataclasses.replace(lagged[0], stage_lags=(-1.0,)),))
        )


def test_forecast_stage_lags_defer_later_stages():
    pb = generate_problem(60, seed=8, chain_share=1.0)
    s = ForecastSettings(samples=3, seed=2, tasking=(0.3, 0.1))
    f = forecast(pb, s, keep_stages=True)
    assert f.stage_end is not None
    # each later stage ends at least its lag after the previous one (and after its own work)
    from mineaction.core.planning.forecast import _stage_lags

    for k in range(3):
        lags = _stage_lags(pb, s, k)
        for j, p in enumerate(pb.packages):
            ends = f.stage_end[k, j]
            if np.isfinite(ends[0]) and np.isfinite(ends[1]):
                assert ends[1] >= ends[0] + lags[p.hazard_id][0] - 1e-3


def test_first_take_up_and_going_on_are_fitted_apart():
    window = [month_window(k) for k in range(6, 12)]
    # never worked: taken up rarely; worked: the next activity follows in the next month
    fresh = [HazardHistory(f"F{j}", date(2024, 6, 2)) for j in range(200)]
    busy = []
    for j in range(100):
        starts = tuple(month_window(k)[0] + timedelta(days=3) for k in range(6, 12))
        busy.append(HazardHistory(f"B{j}", date(2024, 5, 2), (date(2024, 6, 5), *starts)))
    first = tasking_curve(fresh + busy, window, max_age=3, worked=False)
    again = tasking_curve(fresh + busy, window, max_age=3, worked=True)
    assert sum(first.events) == 0 and first.probability[0] < 0.01
    assert again.probability[0] > 0.99 and sum(again.at_risk) == 600
    # in the draws: worked hazards follow the "again" curve, the others the first one
    pb = generate_problem(200, seed=4)
    hazards = sorted({p.hazard_id for p in pb.packages})
    s = ForecastSettings(
        tasking=(0.0, 0.0, 0.0, 0.001),
        tasking_again=(1.0,),
        worked_hazards=tuple(hazards[::2]),
    )
    days = _tasking_days(pb, s, 1)
    assert all(days[h] < DAYS_PER_MONTH for h in hazards[::2])
    assert all(days[h] >= 3 * DAYS_PER_MONTH for h in hazards[1::2])

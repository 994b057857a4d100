"""Take-up at the programme's observed pace: the monthly count of first take-ups and the order
the programme takes hazards from the stock, fitted from history; the forecast's draws take
that many hazards a month in that order, with no cap and no invented day."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import numpy as np
import pytest
from tests.planning.helpers import month_window

from mineaction.core.planning.calibration import (
    HazardHistory,
    take_up_order_auc,
    take_up_pace,
)
from mineaction.core.planning.forecast import (
    DAYS_PER_MONTH,
    TASKING_CAP_MONTHS,
    ForecastSettings,
    _pace_months,
    _stage_lags,
    _take_up,
    _tasking_days,
    forecast,
)
from mineaction.core.planning.generate import generate_problem


def _history(pace: float, youngest_first: bool, months: int = 24, seed: int = 1):
    """60 hazards reported a month; each month a Poisson(``pace``) number of the never-worked
    hazards reported before it is taken up, youngest (or oldest) first: a known count and
    a known order."""
    rng = np.random.default_rng(seed)
    first: dict[str, date] = {}
    taken: dict[str, date] = {}
    for k in range(months):
        m0, m1 = month_window(k)
        stock = sorted(
            (h for h, d in first.items() if d < m0 and h not in taken),
            key=lambda h: first[h],
            reverse=youngest_first,
        )
        for h in stock[: int(rng.poisson(pace))]:
            taken[h] = m0 + timedelta(days=int(rng.integers(0, 25)))
        for j in range(60):
            first[f"H{k}-{j}"] = m0 + timedelta(days=int(rng.integers(0, 27)))
    return [
        HazardHistory(h, d, (taken[h],) if h in taken else (), None, ()) for h, d in first.items()
    ]


ORDERS = {
    "most recently reported first": lambda h, d: h.first.toordinal(),
    "longest waiting first": lambda h, d: -h.first.toordinal(),
    "random": lambda h, d: float(hash(h.hazard_id) % 1000),
}


def test_fit_recovers_a_known_take_up_count_and_order():
    window = [month_window(k) for k in range(12, 24)]
    hist = _history(25.0, youngest_first=True)
    pace = take_up_pace(hist, window)
    assert pace.fitted and len(pace.counts) == 12
    assert pace.per_month == pytest.approx(25.0, abs=3.0)
    assert pace.sigma < 0.1  # Poisson counts: the month-to-month spread is counting noise
    assert pace.new_per_month == pytest.approx(60.0)
    auc = take_up_order_auc(hist, window, ORDERS)
    assert auc["most recently reported first"] > 0.95
    assert auc["longest waiting first"] < 0.05
    assert auc["random"] == pytest.approx(0.5, abs=0.1)
    # the other order is recognised as well
    other = take_up_order_auc(_history(25.0, youngest_first=False), window, ORDERS)
    assert other["longest waiting first"] > 0.95 > other["most recently reported first"]
    # history after the window is not used (no peeking)
    cut = window[-1][1]
    trimmed = [
        dataclasses.replace(h, events=tuple(e for e in h.events if e <= cut))
        for h in hist
        if h.first <= cut
    ]
    assert take_up_pace(trimmed, window) == pace
    # no stock, nothing to fit
    assert not take_up_pace([], window).fitted and take_up_pace([], window).per_month == 0.0


def test_pace_takes_the_count_a_month_in_the_curve_order():
    # 300 never-worked hazards: half idle 0 months, half 8 months; the record takes young
    # hazards up 20x more often than old ones
    age = np.asarray([0] * 150 + [8] * 150, dtype=np.int64)
    curve = np.asarray([0.2] * 6 + [0.01])
    rng = np.random.default_rng(4)
    months = np.stack([_pace_months(curve, age, 30.0, 0.0, rng) for _ in range(20)])
    assert np.isfinite(months).all()  # the whole stock is taken up: no hazard left out
    per_month = np.stack([np.bincount(m.astype(int), minlength=40)[:8] for m in months])
    assert per_month.mean() == pytest.approx(30.0, rel=0.15)  # the fitted pace
    assert months.max() <= 16  # 300 / 30 a month, with Poisson spread: no cap, no tail
    # in the record's order: the young first
    assert months[:, :150].mean() < months[:, 150:].mean() - 2
    # competing new reports (60 a month at age 0) take most of it: the old wait longer
    slow = _pace_months(curve, age, 30.0, 0.0, rng, new_per_month=60.0, months=600)
    assert np.nanmean(np.where(np.isfinite(slow), slow, np.nan)) > months.mean()


def test_no_hazard_gets_a_capped_or_invented_day():
    pb = generate_problem(300, seed=3)
    hazards = sorted({p.hazard_id for p in pb.packages})
    # every hazard idle 30 months: the curve's tail (0.1 % a month) puts many of them at the
    # old 20-year cap (what the pace replaces)
    idle = tuple((h, 30) for h in hazards)
    worked = tuple(hazards[::3])
    base = ForecastSettings(
        tasking=(0.2,) * 6 + (0.001,),
        tasking_again=(0.4, 0.05, 0.001),
        hazard_idle_months=idle,
        worked_hazards=worked,
    )
    old = np.asarray(list(_tasking_days(pb, base, 0).values())) / DAYS_PER_MONTH
    assert (old >= TASKING_CAP_MONTHS).mean() > 0.2
    old_lags = np.asarray(list(_stage_lags(pb, base, 0).values())) / DAYS_PER_MONTH
    assert (old_lags >= TASKING_CAP_MONTHS // 2).mean() > 0.2
    s = dataclasses.replace(base, pace=True, pace_per_month=20.0, pace_again_per_month=40.0)
    days, lags = _take_up(pb, s, 0)
    d = np.asarray(list(days.values())) / DAYS_PER_MONTH
    lg = np.asarray(list(lags.values())) / DAYS_PER_MONTH
    assert np.isfinite(d).all() and np.isfinite(lg).all()
    # the curve for the record's 12 months, then the pace: never-worked 200 / 20 a month,
    # going on (100 hazards + the later stages still waiting) / 40 a month
    fresh = np.asarray([days[h] for h in hazards if h not in worked]) / DAYS_PER_MONTH
    assert fresh.max() < 12 + len(fresh) / 20.0 + 6
    assert lg.max() < 12 + (len(worked) + 2 * len(hazards)) / 40.0 + 6
    assert d.max() < TASKING_CAP_MONTHS / 4 and lg.max() < TASKING_CAP_MONTHS / 4
    # an observed pace of 0 (from the start): nothing is taken up and no date is given
    none = dataclasses.replace(
        s, pace_per_month=0.0, pace_again_per_month=0.0, pace_after_months=0, samples=2
    )
    assert all(np.isinf(x) for x in _tasking_days(pb, none, 0).values())
    f = forecast(pb, none)
    assert f.percentiles() == (None, None, None)
    assert f.probability_by(date(2200, 1, 1)) == 0.0
    assert {r["p50"] for r in f.table()} == {None}


def test_charts_show_no_date_rather_than_a_date(tmp_path):
    from mineaction.services import plan_charts
    from mineaction.services.planning import forecast_summary
    from mineaction.services.planning_charts import forecast_chart

    pb = generate_problem(40, seed=3)
    hazards = sorted({p.hazard_id for p in pb.packages})
    s = ForecastSettings(
        samples=2,
        tasking=(0.001,),
        hazard_idle_months=tuple((h, 30) for h in hazards),
        pace=True,
        pace_after_months=0,
    )
    f = forecast(pb, s)
    assert forecast_chart(f, tmp_path / "f.png").stat().st_size > 0
    summary = forecast_summary(f, pb, None)
    assert summary["scenario"] == "observed_pace" and summary["packages_without_date"] > 0
    assert plan_charts.forecast_bands(summary)[:4] == b"\x89PNG"


def test_forecast_at_the_pace_completes_and_keeps_stages():
    pb = generate_problem(80, seed=5)
    hazards = sorted({p.hazard_id for p in pb.packages})
    s = ForecastSettings(
        samples=3,
        seed=2,
        tasking=(0.2,) * 3 + (0.001,),
        hazard_idle_months=tuple((h, 12) for h in hazards),
        pace=True,
        pace_per_month=10.0,
        pace_again_per_month=10.0,
    )
    f = forecast(pb, s, keep_stages=True)
    assert np.isfinite(f.package_days).all()
    p10, p50, p90 = f.percentiles()
    assert p10 is not None and p50 is not None and p90 is not None and p10 <= p50 <= p90
    for k in range(3):
        days = _tasking_days(pb, s, k)
        for j, p in enumerate(pb.packages):
            assert f.package_days[k, j] >= days[p.hazard_id]
    # the same draws as the previous model for the record's months: only the tail differs
    capped = dataclasses.replace(s, pace=False)
    a, b = _tasking_days(pb, s, 0), _tasking_days(pb, capped, 0)
    assert all(a[h] == b[h] for h in hazards if b[h] < 12 * DAYS_PER_MONTH)

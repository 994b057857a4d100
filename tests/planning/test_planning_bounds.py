import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.planning.helpers import tiny_problem

from mineaction.core.planning.bounds import (
    bucket_edges,
    lagrangian_bound,
    lp_bound,
    trivial_bound,
)
from mineaction.core.planning.exact import brute_force
from mineaction.core.planning.generate import generate_problem
from mineaction.core.planning.instance import compile_problem
from mineaction.core.planning.model import AssetClass, PlanningProblem, Team, WorkPackage
from mineaction.core.planning.schedule import list_schedule
from mineaction.core.planning.search import local_search


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_packages=st.integers(2, 4),
    n_teams=st.integers(1, 3),
    growth=st.sampled_from([0.0, 0.04, 0.3]),
    horizon_scale=st.sampled_from([0.3, 1.0, 2.0]),
)
def test_bounds_never_exceed_the_optimum(seed, n_packages, n_teams, growth, horizon_scale):
    inst = compile_problem(tiny_problem(seed, n_packages, n_teams))
    if inst.n_ops > 6:
        inst = compile_problem(tiny_problem(seed, 2, n_teams, chains=False))
    opt = brute_force(inst).objective()
    horizon = float(max(1.0, horizon_scale * brute_force(inst).end.max()))
    lp = lp_bound(inst, horizon, growth=growth)
    lag = lagrangian_bound(inst, horizon, growth=growth, iterations=60, target=opt)
    tol = 1e-6 * max(1.0, opt)
    assert lp.status == "optimal"
    assert lp.value <= opt + tol
    assert lag.value <= lp.value + tol
    assert trivial_bound(inst) <= opt + tol


def test_bounds_below_every_plan_on_generated_instance():
    inst = compile_problem(generate_problem(120, seed=11))
    plans = [list_schedule(inst, r) for r in ("wspt", "greedy", "static")]
    plans.append(local_search(plans[0], time_limit=3, max_moves=5000))
    best = min(p.objective() for p in plans)
    horizon = float(plans[-1].end.max())
    lp = lp_bound(inst, horizon, growth=0.1)
    lag = lagrangian_bound(inst, horizon, growth=0.1, iterations=80, target=best)
    warm = lagrangian_bound(inst, horizon, growth=0.1, iterations=20, warm_sample_ops=60)
    assert 0 < lag.value <= lp.value * (1 + 1e-6)
    assert 0 < warm.value <= lp.value * (1 + 1e-6)
    assert lp.value <= best
    assert trivial_bound(inst) <= best


def test_lp_bound_is_tight_on_identical_teams():
    rng = np.random.default_rng(0)
    pk = tuple(
        WorkPackage(
            f"p{j}",
            "h",
            "R",
            float(rng.lognormal(np.log(8000), 1.0)),
            "open",
            float(rng.lognormal(3, 1)),
        )
        for j in range(200)
    )
    inst = compile_problem(
        PlanningProblem(pk, tuple(Team(f"t{i}", AssetClass.MANUAL, "R") for i in range(5)))
    )
    plan = local_search(list_schedule(inst), time_limit=3, max_moves=5000)
    lp = lp_bound(inst, float(plan.end.max()), growth=0.02)
    assert lp.value <= plan.objective()
    assert plan.objective() / lp.value - 1 < 0.05


def test_bucket_edges_cover_horizon():
    e = bucket_edges(1000.0)
    assert e[0] == 0 and e[-1] >= 1000 and np.all(np.diff(e) >= 7)
    assert bucket_edges(30, first=7, growth=0).tolist() == [0, 7, 14, 21, 28, 35]
    with pytest.raises(TypeError):
        bucket_edges()  # type: ignore[call-arg]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_packages=st.integers(2, 3),
    n_teams=st.integers(1, 2),
    growth=st.sampled_from([0.0, 0.3]),
)
def test_chain_completion_rows_stay_below_the_optimum(seed, n_packages, n_teams, growth):
    """Stage chains everywhere: the chain rows tighten the LP but never pass the optimum."""
    inst = compile_problem(tiny_problem(seed, n_packages, n_teams, ts_share=1.0))
    if inst.n_ops > 6:
        inst = compile_problem(tiny_problem(seed, 2, n_teams, ts_share=1.0))
    best = brute_force(inst)
    opt = best.objective()
    horizon = float(best.end.max())
    with_rows = lp_bound(inst, horizon, growth=growth)
    without = lp_bound(inst, horizon, growth=growth, chain_completion=False)
    tol = 1e-6 * max(1.0, opt)
    assert with_rows.status == "optimal" and without.status == "optimal"
    assert without.value <= with_rows.value + tol
    assert with_rows.value <= opt + tol


def test_chain_completion_rows_tighten_a_chained_instance():
    inst = compile_problem(generate_problem(80, seed=5, chain_share=1.0))
    horizon = float(list_schedule(inst, "wspt").end.max())
    assert lp_bound(inst, horizon).value > lp_bound(inst, horizon, chain_completion=False).value


def test_calendar_tails_match_closed_forms():
    """Constant calendar: C - M >= p/2 and duration p; a weekly rest day lengthens both."""
    import datetime as dt

    from mineaction.core.planning.bounds import calendar_tails
    from mineaction.core.planning.model import Calendar

    def one(cal):
        pb = PlanningProblem(
            (WorkPackage("p", "h", "R", 3200.0, "open"),),  # 8 manual team-days
            (Team("t", AssetClass.MANUAL, "R"),),
            start=dt.date(2026, 1, 1),
            calendars={} if cal is None else {"R": cal},
        )
        inst = compile_problem(pb)
        return calendar_tails(inst, np.zeros(1, dtype=np.int64), np.array([8.0]))

    tail, dur = one(None)
    assert tail[0] == pytest.approx(4.0) and dur[0] == pytest.approx(8.0)
    tail, dur = one(Calendar(weekly_rest=(6,)))
    assert dur[0] == pytest.approx(9.0)  # any 9 consecutive days hold at most 8 workable
    assert tail[0] > 4.0
    # the exact plan (one team, one package) is never below the LP bound
    pb_inst = compile_problem(
        PlanningProblem(
            (WorkPackage("p", "h", "R", 3200.0, "open", 2.0),),
            (Team("t", AssetClass.MANUAL, "R"),),
            start=dt.date(2026, 1, 1),
            calendars={"R": Calendar(weekly_rest=(6,))},
        )
    )
    exact = brute_force(pb_inst).objective()
    assert lp_bound(pb_inst, 20.0).value <= exact + 1e-9


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_packages=st.integers(2, 4),
    n_teams=st.integers(1, 3),
    ts_share=st.sampled_from([0.0, 0.4, 1.0]),
    horizon_scale=st.sampled_from([0.3, 1.0, 2.0]),
    chains=st.booleans(),
    team_calendar=st.booleans(),
    release_day=st.sampled_from([0.0, 4.5, 30.0]),
)
def test_schedule_bound_never_exceeds_the_optimum(
    seed, n_packages, n_teams, ts_share, horizon_scale, chains, team_calendar, release_day
):
    """Regional calendars, closures, travel, stage chains, a team's own availability and a
    package's release day: every iterate stays below OPT (and so does the LP)."""
    import dataclasses

    from tests.planning.helpers import START

    from mineaction.core.planning.colgen import schedule_bound
    from mineaction.core.planning.model import Calendar

    def build(n):
        pb = tiny_problem(seed, n, n_teams, ts_share=ts_share)
        teams = list(pb.teams)
        if team_calendar:
            rot = Calendar(rotation=(3, 2), rotation_start=START)
            teams[0] = dataclasses.replace(teams[0], availability=rot)
        pks = list(pb.packages)
        pks[0] = dataclasses.replace(pks[0], release_day=release_day)
        return compile_problem(dataclasses.replace(pb, teams=tuple(teams), packages=tuple(pks)))

    inst = build(n_packages)
    if inst.n_ops > 6:
        inst = build(2)
    best = brute_force(inst)
    opt = best.objective()
    horizon = float(max(1.0, horizon_scale * best.end.max()))
    prices: list = []
    lp_bound(inst, horizon, prices_out=prices)
    res = schedule_bound(inst, horizon, prices[0], opt, iterations=40, chains=chains)
    tol = 1e-9 * max(1.0, opt)
    assert max(res.history) == res.value
    assert res.value <= opt + tol
    assert lp_bound(inst, horizon).value <= opt + tol


def _one_team_problem(travel_days: float, n_packages: int = 1):
    pk = tuple(
        WorkPackage(f"p{j}", "h", "B", 4000.0 * (j + 1), "open", 1.0 + j) for j in range(n_packages)
    )
    return PlanningProblem(
        pk,
        (Team("t", AssetClass.MANUAL, "A"),),
        travel_days={("A", "B"): travel_days},
    )


def test_schedule_bound_counts_travel_from_home():
    """One team based 10 days away: the optimum pays the trip, the pooled LP cannot see it."""
    from mineaction.core.planning.colgen import schedule_bound

    inst = compile_problem(_one_team_problem(10.0, 2))
    best = brute_force(inst)
    opt = best.objective()
    prices: list = []
    lp = lp_bound(inst, float(best.end.max()), prices_out=prices)
    res = schedule_bound(inst, float(best.end.max()), prices[0], opt, iterations=100)
    assert lp.value < 0.8 * opt
    assert opt * 0.95 <= res.value <= opt * (1 + 1e-9)


def test_schedule_bound_beats_pooled_lp_on_few_jobs_per_team():
    """Identical teams with two jobs each: non-preemption per team is what the pool loses."""
    from mineaction.core.planning.colgen import schedule_bound

    rng = np.random.default_rng(3)
    pk = tuple(
        WorkPackage(f"p{j}", "h", "R", float(rng.integers(2000, 12000)), "open", float(w))
        for j, w in enumerate(rng.integers(1, 10, size=6))
    )
    inst = compile_problem(
        PlanningProblem(pk, tuple(Team(f"t{i}", AssetClass.MANUAL, "R") for i in range(3)))
    )
    best = brute_force(inst)
    opt = best.objective()
    prices: list = []
    lp = lp_bound(inst, float(best.end.max()), prices_out=prices)
    res = schedule_bound(inst, float(best.end.max()), prices[0], opt, iterations=200)
    assert lp.value < res.value <= opt * (1 + 1e-9)
    assert res.value >= 0.97 * opt


def test_schedule_bound_refuses_frozen_work():
    from mineaction.core.planning.colgen import ScheduleLagrangian
    from mineaction.core.planning.model import FrozenWork, Stage

    pb = _one_team_problem(1.0)
    pb = PlanningProblem(
        pb.packages,
        pb.teams,
        travel_days=pb.travel_days,
        frozen=(FrozenWork("p0", Stage.CLEARANCE, "t", 0.0),),
    )
    with pytest.raises(ValueError, match="frozen"):
        ScheduleLagrangian(compile_problem(pb), 30.0)


def test_lagrangian_with_precedence_reaches_the_lp_from_interior_point_duals():
    """At the (uncrossed) interior-point duals the Lagrangian with chain DP is the LP value."""
    inst = compile_problem(generate_problem(60, seed=4, chain_share=0.6))
    horizon = float(list_schedule(inst, "wspt").end.max())
    lp = lp_bound(inst, horizon, growth=0.25, chain_completion=False)
    warm = lagrangian_bound(inst, horizon, growth=0.25, iterations=1, warm_ipm=True)
    flat = lagrangian_bound(
        inst, horizon, growth=0.25, iterations=1, warm_ipm=True, precedence=False
    )
    assert flat.value <= warm.value <= lp.value * (1 + 1e-6)
    assert warm.value >= 0.995 * lp.value

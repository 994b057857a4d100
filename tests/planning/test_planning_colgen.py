"""Column generation on the schedule master and the no-repeat pricing (colgen.py)."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.planning.helpers import solved_tiny_case

from mineaction.core.planning.bounds import lp_bound
from mineaction.core.planning.colgen import (
    ScheduleLagrangian,
    column_generation_bound,
    schedule_bound,
)
from mineaction.core.planning.exact import brute_force
from mineaction.core.planning.generate import generate_problem
from mineaction.core.planning.instance import compile_problem
from mineaction.core.planning.schedule import list_schedule
from mineaction.core.planning.search import local_search


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_packages=st.integers(2, 4),
    n_teams=st.integers(1, 3),
    ts_share=st.sampled_from([0.0, 0.4, 1.0]),
    horizon_scale=st.sampled_from([0.3, 1.0, 2.0]),
    no_repeat=st.booleans(),
)
def test_column_generation_never_exceeds_the_optimum(
    seed, n_packages, n_teams, ts_share, horizon_scale, no_repeat
):
    """Regional calendars, closures, travel, chains: every pricing's bound stays below OPT."""
    inst, best, horizon, pi0 = solved_tiny_case(seed, n_packages, n_teams, ts_share, horizon_scale)
    opt = best.objective()
    res = column_generation_bound(
        inst,
        horizon,
        seed_plans=[best, list_schedule(inst, "wspt")],
        pi0=pi0,
        target=opt,
        warm_iterations=10,
        iterations=200,
        no_repeat=no_repeat,
    )
    tol = 1e-9 * max(1.0, opt)
    assert res.value <= opt + tol
    assert res.value <= res.master + 1e-6 * max(1.0, abs(res.master))
    assert all(lag <= opt + tol for lag, _ in res.history)


def test_column_generation_solves_the_master_and_beats_the_lp():
    """8 packages: the Lagrangian meets the restricted master (the Dantzig-Wolfe optimum),
    above the pooled LP and the subgradient, below every plan."""
    inst = compile_problem(generate_problem(8, seed=1))
    start = list_schedule(inst, "wspt")
    plan = local_search(start, time_limit=2, max_moves=500)
    horizon = float(max(start.end.max(), plan.end.max()))
    prices: list = []
    lp = lp_bound(inst, horizon, prices_out=prices).value
    sub = schedule_bound(inst, horizon, prices[0], plan.objective(), iterations=20).value
    res = column_generation_bound(
        inst,
        horizon,
        seed_plans=[start, plan],
        pi0=prices[0],
        target=plan.objective(),
        warm_iterations=10,
    )
    assert abs(res.value - res.master) <= 1e-5 * res.master
    assert res.value >= lp
    assert res.value >= sub - 1e-9 * abs(sub)
    assert res.value <= plan.objective()


def test_no_repeat_pricing_paths_match_the_dynamic_programme():
    """The rebuilt best schedules cost exactly what the DP says and never repeat an operation
    immediately; without the rule the bound is never higher."""
    inst = compile_problem(generate_problem(30, seed=2))
    horizon = float(list_schedule(inst, "wspt").end.max())
    prices: list = []
    lp_bound(inst, horizon, prices_out=prices)
    rng = np.random.default_rng(0)
    lag = ScheduleLagrangian(inst, horizon)
    loose = ScheduleLagrangian(inst, horizon, no_repeat=False)
    for _ in range(3):
        pi = prices[0] * rng.uniform(0.5, 3.0, inst.n_ops)
        alpha = lag.project(rng.uniform(0, 1, inst.n_ops) * inst.op_weight.max())
        omega = lag.completion_weights(alpha)
        value, paths = lag.evaluate(pi, alpha, want_paths=True)
        first: dict[tuple[int, int], float] = {}
        for k, h, occ in paths:
            rc = sum(omega[o] * e + alpha[o] * d - pi[o] for o, e, d in occ)
            first.setdefault((k, h), rc)
            grid = [o for o, e, _ in occ if e < lag.H]
            assert all(a != b for a, b in zip(grid, grid[1:], strict=False))
        calc = float(pi.sum())
        for tg in lag.types:
            for h, c in zip(tg.homes.tolist(), tg.home_teams.tolist(), strict=True):
                calc += c * min(0.0, first.get((tg.k, h), 0.0))
        assert abs(value - calc) <= 1e-9 * abs(value)
        assert loose.evaluate(pi, alpha)[0] <= value + 1e-9 * abs(value)


def test_pricing_never_reads_a_state_before_it_is_computed():
    """An operation of exactly one team-day started on day t frees the team on day t + 1
    (not day t, whose DP row is not computed yet when day t is priced)."""
    from mineaction.core.planning.model import (
        DEFAULT_RATES_M2_PER_DAY,
        AssetClass,
        PlanningProblem,
        Team,
        WorkPackage,
    )

    rate = DEFAULT_RATES_M2_PER_DAY[AssetClass.MANUAL]["open"]
    pk = tuple(WorkPackage(f"p{j}", "h", "R", rate, "open", 1.0 + j) for j in range(3))
    inst = compile_problem(PlanningProblem(pk, (Team("t", AssetClass.MANUAL, "R"),)))
    lag = ScheduleLagrangian(inst, 10.0)
    tg = lag.types[0]
    assert (tg.nxt > np.arange(lag.H)[:, None]).all()
    opt = brute_force(inst).objective()
    res = schedule_bound(inst, 10.0, np.full(inst.n_ops, 5.0), opt, iterations=30)
    assert res.value <= opt * (1 + 1e-9)

"""Elementary pricing of the schedule master (colgen.py, ``elementary=True``)."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.planning.helpers import solved_tiny_case, tiny_problem

from mineaction.core.planning.bounds import lp_bound
from mineaction.core.planning.colgen import ScheduleLagrangian, column_generation_bound
from mineaction.core.planning.generate import generate_problem
from mineaction.core.planning.instance import compile_problem
from mineaction.core.planning.schedule import list_schedule


def _reference_pricing(lag, tg, pi, omega, alpha, home):
    """Best elementary schedule value by a plain DP over (day, region, set done), every day."""
    H, G = lag.H, lag.G
    ops = tg.ops
    J = len(ops)
    pij, om, al = pi[ops], omega[ops], alpha[ops]
    tail = np.minimum(0.0, om * tg.tail_end + al * tg.dmin - pij)
    stop = np.array([sum(tail[j] for j in range(J) if not s >> j & 1) for s in range(1 << J)])
    # A[t, g, s]: may start an operation of region g on day >= t; F: free on day t in g
    A = np.empty((H + 1, G, 1 << J))
    F = np.empty((H + 1, G, 1 << J))
    A[H] = stop
    F[H] = stop
    for t in range(H - 1, -1, -1):
        for g in range(G):
            for s in range(1 << J):
                v = A[t + 1, g, s]
                for j in range(J):
                    if tg.region[j] != g or s >> j & 1:
                        continue
                    e = tg.end[t, j]
                    d = max(tg.dmin[j], e - (t + 1))
                    c = om[j] * e + al[j] * d - pij[j] + F[tg.nxt[t, j], g, s | 1 << j]
                    v = min(v, c)
                A[t, g, s] = v
        for g in range(G):
            for s in range(1 << J):
                F[t, g, s] = min(
                    stop[s], min(A[min(t + lag.trf[g, g2], H), g2, s] for g2 in range(G))
                )
    return float(F[0, home, 0])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_packages=st.integers(2, 4),
    n_teams=st.integers(1, 3),
    ts_share=st.sampled_from([0.0, 0.4, 1.0]),
    horizon_scale=st.sampled_from([0.3, 1.0]),
    scale=st.sampled_from([0.5, 2.0, 6.0]),
)
def test_elementary_pricing_is_exact(seed, n_packages, n_teams, ts_share, horizon_scale, scale):
    """The labelling's value equals a plain DP over every (day, region, set done); the schedules
    it returns cost what it says, never repeat an operation; the bound is >= the no-repeat one."""
    inst = compile_problem(tiny_problem(seed, n_packages, n_teams, ts_share=ts_share))
    horizon = max(2.0, horizon_scale * float(list_schedule(inst, "wspt").end.max()))
    lag = ScheduleLagrangian(inst, horizon, elementary=True)
    loose = ScheduleLagrangian(inst, horizon)
    rng = np.random.default_rng(seed)
    pi = rng.uniform(0, scale, inst.n_ops) * inst.op_weight * horizon
    alpha = lag.project(rng.uniform(0, 1, inst.n_ops) * inst.op_weight)
    omega = lag.completion_weights(alpha)
    value, paths = lag.evaluate(pi, alpha, want_paths=True)
    assert value >= loose.evaluate(pi, alpha)[0] - 1e-9 * max(1.0, abs(value))
    calc = float(pi.sum())
    for tg in lag.types:
        tiny = np.minimum(
            0.0, omega[tg.tiny] * tg.tiny_end + alpha[tg.tiny] * tg.tiny_dmin - pi[tg.tiny]
        ).sum()
        prep = lag._elementary_prep(tg, pi, omega, alpha)
        for h, c in zip(tg.homes.tolist(), tg.home_teams.tolist(), strict=True):
            best, cols = lag._elementary(tg, prep, h)
            ref = _reference_pricing(lag, tg, pi, omega, alpha, h)
            assert abs(best - ref) <= 1e-9 * max(1.0, abs(ref))
            for val, occ in cols:
                rc = sum(omega[o] * e + alpha[o] * d - pi[o] for o, e, d in occ)
                assert abs(rc - val) <= 1e-9 * max(1.0, abs(val))
                assert len({o for o, _, _ in occ}) == len(occ)
            calc += c * (best + tiny)
    assert abs(calc - value) <= 1e-9 * max(1.0, abs(value))
    assert all(len({o for o, _, _ in occ}) == len(occ) for _, _, occ in paths)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_packages=st.integers(2, 4),
    n_teams=st.integers(1, 3),
    ts_share=st.sampled_from([0.0, 0.4, 1.0]),
    horizon_scale=st.sampled_from([0.3, 1.0, 2.0]),
)
def test_elementary_column_generation_between_pseudo_dual_and_optimum(
    seed, n_packages, n_teams, ts_share, horizon_scale
):
    """Calendars, closures, travel, chains: the elementary dual never exceeds the brute-force
    optimum, and once both converge it is at least the no-repeat (pseudo-schedule) dual."""
    inst, best, horizon, pi0 = solved_tiny_case(seed, n_packages, n_teams, ts_share, horizon_scale)
    opt = best.objective()
    kw = dict(
        seed_plans=[best, list_schedule(inst, "wspt")],
        pi0=pi0,
        target=opt,
        warm_iterations=10,
        iterations=300,
    )
    pseudo = column_generation_bound(inst, horizon, **kw)
    elem = column_generation_bound(inst, horizon, elementary=True, **kw)
    cold = column_generation_bound(inst, horizon, elementary=True, pseudo_warm=False, **kw)
    tol = 1e-9 * max(1.0, opt)
    for res in (elem, cold):
        assert res.value <= opt + tol
        assert all(lag <= opt + tol for lag, _ in res.history)
        assert res.value <= res.master + 1e-6 * max(1.0, abs(res.master))
    rel = 1e-6 * max(1.0, opt)
    converged = [abs(r.value - r.master) <= rel for r in (pseudo, elem, cold)]
    if converged[0] and converged[1]:
        assert elem.value >= pseudo.value - rel
    if converged[1] and converged[2]:
        assert abs(elem.value - cold.value) <= rel


def test_elementary_dual_on_generated_packages():
    """8 generated packages: the elementary master converges, at or above the no-repeat
    dual and below the plan; its columns never repeat an operation."""
    inst = compile_problem(generate_problem(8, seed=1))
    start = list_schedule(inst, "wspt")
    horizon = float(start.end.max())
    prices: list = []
    lp = lp_bound(inst, horizon, prices_out=prices).value
    kw = dict(seed_plans=[start], pi0=prices[0], target=start.objective(), iterations=2000)
    pseudo = column_generation_bound(inst, horizon, **kw)
    out: list = []
    elem = column_generation_bound(inst, horizon, elementary=True, master_out=out, **kw)
    assert abs(elem.value - elem.master) <= 1e-5 * elem.master
    assert elem.value >= pseudo.value * (1 - 1e-6)
    assert lp < elem.value <= start.objective()
    assert all(len({o for o, _, _ in occ}) == len(occ) for _, _, occ in out[0].cols)

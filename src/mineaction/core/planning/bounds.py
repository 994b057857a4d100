"""Lower bounds on the optimal sum of weight x completion day ("physical limit").

Time-indexed relaxation over buckets [tau_t, tau_{t+1}) (planning.md section 6.2, with its
correction for regional calendars). Variables x[o, k, t] = share of operation o done by team
type k in bucket t. For a real plan:

* every operation is done: sum_{k,t} x = 1;
* calendar team-days: sum_o x p_ok / fmax[g(o), t] <= n_k * len(t), where fmax is the
  largest workable fraction of the operation's region in the bucket;
* region workable days: sum_{o in g} x p_ok <= n_k * W[g, t] (sum of fractions in the bucket);
* any-region workable days: sum_o x p_ok <= n_k * sum_{d in t} max_g f_g(d);
* stage precedence: share of a stage done by the end of bucket t <= share of the previous
  stage done by then (LP only);
* C_o >= M_o + p_ok / (2 f*_g) with M_o the mean busy time (work in bucket t happens after
  max(first workable moment of t, earliest possible release of o)), f*_g the region's largest
  fraction.

Travel, precedence order and non-preemption are relaxed, so the LP optimum never exceeds the
optimum plan. The last bucket is open-ended without capacity, so no horizon is assumed.
The Lagrangian dual of the two capacity families gives a valid bound at every iteration for
sizes where the LP is too large.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mineaction.core.planning.instance import FloatArray, Instance, IntArray


@dataclass(frozen=True)
class Bound:
    """A lower bound value with how it was obtained."""

    value: float
    method: str
    seconds: float
    buckets: int
    columns: int = 0
    status: str = "optimal"


@dataclass
class _Relaxation:
    """Coefficients of the time-indexed relaxation, pair-major (pair = operation x type)."""

    pair_op: IntArray
    pair_type: IntArray
    pair_p: FloatArray
    tau: FloatArray  # bucket starts, last is the open bucket
    length: FloatArray  # bucket lengths (open bucket: inf)
    cost: FloatArray  # (pairs, T+1) objective coefficient
    allowed: npt.NDArray[np.bool_]  # (pairs, T+1)
    inv_fmax: FloatArray  # (pairs, T) 1/fmax or 0
    region_of_pair: IntArray
    n_k: FloatArray
    work_cap: FloatArray  # (types, regions, T) n_k * W[g, t]
    any_cap: FloatArray  # (types, T) n_k * sum over days of the largest fraction of any region
    time_coef: FloatArray  # (pairs, T+1) lower bound on completion if done in bucket t
    pair_dur: FloatArray  # (pairs,) fewest days the operation can take on one team


def bucket_edges(horizon: float, first: float = 7.0, growth: float = 0.04) -> FloatArray:
    """Integer bucket edges from 0 to ``horizon``: ``first``-day buckets growing geometrically.

    >>> bucket_edges(100, first=10, growth=0.5).tolist()
    [0.0, 10.0, 20.0, 30.0, 45.0, 67.0, 101.0]
    """
    edges = [0.0]
    while edges[-1] < horizon:
        step = max(first, round(growth * edges[-1]))
        edges.append(edges[-1] + step)
    return np.asarray(edges, dtype=np.float64)


def release_lower_bounds(inst: Instance) -> FloatArray:
    """Earliest possible start of every operation: its package's release day, then its
    earlier stages on their fastest teams (region calendars only: team availability can
    only delay them)."""
    r = np.array(inst.op_release, dtype=np.float64, copy=True)
    for o in range(inst.n_ops):
        pr = int(inst.op_pred[o])
        if pr >= 0:
            g = int(inst.op_region[pr])
            ps = inst.type_p[pr]
            r[o] = max(
                float(r[o]),
                min(inst.finish(g, float(r[pr]), float(p)) for p in ps[np.isfinite(ps)]),
            )
    return r


def _relaxation(inst: Instance, edges: FloatArray) -> _Relaxation:
    inst.ensure_horizon(float(edges[-1]) + 2)
    n_t = len(edges) - 1
    lo = edges[:-1].astype(np.int64)
    hi = edges[1:].astype(np.int64)
    frac = inst.frac
    cum = inst.cum
    w_gt = cum[:, hi] - cum[:, lo]  # (G, T)
    fmax = np.stack([frac[:, a:b].max(axis=1) for a, b in zip(lo, hi, strict=True)], axis=1)
    # first workable moment of each bucket per region
    first_ok = np.empty_like(w_gt)
    for t, (a, b) in enumerate(zip(lo, hi, strict=True)):
        blk = frac[:, a:b] > 0
        idx = np.where(blk.any(axis=1), blk.argmax(axis=1), b - a)
        first_ok[:, t] = a + idx
    pairs_o, pairs_k = np.nonzero(np.isfinite(inst.type_p))
    pair_p = inst.type_p[pairs_o, pairs_k]
    g = inst.op_region[pairs_o]
    w = inst.op_weight[pairs_o]
    rel = release_lower_bounds(inst)[pairs_o]
    tau = np.concatenate([edges[:-1], edges[-1:]])
    length = np.concatenate([np.diff(edges), [np.inf]])
    start_t = np.concatenate([first_ok[g], np.full((len(g), 1), edges[-1])], axis=1)
    start_t = np.maximum(start_t, rel[:, None])
    tail, dur = calendar_tails(inst, pairs_o, pair_p)
    time_coef = start_t + tail[:, None]
    cost = w[:, None] * time_coef
    allowed = np.concatenate([fmax[g] > 0, np.ones((len(g), 1), dtype=bool)], axis=1)
    inv_fmax = np.where(fmax[g] > 0, 1.0 / np.where(fmax[g] > 0, fmax[g], 1.0), 0.0)
    n_k = np.asarray([len(t) for t in inst.type_teams], dtype=np.float64)
    work_cap = n_k[:, None, None] * w_gt[None, :, :]
    best_day = np.concatenate([[0.0], np.cumsum(frac.max(axis=0))])
    any_cap = n_k[:, None] * (best_day[hi] - best_day[lo])[None, :]
    del n_t
    return _Relaxation(
        pairs_o,
        pairs_k,
        pair_p,
        tau,
        length,
        cost,
        allowed,
        inv_fmax,
        g,
        n_k,
        work_cap,
        any_cap,
        time_coef,
        dur,
    )


def work_window_profile(
    inst: Instance, region: int, need: float, cap_days: int = 3 * 365
) -> tuple[FloatArray, float]:
    """Most workable days in any window of L = 0, 1, ... days in a region, and its top fraction.

    Computed on the region's *recurring* calendar (monthly fractions, weekly rest days, annual
    holidays) over a 28-year cycle, on which closures and dated holidays can only remove
    work, so phi(L) bounds the work any team can do in any L consecutive days, at any date.
    The profile stops once it reaches ``need`` workable days (or ``cap_days``).

    >>> from mineaction.core.planning.model import (AssetClass, Calendar, PlanningProblem,
    ...     Team, WorkPackage)
    >>> from mineaction.core.planning.instance import compile_problem
    >>> pb = PlanningProblem((WorkPackage("p", "h", "r", 800.0, "open"),),
    ...     (Team("t", AssetClass.MANUAL, "r"),), calendars={"r": Calendar(weekly_rest=(6,))})
    >>> phi, top = work_window_profile(compile_problem(pb), 0, 8.0)
    >>> phi.tolist(), top
    ([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 6.0, 7.0, 8.0], 1.0)
    """
    from mineaction.core.planning.model import Calendar

    pb = inst.problem
    cal = pb.calendars.get(inst.regions[region])
    if cal is None:
        n = int(np.ceil(need)) + 1
        return np.arange(n + 1, dtype=np.float64), 1.0
    clean = Calendar(
        monthly_fraction=cal.monthly_fraction,
        weekly_rest=cal.weekly_rest,
        annual_holidays=cal.annual_holidays,
    )
    cycle = 28 * 365 + 7
    fr = clean.fractions(pb.start, cycle + cap_days + 1)
    top = float(fr.max())
    if top <= 0:
        return np.zeros(1), 0.0
    cum = np.concatenate([[0.0], np.cumsum(fr)])
    phi = [0.0]
    length = 0
    while phi[-1] < need and length < cap_days:
        length += 1
        phi.append(float((cum[length : length + cycle] - cum[:cycle]).max()))
    return np.asarray(phi), top


def calendar_tails(
    inst: Instance, pairs_o: IntArray, pair_p: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per (operation, type): lower bounds on C - M (completion minus mean busy time) and on
    the duration C - S of one team doing ``pair_p`` workable days without interruption.

    With phi the window profile of the region (:func:`work_window_profile`), doing r
    workable days takes at least tau(r) = n + (r - phi(n)) / f* days, where phi(n) < r <=
    phi(n + 1) (a window of n + d days holds at most phi(n) + f* d workable days). The
    remaining work after unit u needs tau(p - u) days, so C - M = (1/p) int (C - t(u)) du
    >= (1/p) int_0^p tau(r) dr, computed exactly (tau is piecewise linear). Both are at
    least the p / (2 f*) and p / f* of a constant calendar.
    """
    tail = np.empty(len(pair_p))
    dur = np.empty(len(pair_p))
    g_of = inst.op_region[pairs_o]
    for g in np.unique(g_of).tolist():
        m = g_of == g
        p = pair_p[m]
        phi, top = work_window_profile(inst, int(g), float(p.max(initial=0.0)))
        if top <= 0:
            tail[m] = np.inf
            dur[m] = np.inf
            continue
        inc = np.diff(phi)
        n_idx = np.arange(len(inc), dtype=np.float64)
        seg = n_idx * inc + inc * inc / (2 * top)  # integral of tau over (phi(n), phi(n+1)]
        integ = np.concatenate([[0.0], np.cumsum(seg)])  # integral up to phi(n)
        n = np.searchsorted(phi, p, side="left") - 1  # largest n with phi(n) < p
        n = np.clip(n, 0, len(phi) - 1)
        d = p - phi[n]
        total = integ[n] + n * d + d * d / (2 * top)
        tail[m] = np.where(p > 0, total / np.where(p > 0, p, 1.0), 0.0)
        dur[m] = np.where(p > 0, n + d / top, 0.0)
    return tail, dur


def default_edges(inst: Instance, horizon: float, growth: float = 0.04) -> FloatArray:
    """Bucket edges used by default: weekly, then growing by ``growth`` per bucket."""
    return bucket_edges(max(horizon, 14.0), first=7.0, growth=growth)


def lp_bound(
    inst: Instance,
    horizon: float,
    growth: float = 0.04,
    time_limit: float = 600.0,
    threads: int = 2,
    chain_completion: bool = True,
    prices_out: list[FloatArray] | None = None,
) -> Bound:
    """Time-indexed LP bound solved with HiGHS; ``horizon`` = a plan's makespan is enough.

    Any horizon gives a valid bound (the last bucket is open-ended); a longer one is tighter.
    ``chain_completion`` adds the completion variables of stage chains
    (:func:`_add_chain_completion`), which only tighten the bound.
    """
    t0 = time.perf_counter()
    edges = default_edges(inst, horizon, growth)
    rx = _relaxation(inst, edges)
    n_t = len(edges) - 1
    status, value, duals, n_cols = _solve_lp(
        inst, rx, n_t, None, 1.0, time_limit, threads, chain_completion=chain_completion
    )
    if prices_out is not None and duals is not None:
        prices_out.append(_op_prices(inst, rx, n_t, *duals))
    secs = time.perf_counter() - t0
    if status != "Optimal":
        lag = lagrangian_bound(inst, horizon, growth=growth, iterations=200, warm_sample_ops=1500)
        return Bound(
            lag.value, f"lagrangian (LP {status})", secs + lag.seconds, n_t, n_cols, status
        )
    return Bound(value, "time-indexed LP (HiGHS)", secs, n_t, n_cols)


def _solve_lp(
    inst: Instance,
    rx: _Relaxation,
    n_t: int,
    ops: IntArray | None,
    scale: float,
    time_limit: float,
    threads: int,
    primal_out: list[FloatArray] | None = None,
    chain_completion: bool = True,
    solver: str = "choose",
) -> tuple[str, float, tuple[FloatArray, FloatArray, FloatArray] | None, int]:
    """Build and solve the LP (on a subset of operations with capacities x ``scale``).

    Returns status, objective, the capacity-row multipliers (lambda, mu, nu >= 0) and the
    number of columns.
    """
    import highspy

    if ops is None:
        keep = np.ones(len(rx.pair_op), dtype=bool)
        op_row = np.arange(inst.n_ops)
        n_ops = inst.n_ops
    else:
        op_row = np.full(inst.n_ops, -1, dtype=np.int64)
        op_row[ops] = np.arange(len(ops))
        keep = op_row[rx.pair_op] >= 0
        n_ops = len(ops)
    pair_row = op_row[rx.pair_op[keep]]
    pair_type = rx.pair_type[keep]
    pair_p = rx.pair_p[keep]
    pair_g = rx.region_of_pair[keep]
    inv_fmax = rx.inv_fmax[keep]
    n_pairs = len(pair_row)
    n_types = len(rx.n_k)
    n_regions = len(inst.regions)
    # columns: pair-major, T closed buckets then the open one
    cols_per = n_t + 1
    n_cols = n_pairs * cols_per
    # rows: ops (=1), capacity (k, t), region work (k, g, t), any-region work (k, t)
    row_b0 = n_ops
    row_c0 = n_ops + n_types * n_t
    row_d0 = row_c0 + n_types * n_regions * n_t
    n_rows = row_d0 + n_types * n_t
    t_idx = np.arange(n_t)
    # closed-bucket entries: 4 nnz; open bucket: 1 nnz
    starts = np.zeros(n_cols + 1, dtype=np.int64)
    nnz_per = np.full((n_pairs, cols_per), 4, dtype=np.int64)
    nnz_per[:, -1] = 1
    starts[1:] = np.cumsum(nnz_per.ravel())
    idx = np.empty(int(starts[-1]), dtype=np.int32)
    val = np.empty(int(starts[-1]), dtype=np.float64)
    base = starts[:-1].reshape(n_pairs, cols_per)
    idx[base.ravel()] = np.broadcast_to(pair_row[:, None], (n_pairs, cols_per)).ravel()
    val[base.ravel()] = 1.0
    b_rows = row_b0 + pair_type[:, None] * n_t + t_idx[None, :]
    c_rows = row_c0 + (pair_type[:, None] * n_regions + pair_g[:, None]) * n_t + t_idx[None, :]
    d_rows = row_d0 + pair_type[:, None] * n_t + t_idx[None, :]
    p_bt = np.broadcast_to(pair_p[:, None], (n_pairs, n_t)).ravel()
    for off, rows, vals in (
        (1, b_rows, (pair_p[:, None] * inv_fmax).ravel()),
        (2, c_rows, p_bt),
        (3, d_rows, p_bt),
    ):
        pos = (base[:, :n_t] + off).ravel()
        idx[pos] = rows.ravel()
        val[pos] = vals
    col_upper = np.where(rx.allowed[keep], 1.0, 0.0).ravel()
    row_lower = np.concatenate([np.ones(n_ops), np.full(n_rows - n_ops, -highspy.kHighsInf)])
    cap_b = scale * (rx.n_k[:, None] * rx.length[None, :n_t]).ravel()
    cap_c = scale * rx.work_cap.ravel()
    cap_d = scale * rx.any_cap.ravel()
    row_upper = np.concatenate([np.ones(n_ops), cap_b, cap_c, cap_d])

    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.col_cost_ = rx.cost[keep].ravel()
    lp.col_lower_ = np.zeros(n_cols)
    lp.col_upper_ = col_upper
    lp.row_lower_ = row_lower
    lp.row_upper_ = row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = starts.astype(np.int32)
    lp.a_matrix_.index_ = idx
    lp.a_matrix_.value_ = val
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("solver", solver)
    if solver == "ipm":
        h.setOptionValue("run_crossover", "off")
    h.passModel(lp)
    _add_precedence(h, inst, rx, n_t, n_cols, op_row, keep)
    if chain_completion:
        _add_chain_completion(h, inst, rx, n_t, op_row, keep)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    value = float(h.getInfo().objective_function_value)
    duals = None
    if status == "Optimal" and primal_out is not None:
        primal_out.append(np.asarray(h.getSolution().col_value)[:n_cols].reshape(n_pairs, cols_per))
    if status == "Optimal":
        rd = -np.asarray(h.getSolution().row_dual)
        duals = (
            np.maximum(rd[row_b0:row_c0], 0).reshape(n_types, n_t),
            np.maximum(rd[row_c0:row_d0], 0).reshape(n_types, n_regions, n_t),
            np.maximum(rd[row_d0:n_rows], 0).reshape(n_types, n_t),
        )
    return status, value, duals, n_cols


def _add_precedence(
    h: object,
    inst: Instance,
    rx: _Relaxation,
    n_t: int,
    n_cols: int,
    op_row: IntArray,
    keep: npt.NDArray[np.bool_],
) -> None:
    """Stage precedence: share of an operation done by bucket t <= share of its predecessor.

    Cumulative shares c[q, t] are auxiliary columns: c[q, t] - c[q, t-1] - sum_k x[q, k, t] = 0
    and c[o, t] - c[pred(o), t] <= 0 (valid: a stage starts only after the previous one ends).
    """
    import highspy

    succ = np.flatnonzero(inst.op_pred >= 0)
    succ = succ[(op_row[succ] >= 0) & (op_row[inst.op_pred[succ]] >= 0)]
    if succ.size == 0 or n_t == 0:
        return
    chained = np.unique(np.concatenate([succ, inst.op_pred[succ]]))
    aux = {int(q): n_cols + i * n_t for i, q in enumerate(chained.tolist())}
    n_aux = len(aux) * n_t
    assert isinstance(h, highspy.Highs)
    h.addVars(n_aux, np.zeros(n_aux), np.ones(n_aux))
    kept_ops = rx.pair_op[keep]
    first_pair = np.searchsorted(kept_ops, np.arange(inst.n_ops + 1))
    cols_per = n_t + 1
    starts: list[int] = [0]
    index: list[int] = []
    value: list[float] = []
    lower: list[float] = []
    upper: list[float] = []
    for q, base in aux.items():
        pairs = range(int(first_pair[q]), int(first_pair[q + 1]))
        for t in range(n_t):
            index.append(base + t)
            value.append(1.0)
            if t > 0:
                index.append(base + t - 1)
                value.append(-1.0)
            for pr in pairs:
                index.append(pr * cols_per + t)
                value.append(-1.0)
            starts.append(len(index))
            lower.append(0.0)
            upper.append(0.0)
    for o in succ.tolist():
        a, b = aux[o], aux[int(inst.op_pred[o])]
        for t in range(n_t):
            index.extend((a + t, b + t))
            value.extend((1.0, -1.0))
            starts.append(len(index))
            lower.append(-highspy.kHighsInf)
            upper.append(0.0)
    h.addRows(
        len(lower),
        np.asarray(lower),
        np.asarray(upper),
        len(index),
        np.asarray(starts[:-1], dtype=np.int32),
        np.asarray(index, dtype=np.int32),
        np.asarray(value),
    )


def _add_chain_completion(
    h: object,
    inst: Instance,
    rx: _Relaxation,
    n_t: int,
    op_row: IntArray,
    keep: npt.NDArray[np.bool_],
) -> None:
    """Completion variables C_o for stage chains (non-preemptive successor stages).

    For every operation o of a chain: C_o >= sum_{k,t} x (start_t + p_ok / (2 f*)) (the
    mean-busy-time bound that is otherwise in the objective), and for o with previous stage
    q: C_o >= C_q + sum_{k,t} x p_ok / f* (o starts after q ends and then needs at least
    p_ok / f* days on its single team). The objective charges w_o C_o instead of the
    bucket costs of o. Valid for every plan: with x integral on one type these are
    exactly "completion >= mean busy time + half the duration" and "successor ends at
    least its own duration after its predecessor", and both hold for fractional x as
    convex combinations of the integral cases.
    """
    import highspy

    assert isinstance(h, highspy.Highs)
    kept_ops = rx.pair_op[keep]
    chained = np.flatnonzero((inst.op_pred >= 0) | (inst.op_succ >= 0))
    chained = chained[op_row[chained] >= 0]
    succ = chained[inst.op_pred[chained] >= 0]
    succ = succ[op_row[inst.op_pred[succ]] >= 0]
    if succ.size == 0 or n_t == 0:
        return
    n_base = int(h.getNumCol())
    cvar = {int(q): n_base + i for i, q in enumerate(chained.tolist())}
    w = inst.op_weight[chained]
    h.addVars(len(cvar), np.zeros(len(cvar)), np.full(len(cvar), highspy.kHighsInf))
    h.changeColsCost(
        len(cvar), np.asarray(list(cvar.values()), dtype=np.int32), np.asarray(w, np.float64)
    )
    first_pair = np.searchsorted(kept_ops, np.arange(inst.n_ops + 1))
    cols_per = n_t + 1
    time_coef = rx.time_coef[keep]
    dur = rx.pair_dur[keep]
    # move the objective of weighted chained operations onto C_o
    zero_cols: list[int] = []
    starts: list[int] = [0]
    index: list[int] = []
    value: list[float] = []
    for q in chained.tolist():
        pairs = np.arange(int(first_pair[q]), int(first_pair[q + 1]))
        cols = (pairs[:, None] * cols_per + np.arange(cols_per)[None, :]).ravel()
        if inst.op_weight[q] > 0:
            zero_cols.extend(cols.tolist())
        index.append(cvar[q])
        value.append(1.0)
        index.extend(cols.tolist())
        value.extend((-time_coef[pairs]).ravel().tolist())
        starts.append(len(index))
        pr = int(inst.op_pred[q])
        if pr >= 0 and pr in cvar:
            index.extend((cvar[q], cvar[pr]))
            value.extend((1.0, -1.0))
            index.extend(cols.tolist())
            value.extend(np.repeat(-dur[pairs], cols_per).tolist())
            starts.append(len(index))
    if zero_cols:
        zc = np.asarray(zero_cols, dtype=np.int32)
        h.changeColsCost(len(zc), zc, np.zeros(len(zc)))
    n_rows = len(starts) - 1
    h.addRows(
        n_rows,
        np.zeros(n_rows),
        np.full(n_rows, highspy.kHighsInf),
        len(index),
        np.asarray(starts[:-1], dtype=np.int32),
        np.asarray(index, dtype=np.int32),
        np.asarray(value),
    )


def _op_prices(
    inst: Instance, rx: _Relaxation, n_t: int, lam: FloatArray, mu: FloatArray, nu: FloatArray
) -> FloatArray:
    """Value of each operation in the pooled relaxation at capacity multipliers: the
    cheapest (type, bucket) cost plus the capacity it uses at those prices (used as starting
    multipliers of the schedule bound, :mod:`mineaction.core.planning.colgen`)."""
    k_of = rx.pair_type
    g_of = rx.region_of_pair
    price = lam[k_of] * rx.inv_fmax + mu[k_of, g_of] + nu[k_of]
    red = np.where(rx.allowed, rx.cost, np.inf)
    red[:, :n_t] += rx.pair_p[:, None] * price
    op_min = np.full(inst.n_ops, np.inf)
    np.minimum.at(op_min, rx.pair_op, red.min(axis=1))
    return np.where(np.isfinite(op_min), op_min, 0.0)


def lagrangian_bound(
    inst: Instance,
    horizon: float,
    growth: float = 0.04,
    iterations: int = 150,
    target: float | None = None,
    time_limit: float = 300.0,
    warm_sample_ops: int = 0,
    seed: int = 0,
    prices_out: list[FloatArray] | None = None,
    warm_ipm: bool = False,
    precedence: bool = True,
    clock: Callable[[], float] | None = None,
) -> Bound:
    """Lagrangian dual of the time-indexed relaxation (subgradient); valid at every iteration.

    With ``warm_sample_ops`` > 0 the multipliers start from the capacity-row duals of the LP
    solved on a random sample of packages (capacities scaled by the sample's share of the
    work), which converges far faster than starting from zero; ``warm_ipm`` starts from the
    whole LP solved by interior point without crossover instead. Any multipliers give a
    valid bound, so the warm start only affects tightness. ``clock`` measures
    ``time_limit`` (default wall time; pass ``time.process_time`` on a shared machine).

    ``precedence`` keeps the LP's stage-precedence rows in the subproblem: each stage chain
    picks one (type, bucket) per stage with non-decreasing buckets (a dynamic programme of
    prefix minima). The chain rows' polytope (cumulative shares of a stage <= those of its
    previous stage) is a system of difference constraints, hence integral, so this is the
    exact Lagrangian of the LP's capacity rows and reaches the LP value (without the
    chain-completion rows) at the LP's capacity duals.
    """
    tick = clock if clock is not None else time.perf_counter
    t0 = tick()
    edges = default_edges(inst, horizon, growth)
    rx = _relaxation(inst, edges)
    n_t = len(edges) - 1
    n_types = len(rx.n_k)
    n_regions = len(inst.regions)
    cap_b = rx.n_k[:, None] * rx.length[None, :n_t]  # (K, T)
    cap_c = rx.work_cap  # (K, G, T)
    lam = np.zeros((n_types, n_t))
    mu = np.zeros((n_types, n_regions, n_t))
    nu = np.zeros((n_types, n_t))
    dynamic_target = False
    if warm_ipm:
        # the whole LP by interior point without crossover: its value is not certified,
        # but its capacity duals are multipliers like any others, and the Lagrangian
        # value at them is a valid bound (close to the LP's when the IPM converged)
        status, _, duals, _ = _solve_lp(
            inst, rx, n_t, None, 1.0, time_limit, 2, chain_completion=False, solver="ipm"
        )
        if duals is not None:
            lam, mu, nu = duals
            dynamic_target = True
    elif warm_sample_ops > 0:
        rng = np.random.default_rng(seed)
        n_pk = len(inst.pkg_last_op)
        share = min(1.0, warm_sample_ops / max(1, inst.n_ops))
        pk = np.flatnonzero(rng.uniform(size=n_pk) < share)
        ops = np.flatnonzero(np.isin(inst.op_pkg, pk))
        best_p = np.where(np.isfinite(inst.type_p), inst.type_p, np.inf).min(axis=1)
        scale = float(best_p[ops].sum() / best_p.sum())
        status, _, duals, _ = _solve_lp(inst, rx, n_t, ops, scale, time_limit / 2, 2)
        if duals is not None:
            lam, mu, nu = duals
            dynamic_target = True
    cap_d = rx.any_cap
    cost = np.where(rx.allowed, rx.cost, np.inf)
    n_ops = inst.n_ops
    best = -np.inf
    step_scale = 1.0
    since = 0
    if target is None:
        target = float((np.where(np.isfinite(cost), cost, 0).max(axis=1)).sum())
    k_of = rx.pair_type
    g_of = rx.region_of_pair
    best_prices = np.zeros(n_ops)
    # pairs are sorted by operation; every operation has an eligible type
    first_pair = np.searchsorted(rx.pair_op, np.arange(n_ops))
    depth = np.zeros(n_ops, dtype=np.int64)
    for o in np.flatnonzero(inst.op_pred >= 0).tolist():
        depth[o] = depth[int(inst.op_pred[o])] + 1
    levels = [np.flatnonzero(depth == d) for d in range(int(depth.max(initial=0)) + 1)]
    ends = np.flatnonzero(inst.op_succ < 0)
    cols_t = np.arange(n_t + 1)
    for _ in range(max(1, iterations)):
        price = lam[k_of] * rx.inv_fmax + mu[k_of, g_of] + nu[k_of]  # (pairs, T)
        red = cost.copy()
        red[:, :n_t] += rx.pair_p[:, None] * price
        r_op = np.minimum.reduceat(red, first_pair, axis=0)  # (ops, T+1) cheapest type
        op_min = r_op.min(axis=1)
        chain_best = r_op
        if precedence and len(levels) > 1:
            chain_best = r_op.copy()
            for lev in levels[1:]:
                chain_best[lev] = r_op[lev] + np.minimum.accumulate(
                    chain_best[inst.op_pred[lev]], axis=1
                )
        t_choice = np.argmin(chain_best, axis=1)
        value = float(
            chain_best[ends, t_choice[ends]].sum()
            - (lam * cap_b).sum()
            - (mu * cap_c).sum()
            - (nu * cap_d).sum()
        )
        if precedence:
            # earlier stages: cheapest bucket no later than the next stage's
            for lev in reversed(levels[1:]):
                q = inst.op_pred[lev]
                masked = np.where(cols_t[None, :] <= t_choice[lev][:, None], chain_best[q], np.inf)
                t_choice[q] = np.argmin(masked, axis=1)
        if value > best + 1e-9 * abs(best if np.isfinite(best) else 1.0):
            best = value
            since = 0
            if prices_out is not None:
                best_prices = op_min.copy()
        else:
            since += 1
            if since >= 10:
                step_scale /= 2
                since = 0
        if tick() - t0 > time_limit:
            break
        if dynamic_target:
            target = max(best, value) * 1.02
        # subgradient from one chosen (pair, bucket) per operation
        t_best = t_choice[rx.pair_op]
        v_pair = red[np.arange(len(t_best)), t_best]
        v_op = np.minimum.reduceat(v_pair, first_pair)
        is_min = v_pair <= v_op[rx.pair_op] + 1e-12
        chosen = np.zeros(len(v_pair), dtype=bool)
        first = np.unique(rx.pair_op[is_min], return_index=True)[1]
        chosen[np.flatnonzero(is_min)[first]] = True
        sel = chosen & (t_best < n_t)
        use_b = np.zeros((n_types, n_t))
        use_c = np.zeros((n_types, n_regions, n_t))
        ps = rx.pair_p[sel]
        np.add.at(use_b, (k_of[sel], t_best[sel]), ps * rx.inv_fmax[sel, t_best[sel]])
        np.add.at(use_c, (k_of[sel], g_of[sel], t_best[sel]), ps)
        gb = use_b - cap_b
        gc = use_c - cap_c
        gd = use_c.sum(axis=1) - cap_d
        norm = float(
            (gb[(gb > 0) | (lam > 0)] ** 2).sum()
            + (gc[(gc > 0) | (mu > 0)] ** 2).sum()
            + (gd[(gd > 0) | (nu > 0)] ** 2).sum()
        )
        if norm <= 0:
            break
        assert target is not None
        step = step_scale * max(target - value, 1e-6 * abs(target)) / norm
        lam = np.maximum(0.0, lam + step * gb)
        mu = np.maximum(0.0, mu + step * gc)
        nu = np.maximum(0.0, nu + step * gd)
    if prices_out is not None:
        prices_out.append(np.where(np.isfinite(best_prices), best_prices, 0.0))
    return Bound(best, "Lagrangian of time-indexed relaxation", tick() - t0, n_t)


def trivial_bound(inst: Instance) -> float:
    """Each package alone on its fastest teams from day 0: weak but always valid."""
    rel = release_lower_bounds(inst)
    total = 0.0
    for j, o in enumerate(inst.pkg_last_op.tolist()):
        del j
        ps = inst.type_p[o]
        g = int(inst.op_region[o])
        total += float(inst.op_weight[o]) * min(
            inst.finish(g, float(rel[o]), float(p)) for p in ps[np.isfinite(ps)]
        )
    return total


def eei_bound(weights: FloatArray, p: FloatArray, m: int) -> float:
    """Eastman-Even-Isaacs bound for m identical teams, no calendar (planning.md 2.1).

    LB = (1/m) x (WSPT value on one team) + ((m-1)/(2m)) x sum w_j p_j.

    >>> eei_bound(np.array([1.0, 1.0]), np.array([1.0, 1.0]), 2)
    2.0
    """
    order = np.lexsort((np.arange(len(p)), -weights / p))
    single = float((weights[order] * np.cumsum(p[order])).sum())
    return single / m + (m - 1) / (2 * m) * float((weights * p).sum())

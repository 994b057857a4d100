"""CP-SAT model (OR-Tools) used as a baseline and for small neighbourhoods.

Teams of one type are pooled into a ``Cumulative`` resource with capacity = number of teams
(exact for identical teams, planning.md section 2.2). Calendars enter as durations in
calendar days at the region's mean workable fraction, and travel is ignored; the CP-SAT
solution (type and order) is then decoded into team queues and timed *exactly* by
:func:`mineaction.core.planning.schedule.timeline`, so the reported plan is always feasible.
"""

from __future__ import annotations

import math

import numpy as np

from mineaction.core.planning.instance import Instance
from mineaction.core.planning.schedule import Plan, make_plan


def cpsat_plan(
    inst: Instance,
    time_limit: float = 60.0,
    hint: Plan | None = None,
    workers: int = 2,
    seed: int = 0,
) -> Plan:
    """Solve the pooled CP-SAT model within ``time_limit`` and decode it into a plan."""
    from ortools.sat.python import cp_model

    n = inst.n_ops
    horizon_days = float(hint.end.max()) * 1.5 if hint is not None else 0.0
    mean_frac = np.maximum(inst.frac[:, : max(365, int(horizon_days) + 1)].mean(axis=1), 0.05)
    dur = np.ceil(inst.type_p / mean_frac[inst.op_region][:, None])
    finite = np.isfinite(inst.type_p)
    if hint is None:
        horizon = int(np.where(finite, dur, 0).max(axis=1).sum()) + 1
    else:
        horizon = int(math.ceil(horizon_days)) + int(np.where(finite, dur, 0).max()) + 1
    m = cp_model.CpModel()
    starts = [m.new_int_var(0, horizon, f"s{o}") for o in range(n)]
    ends = [m.new_int_var(0, horizon, f"e{o}") for o in range(n)]
    per_type: dict[int, list[cp_model.IntervalVar]] = {}
    lits: dict[tuple[int, int], cp_model.IntVar] = {}
    hint_type: dict[int, int] = {}
    if hint is not None:
        team_of = hint.team_of()
        hint_type = {o: int(inst.team_type[team_of[o]]) for o in range(n)}
    for o in range(n):
        choices = []
        for k in np.flatnonzero(finite[o]).tolist():
            x = m.new_bool_var(f"x{o}_{k}")
            d = max(1, int(dur[o, k]))
            iv = m.new_optional_interval_var(starts[o], d, ends[o], x, f"i{o}_{k}")
            per_type.setdefault(k, []).append(iv)
            lits[(o, k)] = x
            choices.append(x)
            if hint is not None:
                m.add_hint(x, hint_type.get(o) == k)
        m.add_exactly_one(choices)
        pr = int(inst.op_pred[o])
        if pr >= 0:
            m.add(starts[o] >= ends[pr])
        if o in inst.frozen_start:
            m.add(starts[o] == int(round(inst.frozen_start[o])))
            m.add(lits[(o, int(inst.team_type[inst.frozen_team[o]]))] == 1)
        if hint is not None:
            m.add_hint(starts[o], min(horizon, int(round(float(hint.start[o])))))
    for k, ivs in per_type.items():
        m.add_cumulative(ivs, [1] * len(ivs), len(inst.type_teams[k]))
    w = inst.op_weight
    scale = 1000.0 / max(float(w.max(initial=1.0)), 1e-9)
    m.minimize(sum(int(round(w[o] * scale)) * ends[o] for o in range(n) if w[o] > 0))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = int(seed)
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if hint is not None:
            out = make_plan(inst, hint.sequences, method="cp-sat (no solution: hint returned)")
            out.notes.append(f"CP-SAT {solver.status_name(status)}: no solution in the time limit")
            return out
        raise RuntimeError("CP-SAT found no solution in the time limit")
    chosen = {o: k for (o, k), x in lits.items() if solver.boolean_value(x)}
    order = sorted(range(n), key=lambda o: (o not in inst.frozen_team, solver.value(starts[o]), o))
    free = {k: [0] * len(inst.type_teams[k]) for k in per_type}
    sequences: list[list[int]] = [[] for _ in range(inst.n_teams)]
    for o in order:
        k = chosen[o]
        if o in inst.frozen_team:
            i = inst.frozen_team[o]
            slot = int(np.flatnonzero(inst.type_teams[k] == i)[0])
        else:
            slot = int(np.argmin(free[k]))
            i = int(inst.type_teams[k][slot])
        sequences[i].append(o)
        free[k][slot] = max(free[k][slot], solver.value(ends[o]))
    out = make_plan(inst, sequences, method="cp-sat")
    out.notes.append(
        f"CP-SAT {solver.status_name(status)}, objective {solver.objective_value / scale:.6g} "
        f"(approximate durations), bound {solver.best_objective_bound / scale:.6g}"
    )
    return out

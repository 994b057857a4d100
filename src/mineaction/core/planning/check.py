"""Feasibility checker for plans, written independently of the planner's own timing code."""

from __future__ import annotations

import math

import numpy as np

from mineaction.core.planning.instance import FloatArray
from mineaction.core.planning.model import Calendar
from mineaction.core.planning.schedule import Plan


class InfeasiblePlan(AssertionError):
    """A plan breaks a calendar, eligibility, overlap, precedence or frozen-work rule."""


def check_plan(plan: Plan, tol: float = 1e-6) -> list[str]:
    """List every violation in ``plan`` (empty list = feasible).

    Checks: each stage planned exactly once; team may do the stage (stage, rate > 0,
    environmental rules); no overlap and room for travel on each team; the work fits the
    region's workable time (times the team's own availability) exactly; stage precedence;
    frozen work kept in place; no work before a package's release day.
    """
    inst = plan.instance
    pb = inst.problem
    out: list[str] = []
    n = inst.n_ops
    seen = np.zeros(n, dtype=np.int64)
    for seq in plan.sequences:
        for o in seq:
            seen[o] += 1
    for bad in np.flatnonzero(seen != 1).tolist():
        out.append(f"operation {bad} planned {int(seen[bad])} times")
    horizon = int(math.ceil(float(np.nanmax(plan.end, initial=0.0)))) + 2
    cums: dict[tuple[str, Calendar | None], FloatArray] = {}

    def workable(region: str, a: float, b: float, avail: Calendar | None) -> float:
        key = (region, avail)
        if key not in cums:
            cal = pb.calendars.get(region)
            fr = cal.fractions(pb.start, horizon) if cal else np.ones(horizon)
            if avail is not None:  # the team's own availability (leave, rotation, stand-down)
                fr = fr * avail.fractions(pb.start, horizon)
            cums[key] = np.concatenate([[0.0], np.cumsum(fr)])
        c = cums[key]

        def at(t: float) -> float:
            d = int(math.floor(t))
            return float(c[d] + (c[d + 1] - c[d]) * (t - d))

        return at(b) - at(a)

    for i, seq in enumerate(plan.sequences):
        team = pb.teams[i]
        t_free, where = 0.0, team.home_region
        for o in seq:
            pk = pb.packages[int(inst.op_pkg[o])]
            stage = inst.op_stage[o]
            s, e = float(plan.start[o]), float(plan.end[o])
            label = f"team {team.id} / package {pk.id} / {stage}"
            if not (math.isfinite(s) and math.isfinite(e)):
                out.append(f"{label}: no dates")
                continue
            rate = team.rate(pk.terrain)
            if not team.can_do(stage):
                out.append(f"{label}: team cannot do this stage")
            if rate <= 0:
                out.append(f"{label}: rate 0 on terrain {pk.terrain}")
                rate = 1.0
            if not pb.rules.allows(team, pk):
                out.append(f"{label}: environmental rule broken")
            if inst.frozen_team.get(o) == i:
                if abs(s - inst.frozen_start[o]) > tol:
                    out.append(f"{label}: frozen work moved from day {inst.frozen_start[o]}")
            elif s < t_free + pb.travel(where, pk.region) - tol:
                out.append(f"{label}: starts {s:.3f} before team is free and has travelled")
            if s < float(inst.op_release[o]) - tol:
                out.append(f"{label}: starts {s:.3f} before its release day {inst.op_release[o]}")
            if s < -tol or e < s - tol:
                out.append(f"{label}: bad interval [{s}, {e}]")
            need = float(inst.op_area[o]) / rate
            got = workable(pk.region, s, e, team.availability)
            if abs(got - need) > 1e-6 * max(1.0, need) + tol:
                out.append(
                    f"{label}: {got:.4f} workable days in [{s:.3f}, {e:.3f}], needs {need:.4f}"
                )
            t_free, where = e, pk.region
    for o in range(n):
        pr = int(inst.op_pred[o])
        if pr >= 0 and plan.start[o] < plan.end[pr] - tol:
            out.append(f"operation {o} ({inst.op_stage[o]}) starts before its previous stage ends")
        elif pr >= 0 and plan.start[o] < plan.end[pr] + inst.lag(o) - tol:
            out.append(f"operation {o} ({inst.op_stage[o]}) starts before its stage lag is over")
    team_of = plan.team_of()
    for o, i in inst.frozen_team.items():
        if team_of[o] != i:
            out.append(f"frozen operation {o} moved to another team")
    return out


def assert_feasible(plan: Plan) -> None:
    """Raise :class:`InfeasiblePlan` listing the violations if ``plan`` is not feasible."""
    bad = check_plan(plan)
    if bad:
        raise InfeasiblePlan(f"{len(bad)} violations, first: " + "; ".join(bad[:5]))

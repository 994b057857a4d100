"""Exact solutions for tiny instances (tests and certificates): exhaustive enumeration."""

from __future__ import annotations

import itertools

from mineaction.core.planning.instance import Instance
from mineaction.core.planning.model import PlanningInputError
from mineaction.core.planning.schedule import Plan, SequenceDeadlock, make_plan, timeline


def brute_force(inst: Instance, max_ops: int = 8) -> Plan:
    """Optimal plan by enumerating every assignment and every queue order (tiny only).

    Left-justified timing is optimal for fixed queues (completion is monotone in start), so
    enumerating queues proves optimality.
    """
    n = inst.n_ops
    if n > max_ops:
        raise PlanningInputError(f"brute force is for at most {max_ops} operations, got {n}")
    elig = [inst.eligible_teams(o).tolist() for o in range(n)]
    for o, i in inst.frozen_team.items():
        elig[o] = [i]
    m = inst.n_teams
    best: tuple[float, list[list[int]]] | None = None
    w = inst.op_weight
    for assign in itertools.product(*elig):
        groups: list[list[int]] = [[] for _ in range(m)]
        for o, i in enumerate(assign):
            groups[i].append(o)
        perms = []
        for i, g in enumerate(groups):
            frozen = sorted(
                (o for o in g if inst.frozen_team.get(o) == i), key=lambda o: inst.frozen_start[o]
            )
            rest = [o for o in g if o not in frozen]
            perms.append([frozen + list(p) for p in itertools.permutations(rest)])
        for seqs in itertools.product(*perms):
            seq_list = [list(s) for s in seqs]
            try:
                _, end = timeline(inst, seq_list)
            except SequenceDeadlock:
                continue
            value = float(w @ end)
            if best is None or value < best[0] - 1e-12:
                best = (value, seq_list)
    if best is None:
        raise PlanningInputError("no feasible plan: some operation has no eligible team")
    return make_plan(inst, best[1], method="brute force")

"""Plans, their timing (decoder) and calendar-aware list scheduling.

A plan is an ordered queue of operations per team. Timing is *semi-active*: each operation
starts as early as its team (after travel from the previous site) and its predecessor stage
allow, and runs through the region's workable time. Because completion is monotone in the
start time, the best plan for given queues is always this left-justified timing.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from mineaction.core.planning.instance import FloatArray, Instance, IntArray
from mineaction.core.planning.model import PlanningInputError, Stage

Rule = Literal["wspt", "greedy", "static"]


@dataclass(frozen=True)
class Assignment:
    """One stage of one work package on one team, with its days from the plan start."""

    package_id: str
    hazard_id: str
    stage: Stage
    team_id: str
    region: str
    area_m2: float
    start_day: float
    end_day: float
    frozen: bool = False


@dataclass
class Plan:
    """Per-team ordered operations with their start/end days (see :func:`timeline`)."""

    instance: Instance
    sequences: list[list[int]]
    start: FloatArray
    end: FloatArray
    method: str = ""
    notes: list[str] = field(default_factory=list)

    def objective(self) -> float:
        """Sum over work packages of weight x completion day."""
        return float(self.instance.op_weight @ self.end)

    def completion(self) -> FloatArray:
        """Completion day of every work package (end of its last stage)."""
        return self.end[self.instance.pkg_last_op]

    def team_of(self) -> IntArray:
        """Team index of every operation (-1 if unassigned)."""
        out = np.full(self.instance.n_ops, -1, dtype=np.int64)
        for i, seq in enumerate(self.sequences):
            out[seq] = i
        return out

    def weighted_area_released_by(self, horizon_day: float) -> float:
        """Alternative objective: weight-per-m2 x expected m2 released by ``horizon_day``."""
        inst = self.instance
        pk = inst.problem.packages
        dens = np.asarray([p.weight / p.area_m2 for p in pk])[inst.op_pkg]
        done = self.end <= horizon_day
        return float((dens * inst.op_released)[done].sum())

    def assignments(self) -> list[Assignment]:
        """All assignments, team by team in queue order."""
        inst = self.instance
        pb = inst.problem
        out = []
        for i, seq in enumerate(self.sequences):
            for o in seq:
                pk = pb.packages[int(inst.op_pkg[o])]
                out.append(
                    Assignment(
                        pk.id,
                        pk.hazard_id,
                        inst.op_stage[o],
                        pb.teams[i].id,
                        pk.region,
                        float(inst.op_area[o]),
                        float(self.start[o]),
                        float(self.end[o]),
                        inst.frozen_team.get(o) == i,
                    )
                )
        return out

    def environmental_record(self) -> list[str]:
        """Human-readable record of the environmental rules applied to this plan."""
        inst = self.instance
        pk = inst.problem.packages
        rules = inst.problem.rules
        names = ", ".join(sorted(a.value for a in rules.restricted_assets))
        out = [
            f"{pk[j].id}: {names} excluded (protected area / near water)"
            for j in inst.env_restricted
        ]
        out += [f"{pk[j].id}: exemption recorded, {names} allowed" for j in inst.env_exempted]
        return out


class SequenceDeadlock(PlanningInputError):
    """Team queues contradict the stage precedence (a cycle between teams)."""


def timeline(
    inst: Instance, sequences: list[list[int]], release: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """Left-justified start and end day of every operation for the given team queues
    (``release``: earliest start per operation; default the packages' release days)."""
    n = inst.n_ops
    if release is None and inst.op_release.any():
        release = inst.op_release
    start = np.full(n, np.nan)
    end = np.full(n, np.nan)
    pred = inst.op_pred.tolist()
    region = inst.op_region.tolist()
    ttype = inst.team_type.tolist()
    offset = (inst.type_cal[inst.team_type] * len(inst.regions)).tolist()  # calendar rows
    travel = inst.travel.tolist()
    rel = release.tolist() if release is not None else None
    lag = inst.op_lag.tolist() if inst.op_lag.size else [0.0] * n
    done = bytearray(n)
    waiting: dict[int, int] = {}
    pos = [0] * len(sequences)
    ready = deque(range(len(sequences)))
    end_l = [0.0] * n
    while ready:
        i = ready.popleft()
        seq = sequences[i]
        k = pos[i]
        if k > 0:
            prev = seq[k - 1]
            t_free, loc = end_l[prev], region[prev]
        else:
            t_free, loc = 0.0, int(inst.team_home[i])
        while k < len(seq):
            o = seq[k]
            pr = pred[o]
            if pr >= 0 and not done[pr]:
                waiting[pr] = i
                break
            g = region[o]
            if inst.frozen_team.get(o) == i:
                s = inst.frozen_start[o]
            else:
                s = t_free + travel[loc][g]
                if pr >= 0 and end_l[pr] + lag[o] > s:
                    s = end_l[pr] + lag[o]
                if rel is not None and rel[o] > s:
                    s = rel[o]
            e = inst.finish(offset[i] + g, s, float(inst.type_p[o, ttype[i]]))
            start[o] = s
            end[o] = e
            end_l[o] = e
            done[o] = 1
            t_free, loc = e, g
            k += 1
            if o in waiting:
                ready.append(waiting.pop(o))
        pos[i] = k
    if any(pos[i] < len(s) for i, s in enumerate(sequences)):
        raise SequenceDeadlock("team queues order a later stage before its earlier stage")
    return start, end


def make_plan(inst: Instance, sequences: list[list[int]], method: str = "") -> Plan:
    """Build a :class:`Plan` by timing ``sequences`` with :func:`timeline`."""
    start, end = timeline(inst, sequences)
    return Plan(inst, sequences, start, end, method)


def package_order(inst: Instance, rule: Rule) -> IntArray:
    """Package priority order: WSPT on aggregated capacity, weight per m2, or weight."""
    pk = inst.problem.packages
    w = np.asarray([p.weight for p in pk], dtype=np.float64)
    if rule == "static":
        key = w
    elif rule == "greedy":
        key = w / np.asarray([p.area_m2 for p in pk], dtype=np.float64)
    else:
        # processing time on the aggregated capacity of all eligible teams (m2 / sum of rates)
        counts = np.asarray([len(t) for t in inst.type_teams], dtype=np.float64)
        speed = (counts[None, :] / inst.type_p).sum(axis=1)
        proc = np.bincount(inst.op_pkg, weights=1.0 / np.maximum(speed, 1e-12))
        key = w / np.maximum(proc, 1e-12)
    return np.lexsort((np.arange(len(pk)), -key)).astype(np.int64)


def list_schedule(inst: Instance, rule: Rule = "wspt") -> Plan:
    """Calendar-aware list scheduling of whole stage chains in package priority order.

    ``wspt`` and ``greedy`` give each stage to the eligible team that finishes it earliest
    (travel and calendars included); ``static`` gives it to the team that can start earliest
    (the "next free team" of a static ranking).
    """
    m = inst.n_teams
    free = np.zeros(m, dtype=np.float64)
    loc = inst.team_home.copy()
    sequences: list[list[int]] = [[] for _ in range(m)]
    end = np.zeros(inst.n_ops, dtype=np.float64)
    frozen_ops = sorted(inst.frozen_team, key=lambda o: inst.frozen_start[o])
    for o in frozen_ops:
        i = inst.frozen_team[o]
        s = inst.frozen_start[o]
        g = int(inst.op_region[o])
        end[o] = inst.finish(inst.row(g, i), s, inst.p(o, i))
        sequences[i].append(o)
        free[i] = max(free[i], end[o])
        loc[i] = g
    frozen = set(frozen_ops)
    n_regions = len(inst.regions)
    first_op = np.zeros(len(inst.problem.packages), dtype=np.int64)
    chain_len = np.bincount(inst.op_pkg, minlength=len(first_op))
    first_op[:] = inst.pkg_last_op - chain_len + 1
    eligible_types = [np.flatnonzero(np.isfinite(row)) for row in inst.type_p]
    for j in package_order(inst, rule):
        for o in range(int(first_op[j]), int(inst.pkg_last_op[j]) + 1):
            if o in frozen:
                continue
            pr = int(inst.op_pred[o])
            rel = float(end[pr]) + inst.lag(o) if pr >= 0 else float(inst.op_release[o])
            g = int(inst.op_region[o])
            best = (np.inf, np.inf, -1)
            for k in eligible_types[o]:
                teams = inst.type_teams[k]
                st = np.maximum(free[teams] + inst.travel[loc[teams], g], rel)
                row = int(inst.type_cal[k]) * n_regions + g
                if rule == "static":
                    a = int(np.argmin(st))
                    en = inst.finish(row, float(st[a]), float(inst.type_p[o, k]))
                    cand = (float(st[a]), en, int(teams[a]))
                    if cand < best:
                        best = cand
                else:
                    ens = inst.finish_many(row, st, np.full(st.shape, inst.type_p[o, k]))
                    a = int(np.argmin(ens))
                    cand = (float(ens[a]), float(st[a]), int(teams[a]))
                    if cand < best:
                        best = cand
            if best[2] < 0:
                pk = inst.problem.packages[j]
                raise PlanningInputError(
                    f"work package {pk.id!r} ({inst.op_stage[o]}, terrain {pk.terrain!r}): no "
                    "team may work on it (rates 0, stage or environmental rules); add a team or "
                    "record an exemption"
                )
            i = best[2]
            e = best[1] if rule == "static" else best[0]
            sequences[i].append(o)
            end[o] = e
            free[i] = e
            loc[i] = g
    return make_plan(inst, sequences, method=rule)


def _order_groups(type_p: FloatArray) -> tuple[list[int], list[int]]:
    """Group team types whose durations are proportional (same ops, one factor apart).

    Such types rank operations by weight / duration in the same order, so dispatching can
    keep one ready queue per group. Returns each type's group and each group's first type.

    >>> inf = np.inf
    >>> p = np.array([[2.0, 4.0, 3.0, inf], [1.0, 2.0, 1.0, 5.0], [inf, inf, inf, 1.0]])
    >>> _order_groups(p)
    ([0, 0, 1, 2], [0, 2, 3])
    """
    group_of: list[int] = []
    reps: list[int] = []
    shapes: list[tuple[bytes, FloatArray]] = []
    for k in range(type_p.shape[1]):
        col = type_p[:, k]
        mask = np.isfinite(col)
        key = mask.tobytes()
        finite = col[mask]
        unit = finite / finite[0] if finite.size and finite[0] > 0 else finite
        for g, (gkey, gunit) in enumerate(shapes):
            if gkey == key and np.allclose(unit, gunit, rtol=1e-12, atol=0.0):
                group_of.append(g)
                break
        else:
            group_of.append(len(reps))
            reps.append(k)
            shapes.append((key, unit))
    return group_of, reps


def dispatch_schedule(
    inst: Instance,
    candidates: int | None = None,
    priority: FloatArray | None = None,
    advantage: float = 0.0,
) -> Plan:
    """Team-driven, calendar-aware dispatching: whenever a team is free, it takes the ready
    operation with the best weight / (its finish - now), i.e. WSPT with the real calendar
    and travel, so work in regions about to close (season, security) waits for better days.

    Only the ``candidates`` ready operations with the best static weight / processing ratio
    for the team's type are scored at each decision (keeps 10^5 packages fast).
    ``priority`` replaces the per-operation weights used for decisions (default: the package
    weight on every stage); ``advantage`` > 0 scales scores by (fastest type's days / this
    type's days) ** advantage, so teams leave work that another asset class does much faster.
    """
    import bisect
    import heapq

    n = inst.n_ops
    m = inst.n_teams
    if candidates is None:
        candidates = 256 if n <= 20_000 else 64
    n_types = len(inst.type_teams)
    pk_w = np.asarray([p.weight for p in inst.problem.packages], dtype=np.float64)
    w = pk_w[inst.op_pkg]  # earlier stages carry the package weight too (they unlock it)
    if priority is not None:
        w = np.asarray(priority, dtype=np.float64)
    p_best = np.where(np.isfinite(inst.type_p), inst.type_p, np.inf).min(axis=1)
    region = inst.op_region
    ready_at = np.full(n, np.inf)
    done = np.zeros(n, dtype=bool)
    sequences: list[list[int]] = [[] for _ in range(m)]
    free = np.zeros(m, dtype=np.float64)
    loc = inst.team_home.copy()
    # types whose durations are proportional rank ready work alike: one queue per group (a
    # forecast sample gives every team its own rate factor, i.e. its own type)
    group_of, reps = _order_groups(inst.type_p)
    n_groups = len(reps)
    rep_p = inst.type_p[:, reps]
    op_groups = [np.flatnonzero(np.isfinite(row)).tolist() for row in rep_p]
    ratio = w[:, None] / np.where(np.isfinite(rep_p), rep_p, np.inf)
    ready: list[list[tuple[float, int]]] = [[] for _ in range(n_groups)]
    front: list[list[tuple[float, int]]] = [[] for _ in range(n_groups)]
    waiting: list[list[tuple[float, int]]] = [[] for _ in range(n_types)]
    waiting_types: list[set[int]] = [set() for _ in range(n_groups)]  # with a waiting team
    heap: list[tuple[float, int]] = []

    def make_ready(o: int, at: float) -> None:
        ready_at[o] = at
        for g in op_groups[o]:
            heapq.heappush(ready[g], (-float(ratio[o, g]), o))
            if waiting_types[g]:  # one waiting team of each type that may do it wakes up
                for k in sorted(waiting_types[g]):
                    _, j = heapq.heappop(waiting[k])
                    heapq.heappush(heap, (float(free[j]), j))
                    if not waiting[k]:
                        waiting_types[g].discard(k)

    for o in sorted(inst.frozen_team, key=lambda q: inst.frozen_start[q]):
        i = inst.frozen_team[o]
        g0 = int(region[o])
        e = inst.finish(inst.row(g0, i), inst.frozen_start[o], inst.p(o, i))
        sequences[i].append(o)
        done[o] = True
        free[i] = max(free[i], e)
        loc[i] = g0
    for o in range(n):
        pr = int(inst.op_pred[o])
        if done[o]:
            continue
        if pr < 0 and inst.op_release[o] > 0:
            # released later: ready when its day comes (an event), so no team commits to it
            # (and idles) while work that is released already waits
            heapq.heappush(heap, (float(inst.op_release[o]), m + o))
        elif pr < 0:
            make_ready(o, float(inst.op_release[o]))
        elif done[pr]:
            i0 = inst.frozen_team[pr]
            make_ready(
                o,
                inst.finish(inst.row(int(region[pr]), i0), inst.frozen_start[pr], inst.p(pr, i0)),
            )
    remaining = n - int(done.sum())
    n_regions = len(inst.regions)
    flat_cache: list[tuple[int, FloatArray, float]] = []

    def flat_rows() -> tuple[FloatArray, float]:
        """All calendar rows' cumulative days in one sorted array (row r offset by r x big)."""
        if not flat_cache or flat_cache[0][0] != inst.horizon:
            big = float(inst.all_cum.max()) + 1.0
            rows = np.arange(inst.all_cum.shape[0], dtype=np.float64)
            flat = (inst.all_cum + (rows * big)[:, None]).ravel()
            flat_cache[:] = [(inst.horizon, flat, big)]
        return flat_cache[0][1], flat_cache[0][2]

    for i in range(m):
        heapq.heappush(heap, (inst.next_available(i, float(free[i])), i))
    while remaining > 0 and heap:
        t, i = heapq.heappop(heap)
        if i >= m:  # a package's release day
            make_ready(i - m, t)
            continue
        k = int(inst.team_type[i])
        pool = ready[group_of[k]]
        # the ``candidates`` best undone ready operations of this type, best first: kept
        # between decisions (a decision takes one, the others stay; the heap only tops up)
        picked = front[group_of[k]]
        if picked and any(done[o] for _, o in picked):  # taken by a team of another type
            picked[:] = [item for item in picked if not done[item[1]]]
        while pool and (len(picked) < candidates or pool[0] < picked[-1]):
            item = heapq.heappop(pool)
            if not done[item[1]]:
                bisect.insort(picked, item)
                if len(picked) > candidates:
                    heapq.heappush(pool, picked.pop())
        if not picked:
            heapq.heappush(waiting[k], (float(free[i]), i))
            waiting_types[group_of[k]].add(k)
            continue
        cand = np.asarray([o for _, o in picked], dtype=np.int64)
        g = region[cand]
        rw = g + int(inst.type_cal[k]) * n_regions  # calendar rows of this team
        st = np.maximum(free[i] + inst.travel[loc[i], g], ready_at[cand])
        p = inst.type_p[cand, k]
        need = float(st.max()) + float(p.max()) * 8 + 400
        if need >= inst.horizon:
            inst.ensure_horizon(need)
        all_cum, all_frac = inst.all_cum, inst.all_frac
        d = st.astype(np.int64)
        base = all_cum[rw, d] + all_frac[rw, d] * (st - d) + p
        if float(base.max()) > float(all_cum[rw, -1].min()):
            inst.ensure_horizon(inst.horizon * 2)
            heapq.heappush(heap, (t, i))  # the candidates stay in front
            continue
        width = all_cum.shape[1]
        flat, big = flat_rows()
        kk = np.searchsorted(flat, base + rw * big, side="left") - rw * width
        day = np.maximum(kk - 1, 0)
        fr = all_frac[rw, day]
        en = day + (base - all_cum[rw, day]) / np.where(fr > 0, fr, 1.0)
        score = w[cand] / np.maximum(en - t, 1e-9)
        if advantage > 0:
            score = score * (p_best[cand] / np.maximum(p, 1e-12)) ** advantage
        a = int(np.argmax(score))
        del picked[a]
        o = int(cand[a])
        e = inst.finish(int(rw[a]), float(st[a]), float(p[a]))
        sequences[i].append(o)
        done[o] = True
        remaining -= 1
        free[i] = e
        loc[i] = int(g[a])
        sc = int(inst.op_succ[o])
        if sc >= 0 and inst.lag(sc) > 0:  # the next stage waits: ready on its day
            heapq.heappush(heap, (e + inst.lag(sc), m + sc))
        elif sc >= 0:
            make_ready(sc, e)
        heapq.heappush(heap, (inst.next_available(i, e), i))
    if remaining > 0:
        missing = np.flatnonzero(~done)[:1]
        pk = inst.problem.packages[int(inst.op_pkg[missing[0]])]
        raise PlanningInputError(
            f"work package {pk.id!r}: no team may work on it (rates 0, stage or environmental "
            "rules); add a team or record an exemption"
        )
    return make_plan(inst, sequences, method="dispatch")

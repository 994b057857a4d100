"""Local search over team queues: relocate, swap and adjacent interchange moves.

Moves act on the *last* stage of work packages (the operation whose end is the package
completion), so the objective change of a move is exact and evaluated incrementally on the
two queues it touches. Earlier stages keep their timing; a move is refused if it would delay
an earlier stage beyond the start of its next stage, which keeps every plan feasible.
"""

from __future__ import annotations

import random
import time
from bisect import bisect_left
from collections.abc import Callable

import numpy as np

from mineaction.core.planning.instance import Instance
from mineaction.core.planning.model import STAGE_ORDER, PlanningInputError, Stage
from mineaction.core.planning.schedule import Plan, SequenceDeadlock, make_plan, timeline

EPS = 1e-9


class _State:
    """Mutable queues and times for local search (plain lists for speed)."""

    def __init__(
        self, plan: Plan, horizon_day: float | None = None, layer: Stage | None = None
    ) -> None:
        inst = plan.instance
        self.cap = float("inf") if horizon_day is None else float(horizon_day)
        self.inst = inst
        self.seqs = [list(s) for s in plan.sequences]
        self.st = plan.start.tolist()
        self.en = plan.end.tolist()
        if layer is None:
            self.w = inst.op_weight.tolist()
        else:  # proxy: every stage of a package counts with the package weight
            pkw = np.asarray([p.weight for p in inst.problem.packages], dtype=np.float64)
            self.w = pkw[inst.op_pkg].tolist()
        self.reg = inst.op_region.tolist()
        self.ttype = inst.team_type.tolist()
        self.home = inst.team_home.tolist()
        # calendar row offset of every team (its own availability, if any)
        self.offset = (inst.type_cal[inst.team_type] * len(inst.regions)).tolist()
        self.release = inst.op_release.tolist()
        self.travel = inst.travel.tolist()
        self.p = inst.type_p.tolist()
        pred = inst.op_pred.tolist()
        succ = inst.op_succ.tolist()
        self.rel = [self.en[pr] if pr >= 0 else self.release[o] for o, pr in enumerate(pred)]
        self.limit = [self.st[s] if s >= 0 and layer is None else float("inf") for s in succ]
        self.frozen = {o: s for o, s in inst.frozen_start.items()}
        self.team = plan.team_of().tolist()
        self.finish = inst.finish
        self.pred = pred
        self.succ = succ
        self.movable = [o for o in range(inst.n_ops) if succ[o] < 0 and o not in inst.frozen_team]
        self.upstream = [o for o in range(inst.n_ops) if succ[o] >= 0 and o not in inst.frozen_team]
        pkw = np.asarray([p.weight for p in inst.problem.packages], dtype=np.float64)
        self.pw = pkw[inst.op_pkg].tolist()  # package weight on every stage (for positions)
        self.pos = [0] * inst.n_ops
        for seq in self.seqs:
            for k, o in enumerate(seq):
                self.pos[o] = k
        # layered: every team works on one stage, so an NTS or TS move is evaluated exactly
        # through the later stages (see evaluate); an upstream move whose own stage gets
        # later in package-weight terms by more than proxy_slack is not propagated
        self.tlayer, self.layered = _team_layers(inst)
        self.proxy_slack = 0.0
        self.total = self.old_total()

    def old_total(self) -> float:
        """Current objective."""
        return sum(self.old_cost(seq, 0) for seq in self.seqs)

    def try_full(self, new_seqs: list[list[int]]) -> bool:
        """Accept whole new queues (timed from scratch) if the objective improves."""
        try:
            st, en = timeline(self.inst, new_seqs)
        except SequenceDeadlock:
            return False
        cap = self.cap
        value = float(np.sum(self.inst.op_weight * np.minimum(en, cap)))
        if value >= self.total - EPS * max(1.0, abs(self.total)):
            return False
        self.seqs = new_seqs
        self.st = st.tolist()
        self.en = en.tolist()
        self.rel = [self.en[pr] if pr >= 0 else self.release[o] for o, pr in enumerate(self.pred)]
        self.limit = [self.st[q] if q >= 0 else float("inf") for q in self.succ]
        for i, seq in enumerate(new_seqs):
            for k, o in enumerate(seq):
                self.team[o] = i
                self.pos[o] = k
        self.total = value
        return True

    def suffix(
        self, i: int, seq: list[int], k: int, tail: int | None = None
    ) -> tuple[float, list[float], list[float]] | None:
        """Cost and times of ``seq[k:]`` on team ``i`` (None if an earlier stage would slip).

        ``tail``: from this position on, ``seq`` holds the team's current operations in their
        current order; once one of them starts exactly when it does now, every later time
        is unchanged, so the rest is costed from the current times (the returned time lists
        then stop there).
        """
        if k > 0:
            prev = seq[k - 1]
            t, loc = self.en[prev], self.reg[prev]
        else:
            t, loc = 0.0, self.home[i]
        ty = self.ttype[i]
        off = self.offset[i]
        cost = 0.0
        ss: list[float] = []
        ee: list[float] = []
        cum_l, fr_l = self.inst._cum_lists()
        frozen, travel, rel, reg, pp = self.frozen, self.travel, self.rel, self.reg, self.p
        sync = len(seq) if tail is None else max(tail, k)
        old_st, w, cap = self.st, self.w, self.cap
        for j in range(k, len(seq)):
            o = seq[j]
            g = reg[o]
            if o in frozen:
                s = frozen[o]
            else:
                s = t + travel[loc][g]
                if rel[o] > s:
                    s = rel[o]
            if j >= sync and s == old_st[o]:
                en = self.en
                cost += sum(w[q] * (en[q] if en[q] < cap else cap) for q in seq[j:])
                return cost, ss, ee
            p = pp[o][ty]
            # inlined Instance.finish (hot path); falls back when the horizon must grow
            row = off + g
            cum, fr = cum_l[row], fr_l[row]
            d = int(s)
            if p > 0 and d + 1 < len(fr):
                target = cum[d] + fr[d] * (s - d) + p
                if target <= cum[-1]:
                    day = bisect_left(cum, target) - 1
                    e = day + (target - cum[day]) / fr[day]
                else:
                    e = self.finish(row, s, p)
                    cum_l, fr_l = self.inst._cum_lists()
            else:
                e = self.finish(row, s, p)
                cum_l, fr_l = self.inst._cum_lists()
            if e > self.limit[o] + EPS:
                return None
            cost += self.w[o] * (e if e < self.cap else self.cap)
            ss.append(s)
            ee.append(e)
            t, loc = e, g
        return cost, ss, ee

    def old_cost(self, seq: list[int], k: int) -> float:
        """Current cost of ``seq[k:]``."""
        w, en, cap = self.w, self.en, self.cap
        return sum(w[o] * (en[o] if en[o] < cap else cap) for o in seq[k:])

    def commit(self, i: int, seq: list[int], k: int, ss: list[float], ee: list[float]) -> None:
        """Store a new queue and the times of its changed suffix."""
        self.seqs[i] = seq
        for o, s, e in zip(seq[k:], ss, ee, strict=False):
            self.st[o] = s
            self.en[o] = e
            self.team[o] = i

    def try_pair(
        self,
        a: int,
        seq_a: list[int],
        ka: int,
        b: int,
        seq_b: list[int],
        kb: int,
        tail_a: int | None = None,
        tail_b: int | None = None,
    ) -> bool:
        """Apply new queues for teams ``a`` and ``b`` if the objective improves."""
        if self.layered:
            return self.try_mods(
                {
                    a: (seq_a, ka, len(seq_a) if tail_a is None else tail_a),
                    b: (seq_b, kb, len(seq_b) if tail_b is None else tail_b),
                }
            )
        ra = self.suffix(a, seq_a, ka, tail_a)
        if ra is None:
            return False
        rb = self.suffix(b, seq_b, kb, tail_b)
        if rb is None:
            return False
        old = self.old_cost(self.seqs[a], ka) + self.old_cost(self.seqs[b], kb)
        if ra[0] + rb[0] < old - EPS * max(1.0, abs(old)):
            self.commit(a, seq_a, ka, ra[1], ra[2])
            self.commit(b, seq_b, kb, rb[1], rb[2])
            self.total += ra[0] + rb[0] - old
            return True
        return False

    def try_single(self, a: int, seq_a: list[int], ka: int, tail: int | None = None) -> bool:
        """Apply a new queue for team ``a`` if the objective improves."""
        if self.layered:
            return self.try_mods({a: (seq_a, ka, len(seq_a) if tail is None else tail)})
        ra = self.suffix(a, seq_a, ka, tail)
        if ra is None:
            return False
        old = self.old_cost(self.seqs[a], ka)
        if ra[0] < old - EPS * max(1.0, abs(old)):
            self.commit(a, seq_a, ka, ra[1], ra[2])
            self.total += ra[0] - old
            return True
        return False

    def ratio(self, o: int, i: int) -> float:
        """WSPT ratio of ``o`` on team ``i`` (package weight / team-days)."""
        return self.pw[o] / max(self.p[o][self.ttype[i]], 1e-12)

    def try_mods(self, mods: dict[int, tuple[list[int], int, int]]) -> bool:
        """Apply new queues ``{team: (queue, first changed position, tail)}`` if better."""
        res = self.evaluate(mods)
        if res is None or res[0] >= -EPS * max(1.0, abs(self.total)):
            return False
        self.apply(mods, res)
        return True

    def evaluate(
        self, mods: dict[int, tuple[list[int], int, int]]
    ) -> tuple[float, dict[int, float], dict[int, float], dict[int, float]] | None:
        """Exact objective change of new queues, propagated downstream (layered plans only).

        ``mods`` maps a team to its new queue, the first position that differs and ``tail``,
        the position from which the queue holds the team's current operations in their
        current order. Every team works on one stage only, so the changes flow NTS queues ->
        TS queues -> clearance queues: a later stage whose previous stage ends at another
        time is re-timed in its team's queue, and each queue is re-timed once, from its first
        changed position until an unchanged operation starts exactly when it did before.
        Returns (change, new starts, new ends, new release times).
        """
        st, en, rel, reg = self.st, self.en, self.rel, self.reg
        succ, w, cap, pos, team = self.succ, self.w, self.cap, self.pos, self.team
        frozen, travel, pp, tlayer = self.frozen, self.travel, self.p, self.tlayer
        new_st: dict[int, float] = {}
        new_en: dict[int, float] = {}
        new_rel: dict[int, float] = {}
        # per layer: team -> [first position to re-time, last position whose release
        # changed, position from which the queue holds current operations in order]
        pending: list[dict[int, list[int]]] = [{} for _ in STAGE_ORDER]
        for i, (_, k, tail) in mods.items():
            pending[tlayer[i]][i] = [k, -1, tail]
        cum_l, fr_l = self.inst._cum_lists()
        delta = 0.0
        pw = self.pw
        first = min(tlayer[i] for i in mods)
        proxy = 0.0
        for li, layer in enumerate(pending):
            if li == first + 1 and proxy > self.proxy_slack:
                return None  # upstream change that delays weighted work: not worth propagating
            proxy = 0.0
            for i, entry in layer.items():
                k, hi, sync = entry
                seq = mods[i][0] if i in mods else self.seqs[i]
                if k > 0:
                    prev = seq[k - 1]
                    t, loc = en[prev], reg[prev]
                else:
                    t, loc = 0.0, self.home[i]
                ty = self.ttype[i]
                off = self.offset[i]
                for j in range(k, len(seq)):
                    o = seq[j]
                    g = reg[o]
                    if o in frozen:
                        s = frozen[o]
                    else:
                        s = t + travel[loc][g]
                        r = new_rel.get(o)
                        if r is None:
                            r = rel[o]
                        if r > s:
                            s = r
                    if j >= sync and j > hi and s == st[o]:
                        break
                    p = pp[o][ty]
                    # inlined Instance.finish (hot path); falls back when the horizon must grow
                    row = off + g
                    cum, fr = cum_l[row], fr_l[row]
                    d = int(s)
                    if p > 0 and d + 1 < len(fr):
                        target = cum[d] + fr[d] * (s - d) + p
                        if target <= cum[-1]:
                            day = bisect_left(cum, target) - 1
                            e = day + (target - cum[day]) / fr[day]
                        else:
                            e = self.finish(row, s, p)
                            cum_l, fr_l = self.inst._cum_lists()
                    else:
                        e = self.finish(row, s, p)
                        cum_l, fr_l = self.inst._cum_lists()
                    eo = en[o]
                    if s != st[o] or e != eo:
                        new_st[o] = s
                        new_en[o] = e
                        if e != eo:
                            proxy += pw[o] * (e - eo)
                            wo = w[o]
                            if wo:
                                delta += wo * ((e if e < cap else cap) - (eo if eo < cap else cap))
                            q = succ[o]
                            if q >= 0:
                                new_rel[q] = e
                                c = team[q]
                                later = pending[tlayer[c]]
                                ent = later.get(c)
                                if ent is None:
                                    later[c] = [pos[q], pos[q], 0]
                                else:
                                    pq = mods[c][0].index(q) if c in mods else pos[q]
                                    if pq < ent[0]:
                                        ent[0] = pq
                                    if pq > ent[1]:
                                        ent[1] = pq
                    t, loc = e, g
        return delta, new_st, new_en, new_rel

    def apply(
        self,
        mods: dict[int, tuple[list[int], int, int]],
        res: tuple[float, dict[int, float], dict[int, float], dict[int, float]],
    ) -> None:
        """Store the queues and times of an evaluated change."""
        delta, new_st, new_en, new_rel = res
        for i, (seq, k, _) in mods.items():
            self.seqs[i] = seq
            for j in range(k, len(seq)):
                o = seq[j]
                self.pos[o] = j
                self.team[o] = i
        st, en, rel = self.st, self.en, self.rel
        for o, v in new_st.items():
            st[o] = v
        for o, v in new_en.items():
            en[o] = v
        for o, v in new_rel.items():
            rel[o] = v
        self.total += delta

    def wspt_position(self, o: int, i: int, seq: list[int]) -> int:
        """First queue position whose operation has a lower WSPT ratio than ``o``."""
        r = self.ratio(o, i)
        n_frozen = 0
        for k, q in enumerate(seq):
            if q in self.frozen:
                n_frozen = k + 1
                continue
            if self.ratio(q, i) < r:
                return max(k, n_frozen)
        return len(seq)


def _team_layers(inst: Instance) -> tuple[list[int], bool]:
    """Stage layer (index in NTS, TS, clearance) of every team, and whether every team may
    work on one stage only (then changes flow layer by layer, see :meth:`_State.evaluate`)."""
    layer_of = {s: k for k, s in enumerate(STAGE_ORDER)}
    op_layer = np.asarray([layer_of[s] for s in inst.op_stage], dtype=np.int64)
    finite = np.isfinite(inst.type_p)
    out = [0] * inst.n_teams
    layered = True
    for k, teams in enumerate(inst.type_teams):
        layers = set(np.unique(op_layer[finite[:, k]]).tolist())
        if len(layers) > 1:
            layered = False
        for i in teams.tolist():
            out[i] = min(layers) if layers else 0
    return out, layered


def adjacent_pass(state: _State, teams: list[int] | None = None) -> int:
    """Swap neighbours in each queue while it improves; returns the number of swaps."""
    swaps = 0
    for i in teams if teams is not None else range(len(state.seqs)):
        improved = True
        rounds = 0
        while improved and rounds < 3:
            improved = False
            rounds += 1
            k = 0
            while k + 1 < len(state.seqs[i]):
                seq = state.seqs[i]
                if seq[k] not in state.frozen and seq[k + 1] not in state.frozen:
                    new = seq[:k] + [seq[k + 1], seq[k]] + seq[k + 2 :]
                    if state.try_single(i, new, k, k + 2):
                        swaps += 1
                        improved = True
                k += 1
    return swaps


def _eligibility(inst: Instance) -> tuple[list[list[int]], list[frozenset[int]]]:
    """Eligible teams of every operation, as sorted lists and sets (shared per pattern)."""
    cache: dict[tuple[int, ...], tuple[list[int], frozenset[int]]] = {}
    lists: list[list[int]] = []
    sets: list[frozenset[int]] = []
    finite = np.isfinite(inst.type_p)
    for o in range(inst.n_ops):
        key = tuple(np.flatnonzero(finite[o]).tolist())
        if key not in cache:
            teams = sorted(t for k in key for t in inst.type_teams[k].tolist())
            cache[key] = (teams, frozenset(teams))
        lists.append(cache[key][0])
        sets.append(cache[key][1])
    return lists, sets


def _moves(
    state: _State,
    elig: tuple[list[list[int]], list[frozenset[int]]],
    rng: random.Random,
    t_end: float,
    max_moves: int | None,
    p_full: float,
    clock: Callable[[], float],
    upstream_moves: float = 0.1,
) -> tuple[int, int]:
    """Random relocate / swap / reinsert moves until time or move budget; returns counts.

    In layered plans ``upstream_moves`` of the tries move an NTS or TS operation (exact
    evaluation through the later stages); the others move a last stage."""
    op_elig, op_elig_set = elig
    movable = state.movable
    upstream = state.upstream
    small = state.inst.n_ops <= 60
    lasts = movable
    if not state.layered:
        upstream_moves = 0.0
    moves = 0
    tries = 0
    if not movable:
        return 0, 0
    while True:
        tries += 1
        if (tries & 63) == 0 and clock() > t_end:
            break
        if max_moves is not None and tries > max_moves:
            break
        if p_full > 0 and rng.random() < p_full:
            pool = upstream if (rng.random() < 0.7 or not small) and upstream else movable
            o = pool[rng.randrange(len(pool))]
            a = state.team[o]
            el = op_elig[o]
            b = el[rng.randrange(len(el))]
            new_seqs = [list(q) for q in state.seqs]
            new_seqs[a].remove(o)
            n_fixed = sum(1 for q in new_seqs[b] if q in state.frozen)
            new_seqs[b].insert(rng.randint(n_fixed, len(new_seqs[b])), o)
            if state.try_full(new_seqs):
                moves += 1
            continue
        if upstream_moves > 0 and upstream and rng.random() < upstream_moves:
            o = upstream[rng.randrange(len(upstream))]
        else:
            o = lasts[rng.randrange(len(lasts))]
        a = state.team[o]
        seq_a = state.seqs[a]
        ia = seq_a.index(o)
        el = op_elig[o]
        b = el[rng.randrange(len(el))]
        u = rng.random()
        if b == a:
            new = seq_a[:ia] + seq_a[ia + 1 :]
            kb = state.wspt_position(o, a, new) if u < 0.5 else rng.randrange(len(new) + 1)
            kb = max(kb, sum(1 for q in new if q in state.frozen))
            new.insert(kb, o)
            if new != seq_a and state.try_single(a, new, min(ia, kb), max(ia, kb) + 1):
                moves += 1
            continue
        seq_b = state.seqs[b]
        if u < 0.6 or not seq_b:
            new_a = seq_a[:ia] + seq_a[ia + 1 :]
            new_b = list(seq_b)
            kb = state.wspt_position(o, b, new_b)
            new_b.insert(kb, o)
            if state.try_pair(a, new_a, ia, b, new_b, kb, ia, kb + 1):
                moves += 1
        else:
            kb = rng.randrange(len(seq_b))
            o2 = seq_b[kb]
            if o2 in state.frozen or a not in op_elig_set[o2]:
                continue
            if not state.layered and (state.w[o2] == 0 or state.succ[o2] >= 0):
                continue
            new_a = list(seq_a)
            new_b = list(seq_b)
            new_a[ia] = o2
            new_b[kb] = o
            if state.try_pair(a, new_a, ia, b, new_b, kb, ia + 1, kb + 1):
                moves += 1
    return moves, tries


def local_search(
    plan: Plan,
    time_limit: float = 10.0,
    max_moves: int | None = None,
    seed: int = 0,
    clock: Callable[[], float] = time.perf_counter,
    horizon_day: float | None = None,
    full_share: float = 0.01,
    upstream_share: float = 0.25,
    proxy_layers: bool | None = None,
    upstream_moves: float = 0.1,
) -> Plan:
    """Improve ``plan`` by relocate/swap/interchange moves; never returns a worse plan.

    The cost is sum of weight x end, or weight x min(end, ``horizon_day``) when given.
    Earlier stages (NTS, TS) are improved first, layer by layer, with every stage of a
    package weighted by the package weight (a proxy); a layer's result is kept only if the
    re-timed whole plan is better. Then last stages are improved with the exact objective.

    Deterministic for a given ``seed`` when ``max_moves`` bounds the work (the time limit
    only stops it early).
    """
    inst: Instance = plan.instance
    if inst.op_lag.size:
        raise PlanningInputError(
            "stage lags (WorkPackage.stage_lags) are timed by dispatching only; the local "
            "search's incremental timing does not know them"
        )
    rng = random.Random(seed)
    t0 = clock()
    elig = _eligibility(inst)
    layers = [
        s
        for s in STAGE_ORDER
        if any(inst.op_stage[o] is s and inst.op_succ[o] >= 0 for o in range(inst.n_ops))
    ]
    current = plan
    notes: list[str] = []
    total_moves = 0
    total_tries = 0
    layered = _team_layers(inst)[1]
    if proxy_layers is None:
        proxy_layers = not layered
    if layers and inst.n_ops > 60 and proxy_layers:
        share = upstream_share / len(layers)
        for layer in layers:
            st = _State(current, horizon_day, layer)
            budget = None if max_moves is None else int(max_moves * share)
            m, t = _moves(st, elig, rng, clock() + time_limit * share, budget, 0.0, clock)
            adjacent_pass(st)
            cand = make_plan(inst, st.seqs, current.method)
            value = _capped(cand, horizon_day)
            kept = value < _capped(current, horizon_day)
            if kept:
                current = cand
            notes.append(f"{layer} layer: {m} moves / {t} tries, kept={kept}")
            total_moves += m
            total_tries += t
    state = _State(current, horizon_day)
    adjacent_pass(state)
    p_full = 0.0 if not state.upstream else (0.5 if inst.n_ops <= 60 else full_share)
    if layered and inst.n_ops > 60:
        p_full = 0.0  # every stage is moved with the exact incremental evaluation
    budget = None
    if max_moves is not None:
        budget = max(0, max_moves - total_tries)
    m, t = _moves(state, elig, rng, t0 + time_limit, budget, p_full, clock, upstream_moves)
    adjacent_pass(state)
    out = make_plan(inst, state.seqs, plan.method + "+ls")
    if _capped(out, horizon_day) > _capped(plan, horizon_day):  # pragma: no cover - safety
        out = Plan(inst, plan.sequences, plan.start, plan.end, plan.method + "+ls")
    out.notes.extend(notes)
    out.notes.append(f"local search: {total_moves + m} improving moves in {total_tries + t} tries")
    return out


def _capped(plan: Plan, horizon_day: float | None) -> float:
    """Objective, capped at ``horizon_day`` when given."""
    end = plan.end if horizon_day is None else np.minimum(plan.end, horizon_day)
    return float(plan.instance.op_weight @ end)

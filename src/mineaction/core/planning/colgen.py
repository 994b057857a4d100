"""Lagrangian lower bound over relaxed single-team schedules (Dantzig-Wolfe pricing).

The set-partitioning master chooses, for every team *subtype* h (team type with home region),
n_h single-team schedules covering every operation once. Relaxing the cover rows with
multipliers pi, and the stage-chain rows with multipliers alpha >= 0, gives for ANY such
multipliers the valid Lagrangian bound

    L(pi, alpha) = sum_o pi_o + sum_h n_h * min(0, min over schedules s of h of rc(s)),

with rc(s) = sum over o in s of (omega_o E_o + alpha_o D_o - pi_o). The bound stays valid
because the pricing is exact over a *relaxed* set of schedules containing the image of
every real team queue:

* time is a day grid: an operation started in day t (real start s in [t, t+1), s >= its
  release lower bound r_o) ends at or after E(t) = finish(region, max(t, r_o), p), the exact
  calendar-aware finish (work stops on closed days, the operation keeps its team; with the
  team type's own availability calendar when teams have one), and
  lasts at least D(t) = max(fewest days for p workable days, E(t) - t - 1);
* the team is then free from day floor(E(t)) and reaches region g' no earlier than
  floor(E(t)) + floor(travel*(g, g')), travel* the shortest-path travel (a real route through
  intermediate sites is never shorter); the first operation needs travel from home;
* operations may repeat (pseudo-schedules; dropping the repeat ban only relaxes);
* operations shorter than one day ("tiny") are taken out of the time line: each has
  E >= finish(region, r_o, p), at most once per schedule;
* operations started on or after the grid end H have E >= max(H, r_o) + p, at most once.

Stage chains: for an operation o with previous stage q the relaxed problem keeps completion
variables C_o >= E_o (multiplier beta_o) and C_o >= C_q + D_o (multiplier alpha_o); choosing
beta_o = w_o - alpha_o + alpha_{succ(o)} >= 0 cancels every C, so omega_o = beta_o. This is
what makes survey stages (TS) that delay clearance count in the bound.

The pricing is a backward dynamic programme over (day, region) per team type; one pass
gives every home region's value. The multipliers start from the pooled time-indexed
relaxation's operation prices and follow projected subgradient steps (Polyak).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mineaction.core.planning.instance import FloatArray, Instance, IntArray

#: one occurrence of an operation in a priced schedule: (operation, E lower bound, D lower bound)
Occurrence = tuple[int, float, float]


@dataclass
class _TypeGrid:
    """Pricing data of one team type: grid operations (sorted by region) and tiny ones."""

    k: int
    ops: IntArray
    region: IntArray
    seg_start: IntArray
    seg_region: IntArray
    nxt: npt.NDArray[np.int32]  # (H, J) next free day (clamped to H)
    end: FloatArray  # (H, J) completion lower bound E(t)
    dmin: FloatArray  # (J,) fewest days on one team
    tail_end: FloatArray  # (J,) E if started on or after H
    tiny: IntArray
    tiny_end: FloatArray
    tiny_dmin: FloatArray
    homes: IntArray
    home_teams: FloatArray

    def starts(self, g: int, t: int) -> tuple[int, int, FloatArray, FloatArray]:
        """Grid operations of region ``g`` (slice a:b) with E and D when started on day ``t``."""
        a = int(np.searchsorted(self.region, g, side="left"))
        b = int(np.searchsorted(self.region, g, side="right"))
        e = self.end[t, a:b]
        return a, b, e, np.maximum(self.dmin[a:b], e - (t + 1))

    def tail_occurrences(self, om: FloatArray, al: FloatArray, pij: FloatArray) -> list[Occurrence]:
        """Operations worth taking on or after the grid end (negative reduced cost), once each."""
        neg = np.flatnonzero(om * self.tail_end + al * self.dmin - pij < 0)
        return list(
            zip(
                self.ops[neg].tolist(),
                self.tail_end[neg].tolist(),
                self.dmin[neg].tolist(),
                strict=True,
            )
        )


@dataclass
class _NoRepeatDP:
    """DP tables without immediate repeats: best and second best (other first operation)."""

    V1: FloatArray  # (H+1, G) best reduced cost from (day, region), team free there
    V2: FloatArray  # best whose first operation differs from F1's
    F1: npt.NDArray[np.int64]  # first operation (local index) of V1, -1 if none
    S1: FloatArray  # (H+1, G) best schedule starting an operation in region g on day >= t
    S2: FloatArray
    SF1: npt.NDArray[np.int64]
    pij: FloatArray
    om: FloatArray
    al: FloatArray
    tail: float


@dataclass
class _ElementaryPrep:
    """Per-pricing tables of the elementary labelling of one team type."""

    cost: FloatArray  # (H, J) reduced cost of starting j on day t, tail option folded in
    nsl: npt.NDArray[np.int64]  # (H + 1, J) next start day with a lower cost (H: none)
    dp: _NoRepeatDP  # no-repeat DP on the folded costs: completion lower bounds
    tail_red: FloatArray  # (J,) reduced cost of j on or after the grid end
    tail_all: float  # sum of the negative tail reduced costs (the empty schedule's value)


@dataclass(frozen=True)
class ScheduleBoundResult:
    """Best Lagrangian bound over the iterations, with iteration figures."""

    value: float
    iterations: int
    seconds: float
    history: tuple[float, ...]
    multipliers: FloatArray
    chain_multipliers: FloatArray | None = None


def elementary_part(occ: Sequence[Occurrence]) -> list[Occurrence]:
    """A relaxed schedule without its repeated occurrences (the first of each is kept).

    Still a relaxed schedule: later operations keep their start days; the team is free
    earlier and the floored shortest-path travel around a dropped operation (of at least one
    day) is never longer than through it.

    >>> elementary_part([(3, 5.0, 4.0), (1, 9.0, 3.0), (3, 14.0, 4.0)])
    [(3, 5.0, 4.0), (1, 9.0, 3.0)]
    """
    seen: set[int] = set()
    out: list[Occurrence] = []
    for occurrence in occ:
        if occurrence[0] not in seen:
            seen.add(occurrence[0])
            out.append(occurrence)
    return out


def travel_closure(travel: FloatArray) -> FloatArray:
    """Shortest-path travel days between regions (Floyd-Warshall over the travel matrix).

    >>> float(travel_closure(np.array([[0.0, 5.0, 1.0], [5.0, 0.0, 1.0], [1.0, 1.0, 0.0]]))[0, 1])
    2.0
    """
    d = np.array(travel, dtype=np.float64, copy=True)
    for m in range(d.shape[0]):
        d = np.minimum(d, d[:, m : m + 1] + d[m : m + 1, :])
    return d


def _tiny_part(
    tg: _TypeGrid, pi: FloatArray, omega: FloatArray, alpha: FloatArray
) -> tuple[float, list[Occurrence]]:
    """Sub-day operations of a type: their summed negative reduced cost and their occurrences."""
    tiny_red = omega[tg.tiny] * tg.tiny_end + alpha[tg.tiny] * tg.tiny_dmin - pi[tg.tiny]
    neg = tiny_red < 0
    occ = list(
        zip(
            tg.tiny[neg].tolist(),
            tg.tiny_end[neg].tolist(),
            tg.tiny_dmin[neg].tolist(),
            strict=True,
        )
    )
    return float(np.minimum(0.0, tiny_red).sum()), occ


class ScheduleLagrangian:
    """Pricing over relaxed single-team schedules and the Lagrangian bound for multipliers."""

    def __init__(
        self,
        inst: Instance,
        horizon: float,
        no_repeat: bool = True,
        elementary: bool = False,
        extra_columns: int = 8,
        max_labels: int = 3_000_000,
    ) -> None:
        """Precompute completion lower bounds for every (type, operation, start day < H).

        ``no_repeat``: the pricing excludes schedules that repeat an operation immediately
        (o, o): no real queue does, and without it most of the master's weight sits on such
        pseudo-schedules (20 packages: 58 %). ``elementary``: exact pricing over schedules
        that take every operation at most once (grid, tail and tiny together; see
        :meth:`_elementary`), for small instances (at most 62 grid operations per team type);
        ``extra_columns``: how many further negative schedules per subtype it returns;
        ``max_labels``: labels one elementary pricing may create before it gives up
        (:class:`RuntimeError`; memory grows about 60 bytes per label).
        """
        self.no_repeat = no_repeat or elementary
        self.elementary = elementary
        self.extra_columns = extra_columns
        self.max_labels = max_labels
        self.labels = 0  # labels created by the exact elementary pricing so far (statistics)
        from mineaction.core.planning.bounds import calendar_tails, release_lower_bounds

        if inst.frozen_team:
            raise ValueError("the schedule bound does not model frozen work in progress")
        self.inst = inst
        self.H = H = max(2, int(math.ceil(horizon)))
        self.G = len(inst.regions)
        self.trf = np.floor(travel_closure(inst.travel) + 1e-9).astype(np.int64)
        rel = release_lower_bounds(inst)
        self.types: list[_TypeGrid] = []
        days = np.arange(H, dtype=np.float64)
        for k, members in enumerate(inst.type_teams):
            pk = inst.type_p[:, k]
            elig = np.flatnonzero(np.isfinite(pk))
            # calendar rows of this type: region x the type's own availability (if any)
            row0 = int(inst.type_cal[k]) * self.G if len(inst.type_cal) else 0
            homes, counts = np.unique(inst.team_home[members], return_counts=True)
            big = elig[pk[elig] >= 1.0]
            tiny = elig[pk[elig] < 1.0]
            big = big[np.lexsort((big, inst.op_region[big]))]
            reg = inst.op_region[big]
            nxt = np.empty((H, len(big)), dtype=np.int32)
            end = np.empty((H, len(big)), dtype=np.float64)
            for g in np.unique(reg).tolist():
                cols = np.flatnonzero(reg == g)
                ops = big[cols]
                start = np.maximum(days[:, None], rel[ops][None, :])
                p = np.broadcast_to(pk[ops], start.shape).ravel().copy()
                e = inst.finish_many(row0 + int(g), start.ravel(), p).reshape(start.shape)
                # a grid operation (p >= 1) started in day t ends at E >= t + 1: the team is
                # free from day t + 1 at the earliest (also when E is exactly t + 1)
                free = np.maximum(np.floor(e - 1e-9), days[:, None] + 1)
                nxt[:, cols] = np.minimum(free, H).astype(np.int32)
                end[:, cols] = e
            _, dmin = calendar_tails(inst, big, pk[big])
            _, tiny_dmin = calendar_tails(inst, tiny, pk[tiny])
            tiny_end = np.array(
                [
                    inst.finish(row0 + int(inst.op_region[o]), float(rel[o]), float(pk[o]))
                    for o in tiny.tolist()
                ],
                dtype=np.float64,
            )
            if len(big):
                seg = np.flatnonzero(np.concatenate([[True], reg[1:] != reg[:-1]]))
            else:
                seg = np.zeros(0, dtype=np.int64)
            self.types.append(
                _TypeGrid(
                    k,
                    big,
                    reg,
                    seg,
                    reg[seg],
                    nxt,
                    end,
                    dmin,
                    np.maximum(rel[big], H) + pk[big],
                    tiny,
                    tiny_end,
                    tiny_dmin,
                    homes,
                    counts.astype(np.float64),
                )
            )
            if elementary and len(big) > 62:
                raise ValueError(
                    f"elementary pricing: {len(big)} operations of team type {k} (at most 62)"
                )

    def completion_weights(self, alpha: FloatArray) -> FloatArray:
        """omega_o = w_o - alpha_o + alpha_succ(o) (must be >= 0, see :meth:`project`)."""
        inst = self.inst
        succ = inst.op_succ
        a_succ = np.where(succ >= 0, alpha[np.maximum(succ, 0)], 0.0)
        return inst.op_weight - alpha + a_succ

    def project(self, alpha: FloatArray) -> FloatArray:
        """Clip chain multipliers so that every completion weight is >= 0 (last stage first)."""
        inst = self.inst
        a = np.where(inst.op_pred >= 0, np.maximum(alpha, 0.0), 0.0)
        for stage_from_end in range(3):
            del stage_from_end
            cap = inst.op_weight + np.where(inst.op_succ >= 0, a[np.maximum(inst.op_succ, 0)], 0)
            a = np.minimum(a, cap)
        return a

    def _dp(
        self, tg: _TypeGrid, pi: FloatArray, omega: FloatArray, alpha: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        """Backward DP: V[t, g] = best reduced cost from day t in region g; S: may start in g'."""
        H, G = self.H, self.G
        pij, om, al = pi[tg.ops], omega[tg.ops], alpha[tg.ops]
        tail_red = om * tg.tail_end + al * tg.dmin - pij
        tail = float(np.minimum(0.0, tail_red).sum())
        V = np.empty((H + 1, G))
        S = np.empty((H + 1, G))
        S[H] = tail
        V[H] = min(0.0, tail)
        cols = np.arange(G)
        has = len(tg.ops) > 0
        ia = np.flatnonzero(al > 0)
        a_sub, d_sub = al[ia], tg.dmin[ia]
        for t in range(H - 1, -1, -1):
            row = S[t]
            row[:] = S[t + 1]
            if has:
                e = tg.end[t]
                vals = om * e - pij + V[tg.nxt[t], tg.region]
                if ia.size:
                    vals[ia] += a_sub * np.maximum(d_sub, e[ia] - (t + 1))
                m = np.minimum.reduceat(vals, tg.seg_start)
                np.minimum(row[tg.seg_region], m, out=m)
                row[tg.seg_region] = m
            idx = np.minimum(t + self.trf, H)
            V[t] = np.minimum(S[idx, cols[None, :]].min(axis=1), 0.0)
        return V, S, pij, om, al

    def evaluate(
        self,
        pi: FloatArray,
        alpha: FloatArray | None = None,
        want_paths: bool = False,
        late_starts: Sequence[int] = (),
        relaxed: bool = False,
        beam: int = 0,
    ) -> tuple[float, list[tuple[int, int, list[Occurrence]]]]:
        """Lagrangian bound at (pi, alpha) and (optionally) every subtype's best schedule.

        ``alpha`` must satisfy :meth:`project` (completion weights >= 0). Paths are
        (type, home, occurrences) for subtypes whose best schedule is not empty; with
        ``late_starts`` (days) also the best schedules of a team that is idle until such a
        day and then in region g (every g it can reach from its home by then): more columns
        per pricing for column generation (not with elementary pricing, which returns
        further negative schedules instead). ``relaxed``: price with the no-repeat DP even
        when elementary (fast; the value is then the no-repeat bound). ``beam`` > 0: the
        elementary labelling keeps only that many labels per state (a heuristic: columns,
        but the value is then no bound).
        """
        if alpha is None:
            alpha = np.zeros(self.inst.n_ops)
        omega = self.completion_weights(alpha)
        if float(omega.min(initial=0.0)) < -1e-12:
            raise ValueError("chain multipliers give a negative completion weight; project them")
        total = float(pi.sum())
        paths: list[tuple[int, int, list[Occurrence]]] = []
        for tg in self.types:
            path: functools.partial[list[Occurrence]]
            if self.elementary and not relaxed:
                total += self._evaluate_elementary(tg, pi, omega, alpha, want_paths, paths, beam)
                continue
            if self.no_repeat:
                dp = self._dp_nr(tg, pi, omega, alpha)
                V = dp.V1
                path = functools.partial(self._path_nr, tg, dp)
            else:
                V, S, pij, om, al = self._dp(tg, pi, omega, alpha)
                path = functools.partial(self._path, tg, V, S, pij, om, al)

            tiny_val, tiny_occ = _tiny_part(tg, pi, omega, alpha)
            best = V[0, tg.homes] + tiny_val
            total += float((tg.home_teams * best).sum())
            if want_paths:
                for h, val in zip(tg.homes.tolist(), best.tolist(), strict=True):
                    if val < 0:
                        occ = path(int(h), 0)
                        paths.append((tg.k, int(h), occ + tiny_occ))
                for day in late_starts:
                    if not 0 < day < self.H:
                        continue
                    for g in range(self.G):
                        homes = [h for h in tg.homes.tolist() if self.trf[h, g] <= day]
                        if not homes or V[day, g] + tiny_val >= 0:
                            continue
                        occ = path(g, day)
                        paths.extend((tg.k, h, occ + tiny_occ) for h in homes)
        return total, paths

    def _dp_nr(
        self, tg: _TypeGrid, pi: FloatArray, omega: FloatArray, alpha: FloatArray
    ) -> _NoRepeatDP:
        """Backward DP over (day, region) excluding schedules with an immediate repeat (o, o).

        Keeps, per state, the best value and the best with another first operation, so that
        the continuation after o is the best one not starting with o.
        """
        H, G = self.H, self.G
        pij, om, al = pi[tg.ops], omega[tg.ops], alpha[tg.ops]
        tail_red = om * tg.tail_end + al * tg.dmin - pij
        tail = float(np.minimum(0.0, tail_red).sum())
        V1 = np.empty((H + 1, G))
        V2 = np.empty((H + 1, G))
        F1 = np.full((H + 1, G), -1, dtype=np.int64)
        S1 = np.empty((H + 1, G))
        S2 = np.empty((H + 1, G))
        SF1 = np.full((H + 1, G), -1, dtype=np.int64)
        S1[H] = S2[H] = tail
        V1[H] = V2[H] = min(0.0, tail)
        cols = np.arange(G)
        J = len(tg.ops)
        idx_j = np.arange(J)
        seg = tg.seg_start
        seg_g = tg.seg_region
        ia = np.flatnonzero(al > 0)
        a_sub, d_sub = al[ia], tg.dmin[ia]
        inf = np.inf
        seg_id = np.repeat(np.arange(len(seg)), np.diff(np.append(seg, J)))
        for t in range(H - 1, -1, -1):
            S1[t] = S1[t + 1]
            S2[t] = S2[t + 1]
            SF1[t] = SF1[t + 1]
            if J:
                e = tg.end[t]
                nx = tg.nxt[t]
                f1 = F1[nx, tg.region]
                cont = np.where(f1 == idx_j, V2[nx, tg.region], V1[nx, tg.region])
                vals = om * e - pij + cont
                if ia.size:
                    vals[ia] += a_sub * np.maximum(d_sub, e[ia] - (t + 1))
                m1 = np.minimum.reduceat(vals, seg)
                o1 = np.minimum.reduceat(np.where(vals == m1[seg_id], idx_j, J), seg)
                v2 = vals.copy()
                v2[o1] = inf
                m2 = np.minimum.reduceat(v2, seg)
                s1n, s2n, sf = S1[t + 1, seg_g], S2[t + 1, seg_g], SF1[t + 1, seg_g]
                take_s = s1n <= m1
                b1 = np.where(take_s, s1n, m1)
                id1 = np.where(take_s, sf, o1)
                # second best with a first operation other than id1
                b2_s = np.minimum(s2n, np.where(o1 != sf, m1, m2))
                b2_o = np.minimum(np.where(sf != o1, s1n, s2n), m2)
                S1[t, seg_g] = b1
                SF1[t, seg_g] = id1
                S2[t, seg_g] = np.where(take_s, b2_s, b2_o)
            idx = np.minimum(t + self.trf, H)
            cand = S1[idx, cols[None, :]]  # (G, G')
            gs = np.argmin(cand, axis=1)
            best = cand[cols, gs]
            neg = best < 0
            at = idx[cols, gs]
            other = cand.copy()
            other[cols, gs] = S2[at, gs]
            second = np.minimum(other.min(axis=1), 0.0)
            V1[t] = np.where(neg, best, 0.0)
            F1[t] = np.where(neg, SF1[at, gs], -1)
            V2[t] = np.where(neg, second, 0.0)
        return _NoRepeatDP(V1, V2, F1, S1, S2, SF1, pij, om, al, tail)

    def _path_nr(self, tg: _TypeGrid, dp: _NoRepeatDP, home: int, day: int = 0) -> list[Occurrence]:
        """Rebuild the best schedule without immediate repeats from (``day``, ``home``)."""
        H = self.H
        t, g, ban = day, home, -1
        out: list[Occurrence] = []

        def sx(tt: int, gg: int, b: int) -> float:
            return float(dp.S2[tt, gg] if dp.SF1[tt, gg] == b and b >= 0 else dp.S1[tt, gg])

        while t < H:
            idx = np.minimum(t + self.trf[g], H)
            vals_g = [sx(int(idx[g2]), g2, ban) for g2 in range(self.G)]
            g2 = int(np.argmin(vals_g))
            if vals_g[g2] >= 0:
                break
            t2 = int(idx[g2])
            while t2 < H and sx(t2, g2, ban) >= sx(t2 + 1, g2, ban):
                t2 += 1
            if t2 >= H:
                break
            a, b, e, d = tg.starts(g2, t2)
            nx = tg.nxt[t2, a:b]
            local = np.arange(a, b)
            cont = np.where(dp.F1[nx, g2] == local, dp.V2[nx, g2], dp.V1[nx, g2])
            vals = dp.om[a:b] * e + dp.al[a:b] * d - dp.pij[a:b] + cont
            if a <= ban < b:
                vals[ban - a] = np.inf
            j = int(np.argmin(vals))
            out.append((int(tg.ops[a + j]), float(e[j]), float(d[j])))
            t, g, ban = int(nx[j]), g2, a + j
        out.extend(tg.tail_occurrences(dp.om, dp.al, dp.pij))
        return out

    def _elementary_prep(
        self, tg: _TypeGrid, pi: FloatArray, omega: FloatArray, alpha: FloatArray
    ) -> _ElementaryPrep:
        """Per-pricing tables of the elementary labelling: costs, start-day records, bound."""
        H = self.H
        pij, om, al = pi[tg.ops], omega[tg.ops], alpha[tg.ops]
        tr = om * tg.tail_end + al * tg.dmin - pij
        trn = np.minimum(tr, 0.0)
        days1 = np.arange(H, dtype=np.float64)[:, None] + 1
        wc = om[None, :] * tg.end + al[None, :] * np.maximum(tg.dmin[None, :], tg.end - days1)
        # next start day with a strictly lower cost (later starts at no lower cost are dominated:
        # the team is free no earlier); E is non-decreasing in t, so only D can make one
        J = len(tg.ops)
        nsl = np.full((H + 1, J), H, dtype=np.int64)
        if J and H > 1:
            tol = 1e-12 * max(1.0, float(np.abs(wc).max()))
            suf = np.minimum.accumulate(wc[::-1], axis=0)[::-1]
            rows, cols = np.nonzero(suf[1:] < wc[:-1] - tol)
            for t, j in zip(rows.tolist(), cols.tolist(), strict=True):
                u = t + 1
                while wc[u, j] >= wc[t, j] - tol:
                    u += 1
                nsl[t, j] = u
        pi_mod = pi.copy()
        pi_mod[tg.ops] += trn
        dp = self._dp_nr(tg, pi_mod, omega, alpha)
        return _ElementaryPrep(wc - pij - trn, nsl, dp, tr, float(trn.sum()))

    def _evaluate_elementary(
        self,
        tg: _TypeGrid,
        pi: FloatArray,
        omega: FloatArray,
        alpha: FloatArray,
        want_paths: bool,
        paths: list[tuple[int, int, list[Occurrence]]],
        beam: int = 0,
    ) -> float:
        """n_h x best elementary reduced cost summed over the type's subtypes (paths appended)."""
        tiny_val, tiny_occ = _tiny_part(tg, pi, omega, alpha)
        prep = self._elementary_prep(tg, pi, omega, alpha)
        total = 0.0
        for h, c in zip(tg.homes.tolist(), tg.home_teams.tolist(), strict=True):
            best, cols = self._elementary(tg, prep, int(h), want_paths, beam)
            total += c * (best + tiny_val)
            for val, occ in cols:
                if val + tiny_val < 0:
                    paths.append((tg.k, int(h), occ + tiny_occ))
        return total

    def _elementary(
        self,
        tg: _TypeGrid,
        prep: _ElementaryPrep,
        home: int,
        want_paths: bool = True,
        beam: int = 0,
    ) -> tuple[float, list[tuple[float, list[Occurrence]]]]:
        """Exact best elementary schedule of a team of ``tg`` at ``home`` (label setting).

        A label is a partial schedule: (day the team is free, region, set of operations done,
        reduced cost so far including the tail of every operation not done). Labels are
        extended by day; an operation may start on any day from the team's arrival, but only
        the days where its cost drops ("records") are tried, a later start at no lower cost
        being dominated. Pruned: labels whose cost plus the no-repeat DP's value from their
        state (a relaxation of every elementary completion, with the operations' tail costs
        folded into the grid costs) cannot beat the best complete schedule found; labels in
        one state with a superset of operations at no lower cost. Returns the optimal value
        and (with ``want_paths``) the best schedule first, then up to ``extra_columns``
        further negative ones. ``beam`` > 0 keeps only the labels with the best bound per
        state (heuristic).
        """
        H, G = self.H, self.G
        cp, nsl, dp, tr = prep.cost, prep.nsl, prep.dp, prep.tail_red
        V1, V2, F1 = dp.V1, dp.V2, dp.F1
        ops = tg.ops
        J = len(ops)
        inc, inc_id = prep.tail_all, 0
        if J == 0:
            occ0 = self._elementary_occ(tg, [], tr) if want_paths else []
            return inc, [(inc, occ0)] if want_paths else []
        eps = 1e-9 * max(1.0, abs(prep.tail_all), float(np.abs(cp).max()))
        one = np.int64(1)
        bits = one << np.arange(J, dtype=np.int64)
        seg_a = np.searchsorted(tg.region, np.arange(G), side="left")
        seg_b = np.searchsorted(tg.region, np.arange(G), side="right")
        # label pool (for rebuilding schedules): parent id, operation (local), start day
        pool_par: list[npt.NDArray[np.int64]] = [np.array([-1])]
        pool_j: list[npt.NDArray[np.int64]] = [np.array([-1])]
        pool_st: list[npt.NDArray[np.int64]] = [np.array([-1])]
        n_pool = 1
        extra: list[tuple[float, int]] = []
        k_extra = self.extra_columns if want_paths else 0
        Chunk = tuple[
            FloatArray, npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]
        ]
        buckets: dict[int, dict[int, list[Chunk]]] = {
            0: {
                home: [
                    (np.array([inc]), np.zeros(1, np.int64), np.zeros(1, np.int64), np.array([-1]))
                ]
            }
        }
        created = 0
        for t in range(H):
            by_g = buckets.pop(t, None)
            if not by_g:
                continue
            for g, chunks in by_g.items():
                cost = np.concatenate([c[0] for c in chunks])
                mask = np.concatenate([c[1] for c in chunks])
                ids = np.concatenate([c[2] for c in chunks])
                last = np.concatenate([c[3] for c in chunks])
                lb = cost + np.where(F1[t, g] == last, V2[t, g], V1[t, g])
                ok = lb < inc - eps
                if not ok.any():
                    continue
                cost, mask, ids, last = cost[ok], mask[ok], ids[ok], last[ok]
                order = np.lexsort((cost, mask))
                cost, mask, ids, last = cost[order], mask[order], ids[order], last[order]
                first = np.concatenate([[True], mask[1:] != mask[:-1]])
                cost, mask, ids, last = cost[first], mask[first], ids[first], last[first]
                if 1 < len(cost) <= 1500:
                    sub = (mask[:, None] & ~mask[None, :]) == 0
                    dom = sub & (cost[:, None] <= cost[None, :])
                    np.fill_diagonal(dom, False)
                    alive = ~dom.any(axis=0)
                    cost, mask, ids, last = cost[alive], mask[alive], ids[alive], last[alive]
                if beam and len(cost) > beam:
                    lb = cost + np.where(F1[t, g] == last, V2[t, g], V1[t, g])
                    top = np.argsort(lb, kind="stable")[:beam]
                    cost, mask, ids, last = cost[top], mask[top], ids[top], last[top]
                for g2 in range(G):
                    t0 = t + int(self.trf[g, g2])
                    a, b = int(seg_a[g2]), int(seg_b[g2])
                    if t0 >= H or a == b:
                        continue
                    jv = np.arange(a, b)
                    sv = np.full(b - a, t0, dtype=np.int64)
                    while len(jv):
                        bit = bits[jv]
                        nx = tg.nxt[sv, jv].astype(np.int64)
                        lbj = np.where(F1[nx, g2] == jv, V2[nx, g2], V1[nx, g2])
                        cn = cost[:, None] + cp[sv, jv][None, :]
                        cn[(mask[:, None] & bit[None, :]) != 0] = np.inf
                        flat = int(np.argmin(cn))
                        mn = float(cn.flat[flat])
                        if mn < inc - eps or (
                            k_extra > 0
                            and mn < -eps
                            and (len(extra) < k_extra or mn < extra[-1][0])
                        ):
                            r0, c0 = divmod(flat, len(jv))
                            pool_par.append(ids[r0 : r0 + 1])
                            pool_j.append(jv[c0 : c0 + 1])
                            pool_st.append(sv[c0 : c0 + 1])
                            if mn < inc - eps:
                                if inc_id > 0 and k_extra:
                                    extra.append((inc, inc_id))
                                inc, inc_id = mn, n_pool
                            else:
                                extra.append((mn, n_pool))
                            extra = sorted(extra)[:k_extra]
                            n_pool += 1
                        li, ci = np.nonzero(cn + lbj[None, :] < inc - eps)
                        if len(li):
                            created += len(li)
                            if not beam and created > self.max_labels:
                                raise RuntimeError(
                                    f"elementary pricing: more than {self.max_labels} labels for "
                                    f"team type {tg.k} from region {home}; the instance is too "
                                    "large for exact elementary pricing (use no_repeat)"
                                )
                            new_ids = np.arange(n_pool, n_pool + len(li))
                            pool_par.append(ids[li])
                            pool_j.append(jv[ci])
                            pool_st.append(sv[ci])
                            n_pool += len(li)
                            nc, nm = cn[li, ci], mask[li] | bit[ci]
                            nd, nj = nx[ci], jv[ci]
                            for day in np.unique(nd).tolist():
                                s = nd == day
                                buckets.setdefault(day, {}).setdefault(g2, []).append(
                                    (nc[s], nm[s], new_ids[s], nj[s])
                                )
                        # later start days of the same operations at a lower cost
                        nr = nsl[sv, jv]
                        more = nr < H
                        jv, sv = jv[more], nr[more]
        if not beam:
            self.labels += created
        if not want_paths:
            return inc, []
        par = np.concatenate(pool_par)
        pj = np.concatenate(pool_j)
        pst = np.concatenate(pool_st)

        def rebuild(lid: int) -> list[Occurrence]:
            steps: list[tuple[int, int]] = []
            while lid > 0:
                steps.append((int(pj[lid]), int(pst[lid])))
                lid = int(par[lid])
            return self._elementary_occ(tg, steps[::-1], tr)

        out = [(inc, rebuild(inc_id))]
        out.extend((v, rebuild(lid)) for v, lid in extra if lid != inc_id)
        return inc, out

    def _elementary_occ(
        self, tg: _TypeGrid, steps: list[tuple[int, int]], tail_red: FloatArray
    ) -> list[Occurrence]:
        """Occurrences of grid steps (local operation, start day) plus the worthwhile tail."""
        out: list[Occurrence] = []
        done = np.zeros(len(tg.ops), dtype=bool)
        for j, st in steps:
            e = float(tg.end[st, j])
            out.append((int(tg.ops[j]), e, max(float(tg.dmin[j]), e - (st + 1))))
            done[j] = True
        tail = np.flatnonzero((tail_red < 0) & ~done)
        out.extend(
            zip(
                tg.ops[tail].tolist(),
                tg.tail_end[tail].tolist(),
                tg.dmin[tail].tolist(),
                strict=True,
            )
        )
        return out

    def queue_column(
        self, team_type: int, ops: Sequence[int], starts: Sequence[float]
    ) -> list[Occurrence]:
        """The relaxed schedule (occurrences) of a real team queue with its start days."""
        tg = self.types[team_type]
        pos = {int(o): j for j, o in enumerate(tg.ops.tolist())}
        tiny = {int(o): j for j, o in enumerate(tg.tiny.tolist())}
        out: list[Occurrence] = []
        for o, st in zip(ops, starts, strict=True):
            o = int(o)
            if o in tiny:
                j = tiny[o]
                out.append((o, float(tg.tiny_end[j]), float(tg.tiny_dmin[j])))
                continue
            j = pos[o]
            t = int(math.floor(st + 1e-9))
            if t >= self.H:
                out.append((o, float(tg.tail_end[j]), float(tg.dmin[j])))
            else:
                e = float(tg.end[t, j])
                out.append((o, e, max(float(tg.dmin[j]), e - (t + 1))))
        return out

    def _path(
        self,
        tg: _TypeGrid,
        V: FloatArray,
        S: FloatArray,
        pij: FloatArray,
        om: FloatArray,
        al: FloatArray,
        home: int,
        day: int = 0,
    ) -> list[Occurrence]:
        """Rebuild the best schedule from (``day``, region ``home``)."""
        H = self.H
        t, g = day, home
        out: list[Occurrence] = []
        cols = np.arange(self.G)
        while t < H:
            idx = np.minimum(t + self.trf[g], H)
            g2 = int(np.argmin(S[idx, cols]))
            t2 = int(idx[g2])
            while t2 < H and S[t2, g2] >= S[t2 + 1, g2]:
                t2 += 1
            if t2 >= H:
                break
            a, b, e, d = tg.starts(g2, t2)
            vals = om[a:b] * e + al[a:b] * d - pij[a:b] + V[tg.nxt[t2, a:b], g2]
            j = int(np.argmin(vals))
            out.append((int(tg.ops[a + j]), float(e[j]), float(d[j])))
            t, g = int(tg.nxt[t2, a + j]), g2
        out.extend(tg.tail_occurrences(om, al, pij))
        return out


def schedule_bound(
    inst: Instance,
    horizon: float,
    pi0: FloatArray,
    target: float,
    iterations: int = 300,
    time_limit: float = 300.0,
    chains: bool = True,
    clock: Callable[[], float] | None = None,
    progress: Callable[[int, float, float], None] | None = None,
    volume: float = 1.0,
    target_factor: float = 0.05,
    on_paths: Callable[[list[tuple[int, int, list[Occurrence]]]], None] | None = None,
    lagrangian: ScheduleLagrangian | None = None,
    no_repeat: bool = True,
    elementary: bool = False,
) -> ScheduleBoundResult:
    """Best schedule-Lagrangian bound found by projected subgradient steps.

    ``pi0``: starting cover multipliers (e.g. the pooled relaxation's operation prices,
    :func:`mineaction.core.planning.bounds.lp_bound` ``prices_out``); ``target``: a plan's
    objective (Polyak step towards min(target, best x (1 + ``target_factor``)));
    ``horizon``: the day grid (a plan's makespan is a good choice; any value gives a valid
    bound). ``chains=False`` keeps only release dates for stage chains. ``volume`` < 1
    averages the priced schedules over iterations (volume algorithm; slower here). Every
    iterate's value is a valid bound; the best is returned. ``on_paths`` receives every
    iteration's priced schedules (columns for :func:`column_generation_bound`).
    """
    tick = clock if clock is not None else time.perf_counter
    t0 = tick()
    lag = (
        lagrangian
        if lagrangian is not None
        else ScheduleLagrangian(inst, horizon, no_repeat, elementary=elementary)
    )
    sub_n = {
        (tg.k, int(h)): float(c)
        for tg in lag.types
        for h, c in zip(tg.homes.tolist(), tg.home_teams.tolist(), strict=True)
    }
    n = inst.n_ops
    pi = np.asarray(pi0, dtype=np.float64).copy()
    alpha = np.zeros(n)
    has_pred = inst.op_pred >= 0
    pred = np.maximum(inst.op_pred, 0)
    best = -np.inf
    best_pi = pi.copy()
    best_alpha = alpha.copy()
    history: list[float] = []
    theta, since, it = 1.0, 0, 0
    for it in range(1, iterations + 1):
        value, paths = lag.evaluate(pi, alpha, want_paths=True)
        if on_paths is not None:
            on_paths(paths)
        history.append(value)
        if value > best:
            best, best_pi, best_alpha, since = value, pi.copy(), alpha.copy(), 0
        else:
            since += 1
            if since >= 10:
                theta, since = theta / 2, 0
        if progress is not None:
            progress(it, best, value)
        if tick() - t0 > time_limit or theta < 1e-4:
            break
        count = np.zeros(n)
        e_sum = np.zeros(n)
        d_sum = np.zeros(n)
        for k, h, occ in paths:
            if not occ:
                continue
            arr = np.asarray(occ, dtype=np.float64)
            o = arr[:, 0].astype(np.int64)
            m = sub_n[(k, h)]
            np.add.at(count, o, m)
            np.add.at(e_sum, o, m * arr[:, 1])
            np.add.at(d_sum, o, m * arr[:, 2])
        if it == 1 or volume >= 1.0:
            count_avg, e_avg, d_avg = count, e_sum, d_sum
        else:
            count_avg = volume * count + (1 - volume) * count_avg
            e_avg = volume * e_sum + (1 - volume) * e_avg
            d_avg = volume * d_sum + (1 - volume) * d_avg
        count, e_sum, d_sum = count_avg, e_avg, d_avg
        g = 1.0 - count
        goal = target if target_factor <= 0 else min(target, best * (1 + target_factor))
        gap = max(goal - value, 1e-6 * abs(goal))
        norm = float(g @ g)
        if norm > 0:
            pi = pi + theta * gap / norm * g
        if chains and has_pred.any():
            # d L / d alpha_o = E_pred + D_o - E_o summed over the schedules (row violation)
            ga = np.where(has_pred, e_sum[pred] + d_sum - e_sum, 0.0)
            na = float(ga @ ga)
            if na > 0:
                alpha = lag.project(alpha + 0.5 * theta * gap / na * ga)
    return ScheduleBoundResult(best, it, float(tick() - t0), tuple(history), best_pi, best_alpha)


@dataclass(frozen=True)
class ColumnGenerationResult:
    """Column generation on the schedule master: best Lagrangian bound and master value."""

    value: float  # best Lagrangian bound (valid)
    master: float  # restricted master LP value (an upper bound on the master optimum)
    iterations: int
    columns: int
    seconds: float
    history: tuple[tuple[float, float], ...]  # (Lagrangian, master) per iteration
    multipliers: FloatArray
    chain_multipliers: FloatArray | None = None


class _Master:
    """Restricted Dantzig-Wolfe master of the schedule relaxation, solved by HiGHS.

    Rows: cover (= 1, dual pi), completion C_o - sum E lambda >= 0 (dual omega), chain
    C_o - C_pred - sum D lambda >= 0 (dual alpha), convexity sum lambda <= n_h (dual <= 0).
    Columns: C_o (free, cost w_o), an artificial cover slack per operation (cost ``big``),
    then one lambda per schedule.
    """

    def __init__(self, lag: ScheduleLagrangian, big: FloatArray) -> None:
        import highspy

        inst = lag.inst
        n = inst.n_ops
        self.n = n
        self.lag = lag
        self.subtypes = [
            (tg.k, int(h), float(c))
            for tg in lag.types
            for h, c in zip(tg.homes.tolist(), tg.home_teams.tolist(), strict=True)
        ]
        self.sub_row = {(k, h): j for j, (k, h, _) in enumerate(self.subtypes)}
        self.chain_ops = np.flatnonzero(inst.op_pred >= 0)
        self.alpha_row = np.full(n, -1, dtype=np.int64)
        self.alpha_row[self.chain_ops] = 2 * n + np.arange(len(self.chain_ops))
        self.conv0 = 2 * n + len(self.chain_ops)
        n_rows = self.conv0 + len(self.subtypes)
        inf = highspy.kHighsInf
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        lower = np.concatenate(
            [np.ones(n), np.zeros(n + len(self.chain_ops)), np.full(len(self.subtypes), -inf)]
        )
        upper = np.concatenate(
            [np.ones(n), np.full(n + len(self.chain_ops), inf), [c for _, _, c in self.subtypes]]
        )
        h.addRows(
            n_rows, lower, upper, 0, np.zeros(1, np.int32), np.zeros(0, np.int32), np.zeros(0)
        )
        # C_o columns: +1 in its completion row and its chain row, -1 in its successor's chain row
        starts, idx, val = [0], [], []
        for o in range(n):
            idx.append(n + o)
            val.append(1.0)
            if self.alpha_row[o] >= 0:
                idx.append(int(self.alpha_row[o]))
                val.append(1.0)
            s = int(inst.op_succ[o])
            if s >= 0:
                idx.append(int(self.alpha_row[s]))
                val.append(-1.0)
            starts.append(len(idx))
        h.addCols(
            n,
            inst.op_weight.astype(np.float64),
            np.full(n, -inf),
            np.full(n, inf),
            len(idx),
            np.asarray(starts[:-1], np.int32),
            np.asarray(idx, np.int32),
            np.asarray(val, np.float64),
        )
        h.addCols(
            n,
            np.asarray(big, np.float64),
            np.zeros(n),
            np.full(n, inf),
            n,
            np.arange(n, dtype=np.int32),
            np.arange(n, dtype=np.int32),
            np.ones(n),
        )
        self.h = h
        self.seen: set[tuple[int, int, tuple[tuple[int, int], ...]]] = set()
        self.columns = 0
        self.cols: list[tuple[int, int, list[Occurrence]]] = []

    def add(self, cols: list[tuple[int, int, list[Occurrence]]]) -> int:
        """Add new columns (duplicates skipped); returns how many were added."""
        starts: list[int] = []
        idx: list[int] = []
        val: list[float] = []
        added = 0
        for k, home, occ in cols:
            key = (k, home, tuple(sorted((o, int(round(e * 1000))) for o, e, _ in occ)))
            if self.lag.elementary:
                occ = elementary_part(occ)
                key = (k, home, tuple(sorted((o, int(round(e * 1000))) for o, e, _ in occ)))
            if not occ or key in self.seen:
                continue
            self.seen.add(key)
            self.cols.append((k, home, occ))
            acc: dict[int, float] = {}
            for o, e, d in occ:
                acc[o] = acc.get(o, 0.0) + 1.0
                acc[self.n + o] = acc.get(self.n + o, 0.0) - e
                if self.alpha_row[o] >= 0:
                    r = int(self.alpha_row[o])
                    acc[r] = acc.get(r, 0.0) - d
            acc[self.conv0 + self.sub_row[(k, home)]] = 1.0
            starts.append(len(idx))
            for r, v in acc.items():
                if v != 0.0:
                    idx.append(r)
                    val.append(v)
            added += 1
        if added:
            self.h.addCols(
                added,
                np.zeros(added),
                np.zeros(added),
                np.full(added, np.inf),
                len(idx),
                np.asarray(starts, np.int32),
                np.asarray(idx, np.int32),
                np.asarray(val, np.float64),
            )
            self.columns += added
        return added

    def add_all(self, cols: list[tuple[int, int, list[Occurrence]]]) -> None:
        """Add new columns (callback form of :meth:`add`)."""
        self.add(cols)

    def solve(self) -> tuple[float, FloatArray, FloatArray, FloatArray]:
        """Master value and duals (pi, alpha, convexity duals <= 0 per subtype)."""
        self.h.run()
        status = self.h.modelStatusToString(self.h.getModelStatus())
        if status != "Optimal":
            raise RuntimeError(f"schedule master: HiGHS status {status}")
        y = np.asarray(self.h.getSolution().row_dual, dtype=np.float64)
        n = self.n
        alpha = np.zeros(n)
        alpha[self.chain_ops] = np.maximum(y[2 * n : self.conv0], 0.0)
        value = float(self.h.getInfo().objective_function_value)
        return value, y[:n].copy(), alpha, np.minimum(y[self.conv0 :], 0.0)

    def reduced_cost(
        self,
        pi: FloatArray,
        alpha: FloatArray,
        mu: FloatArray,
        col: tuple[int, int, list[Occurrence]],
    ) -> float:
        """Reduced cost of a column at master duals."""
        k, home, occ = col
        omega = self.lag.completion_weights(alpha)
        rc = sum(omega[o] * e + alpha[o] * d - pi[o] for o, e, d in occ)
        return float(rc - mu[self.sub_row[(k, home)]])


def column_generation_bound(
    inst: Instance,
    horizon: float,
    seed_plans: Sequence[object] = (),
    pi0: FloatArray | None = None,
    iterations: int = 200,
    time_limit: float = 600.0,
    alpha0: FloatArray | None = None,
    smoothing: float = 0.5,
    late_starts: int = 6,
    clock: Callable[[], float] | None = None,
    progress: Callable[[int, float, float, int], None] | None = None,
    tol: float = 1e-6,
    warm_iterations: int = 50,
    target: float | None = None,
    master_out: list[object] | None = None,
    no_repeat: bool = True,
    elementary: bool = False,
    seed_columns: Sequence[tuple[int, int, list[Occurrence]]] = (),
    pseudo_warm: bool = True,
) -> ColumnGenerationResult:
    """Solve the schedule master by column generation (HiGHS restricted master).

    ``seed_plans``: plans whose team queues seed the master (any feasible plans, e.g. the
    heuristic's and the baselines'); ``pi0``: starting centre of the dual smoothing (e.g.
    the pooled LP's operation prices). Each pricing prices at the Wentges-smoothed point
    ``smoothing`` x centre + (1 - smoothing) x master duals and adds the best schedule of
    every subtype plus late-start schedules (``late_starts`` days spread over the grid).
    Every pricing gives a valid Lagrangian bound; the best is returned. When it meets the
    master value the master is solved to optimality (the Dantzig-Wolfe bound). With ``pi0``
    and ``target`` (a plan's objective) it first runs ``warm_iterations`` subgradient steps
    (:func:`schedule_bound`): their schedules seed the master and their best multipliers
    are the first centre.

    ``elementary``: price exactly over schedules taking each operation at most once
    (:class:`ScheduleLagrangian`; small instances): the Dantzig-Wolfe bound of the master
    without pseudo-schedules, >= the no-repeat bound. With ``pseudo_warm`` the no-repeat
    column generation runs first; its elementary columns seed the elementary master and its
    multipliers are the first centre (elementary pricing far from the optimal duals creates
    many labels). ``seed_columns``: further (type, home, occurrences) columns.
    """
    from mineaction.core.planning.schedule import Plan

    tick = clock if clock is not None else time.perf_counter
    t0 = tick()
    if elementary and pseudo_warm:
        inner: list[object] = []
        pre = column_generation_bound(
            inst,
            horizon,
            seed_plans,
            pi0,
            iterations,
            time_limit,
            alpha0,
            smoothing,
            late_starts,
            tick,
            progress,
            tol,
            warm_iterations,
            target,
            inner,
            no_repeat=True,
            seed_columns=seed_columns,
        )
        assert isinstance(inner[0], _Master)
        post = column_generation_bound(
            inst,
            horizon,
            seed_plans,
            pre.multipliers,
            max(0, iterations - pre.iterations),
            time_limit - (tick() - t0),
            pre.chain_multipliers,
            smoothing,
            late_starts,
            tick,
            progress,
            tol,
            0,
            None,
            master_out,
            elementary=True,
            seed_columns=inner[0].cols,
            pseudo_warm=False,
        )
        return ColumnGenerationResult(
            max(pre.value, post.value),
            post.master,
            pre.iterations + post.iterations,
            post.columns,
            float(tick() - t0),
            pre.history + post.history,
            post.multipliers if post.value >= pre.value else pre.multipliers,
            post.chain_multipliers if post.value >= pre.value else pre.chain_multipliers,
        )
    lag = ScheduleLagrangian(inst, horizon, no_repeat=no_repeat, elementary=elementary)
    n = inst.n_ops
    wpkg = inst.op_weight[inst.pkg_last_op[inst.op_pkg]]
    tail = max(float(np.nanmax(np.where(np.isfinite(inst.type_p), inst.type_p, 0.0))), 1.0)
    big = 2.0 * wpkg * (lag.H + 4 * tail) + 1.0
    master = _Master(lag, big)
    if master_out is not None:
        master_out.append(master)
    for p in seed_plans:
        assert isinstance(p, Plan)
        cols = []
        for i, seq in enumerate(p.sequences):
            if seq:
                k, home = int(inst.team_type[i]), int(inst.team_home[i])
                occ = lag.queue_column(k, seq, [float(p.start[o]) for o in seq])
                cols.append((k, home, occ))
                # prefixes: fewer operations on the same days (also relaxed schedules)
                for cut in (len(occ) // 4, len(occ) // 2, 3 * len(occ) // 4):
                    if cut > 0:
                        cols.append((k, home, occ[:cut]))
        master.add(cols)
    master.add(list(seed_columns))
    days = [int(lag.H * (j + 1) / (late_starts + 1)) for j in range(late_starts)]
    best = -np.inf
    center_pi = None if pi0 is None else np.asarray(pi0, dtype=np.float64).copy()
    center_alpha = np.zeros(n) if alpha0 is None else lag.project(np.asarray(alpha0, float))
    best_pi = np.zeros(n)
    best_alpha = center_alpha.copy()
    if center_pi is not None and target is not None and warm_iterations > 0:
        warm = schedule_bound(
            inst,
            horizon,
            center_pi,
            target,
            iterations=warm_iterations,
            clock=tick,
            on_paths=master.add_all,
            lagrangian=lag,
        )
        best, best_pi, center_pi = warm.value, warm.multipliers.copy(), warm.multipliers.copy()
        if warm.chain_multipliers is not None:
            center_alpha = warm.chain_multipliers.copy()
            best_alpha = center_alpha.copy()
    elif center_pi is not None:
        best_pi = center_pi.copy()
        if not lag.elementary:  # elementary: the first exact pricing waits for better duals
            best, _ = lag.evaluate(center_pi, center_alpha)
    history: list[tuple[float, float]] = []
    it = 0
    value = np.inf
    a = smoothing
    for it in range(1, iterations + 1):
        value, pi, alpha, mu = master.solve()
        if center_pi is None:
            center_pi, center_alpha = pi.copy(), alpha.copy()
        thr = -tol * max(1.0, abs(value))
        if lag.elementary:
            # cheap columns first: the no-repeat pricing's schedules without their repeats;
            # the exact (bound-giving) pricing only when they do not improve the master
            _, heur = lag.evaluate(
                pi, lag.project(alpha), want_paths=True, late_starts=days, relaxed=True
            )
            heur = [(k, h, elementary_part(occ)) for k, h, occ in heur]
            heur = [c for c in heur if master.reduced_cost(pi, alpha, mu, c) < thr]
            if not heur:
                # a beam search over elementary schedules (a heuristic, no bound)
                _, heur = lag.evaluate(pi, lag.project(alpha), want_paths=True, beam=64)
                heur = [c for c in heur if master.reduced_cost(pi, alpha, mu, c) < thr]
            if heur and master.add(heur):
                history.append((best, value))
                if progress is not None:
                    progress(it, best, value, master.columns)
                if tick() - t0 > time_limit:
                    break
                continue
        found = False
        tries = 0
        while True:
            s_pi = a * center_pi + (1 - a) * pi
            s_alpha = lag.project(a * center_alpha + (1 - a) * alpha)
            try:
                bound, cols = lag.evaluate(s_pi, s_alpha, want_paths=True, late_starts=days)
            except RuntimeError:
                # elementary pricing with too many labels: price closer to the centre
                tries += 1
                if tries > 4:
                    raise
                a = (1.0 + a) / 2
                continue
            if bound > best:
                best, best_pi, best_alpha = bound, s_pi.copy(), s_alpha.copy()
                center_pi, center_alpha = s_pi.copy(), s_alpha.copy()
            neg = [c for c in cols if master.reduced_cost(pi, alpha, mu, c) < thr]
            if neg:
                master.add(neg)
                found = True
                break
            if a == 0.0:
                break
            a = 0.0  # mispricing: price at the master duals
        if found:
            a = smoothing if a == 0.0 else a
        history.append((best, value))
        if progress is not None:
            progress(it, best, value, master.columns)
        if not found or best >= value - tol * max(1.0, abs(value)) or tick() - t0 > time_limit:
            break
    return ColumnGenerationResult(
        float(best),
        float(value),
        it,
        master.columns,
        float(tick() - t0),
        tuple(history),
        best_pi,
        best_alpha,
    )

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

import math
import time
from collections.abc import Callable
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


@dataclass(frozen=True)
class ScheduleBoundResult:
    """Best Lagrangian bound over the iterations, with iteration figures."""

    value: float
    iterations: int
    seconds: float
    history: tuple[float, ...]
    multipliers: FloatArray


def travel_closure(travel: FloatArray) -> FloatArray:
    """Shortest-path travel days between regions (Floyd-Warshall over the travel matrix).

    >>> float(travel_closure(np.array([[0.0, 5.0, 1.0], [5.0, 0.0, 1.0], [1.0, 1.0, 0.0]]))[0, 1])
    2.0
    """
    d = np.array(travel, dtype=np.float64, copy=True)
    for m in range(d.shape[0]):
        d = np.minimum(d, d[:, m : m + 1] + d[m : m + 1, :])
    return d


class ScheduleLagrangian:
    """Pricing over relaxed single-team schedules and the Lagrangian bound for multipliers."""

    def __init__(self, inst: Instance, horizon: float) -> None:
        """Precompute completion lower bounds for every (type, operation, start day < H)."""
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
                nxt[:, cols] = np.minimum(np.floor(e - 1e-9), H).astype(np.int32)
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
        self, pi: FloatArray, alpha: FloatArray | None = None, want_paths: bool = False
    ) -> tuple[float, list[tuple[int, int, list[Occurrence]]]]:
        """Lagrangian bound at (pi, alpha) and (optionally) every subtype's best schedule.

        ``alpha`` must satisfy :meth:`project` (completion weights >= 0). Paths are
        (type, home, occurrences) for subtypes whose best schedule is not empty.
        """
        if alpha is None:
            alpha = np.zeros(self.inst.n_ops)
        omega = self.completion_weights(alpha)
        if float(omega.min(initial=0.0)) < -1e-12:
            raise ValueError("chain multipliers give a negative completion weight; project them")
        total = float(pi.sum())
        paths: list[tuple[int, int, list[Occurrence]]] = []
        for tg in self.types:
            V, S, pij, om, al = self._dp(tg, pi, omega, alpha)
            tiny_red = omega[tg.tiny] * tg.tiny_end + alpha[tg.tiny] * tg.tiny_dmin - pi[tg.tiny]
            tiny_val = float(np.minimum(0.0, tiny_red).sum())
            best = V[0, tg.homes] + tiny_val
            total += float((tg.home_teams * best).sum())
            if want_paths:
                neg = tiny_red < 0
                tiny_occ = list(
                    zip(
                        tg.tiny[neg].tolist(),
                        tg.tiny_end[neg].tolist(),
                        tg.tiny_dmin[neg].tolist(),
                        strict=True,
                    )
                )
                for h, val in zip(tg.homes.tolist(), best.tolist(), strict=True):
                    if val < 0:
                        occ = self._path(tg, V, S, pij, om, al, int(h))
                        paths.append((tg.k, int(h), occ + tiny_occ))
        return total, paths

    def _path(
        self,
        tg: _TypeGrid,
        V: FloatArray,
        S: FloatArray,
        pij: FloatArray,
        om: FloatArray,
        al: FloatArray,
        home: int,
    ) -> list[Occurrence]:
        """Rebuild the best schedule from (day 0, home)."""
        H = self.H
        t, g = 0, home
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
            a = int(np.searchsorted(tg.region, g2, side="left"))
            b = int(np.searchsorted(tg.region, g2, side="right"))
            e = tg.end[t2, a:b]
            d = np.maximum(tg.dmin[a:b], e - (t2 + 1))
            vals = om[a:b] * e + al[a:b] * d - pij[a:b] + V[tg.nxt[t2, a:b], g2]
            j = int(np.argmin(vals))
            out.append((int(tg.ops[a + j]), float(e[j]), float(d[j])))
            t, g = int(tg.nxt[t2, a + j]), g2
        tail_red = om * tg.tail_end + al * tg.dmin - pij
        neg = np.flatnonzero(tail_red < 0)
        out.extend(
            zip(tg.ops[neg].tolist(), tg.tail_end[neg].tolist(), tg.dmin[neg].tolist(), strict=True)
        )
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
) -> ScheduleBoundResult:
    """Best schedule-Lagrangian bound found by projected subgradient steps.

    ``pi0``: starting cover multipliers (e.g. the pooled relaxation's operation prices,
    :func:`mineaction.core.planning.bounds.lp_bound` ``prices_out``); ``target``: a plan's
    objective (Polyak step towards min(target, best x (1 + ``target_factor``)));
    ``horizon``: the day grid (a plan's makespan is a good choice; any value gives a valid
    bound). ``chains=False`` keeps only release dates for stage chains. ``volume`` < 1
    averages the priced schedules over iterations (volume algorithm; slower here). Every
    iterate's value is a valid bound; the best is returned.
    """
    tick = clock if clock is not None else time.perf_counter
    t0 = tick()
    lag = ScheduleLagrangian(inst, horizon)
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
    history: list[float] = []
    theta, since, it = 1.0, 0, 0
    for it in range(1, iterations + 1):
        value, paths = lag.evaluate(pi, alpha, want_paths=True)
        history.append(value)
        if value > best:
            best, best_pi, since = value, pi.copy(), 0
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
    return ScheduleBoundResult(best, it, float(tick() - t0), tuple(history), best_pi)

"""Compiled, array-based form of a planning problem used by the algorithms.

A work package becomes one *operation* per remaining stage (NTS -> TS -> clearance); an
operation's predecessor is the previous stage of the same package. Teams with the same asset
class, stages and rates form a *team type*. Time is continuous in days from the plan start:
day ``d`` is the interval [d, d+1) and a region's calendar gives the workable fraction of it, so
a team with rate r does ``r * fraction`` m2 in a full day of that region.

Teams may have their own availability calendar (leave, rotations, stand-downs): then a day's
workable fraction for that team is region fraction x team fraction. Calendars are compiled as
*rows*: row ``c * len(regions) + g`` is region ``g`` seen by the teams of calendar ``c``
(calendar 0 = always available, so rows ``0 .. len(regions) - 1`` are the regions themselves).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from mineaction.core.planning.model import (
    AssetClass,
    Calendar,
    PlanningInputError,
    PlanningProblem,
    Stage,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
INF = float("inf")
MAX_HORIZON_DAYS = 365 * 200


@dataclass
class Instance:
    """Array form of a :class:`PlanningProblem` (build with :func:`compile_problem`)."""

    problem: PlanningProblem
    regions: tuple[str, ...]
    op_pkg: IntArray
    op_stage: tuple[Stage, ...]
    op_area: FloatArray
    op_region: IntArray
    op_pred: IntArray
    op_succ: IntArray
    op_weight: FloatArray  # package weight on its last operation, 0 elsewhere
    op_released: FloatArray  # expected m2 released when the operation completes
    op_release: FloatArray  # earliest start day (the package's release day on its first stage)
    pkg_last_op: IntArray
    team_type: IntArray
    team_home: IntArray
    type_p: FloatArray  # (ops, types) team-days of full work; inf = not eligible
    type_teams: tuple[IntArray, ...]
    type_asset: tuple[AssetClass, ...]
    travel: FloatArray  # (regions, regions) days
    frozen_team: dict[int, int]
    frozen_start: dict[int, float]
    frac: FloatArray  # (regions, horizon) workable fraction per day (view of all_frac)
    cum: FloatArray  # (regions, horizon + 1) cumulative workable days (view of all_cum)
    env_restricted: tuple[int, ...]  # packages where the environmental rules excluded a team type
    env_exempted: tuple[int, ...]  # sensitive packages with a recorded exemption
    team_cals: tuple[Calendar | None, ...] = (None,)  # distinct team availabilities, 0 = none
    type_cal: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    all_frac: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    all_cum: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    #: days an operation waits after its previous stage ends (0: none); empty = all 0
    op_lag: FloatArray = field(default_factory=lambda: np.zeros(0))
    _lists: tuple[list[list[float]], list[list[float]]] | None = field(
        default=None, init=False, repr=False
    )

    def lag(self, o: int) -> float:
        """Days operation ``o`` waits after its previous stage ends."""
        return float(self.op_lag[o]) if self.op_lag.size else 0.0

    @property
    def n_ops(self) -> int:
        """Number of operations."""
        return int(self.op_pkg.shape[0])

    @property
    def n_teams(self) -> int:
        """Number of teams."""
        return int(self.team_type.shape[0])

    @property
    def has_team_calendars(self) -> bool:
        """Whether some team has its own availability calendar."""
        return len(self.team_cals) > 1

    def row(self, region: int, team: int) -> int:
        """Calendar row of ``region`` as seen by ``team`` (its availability included)."""
        return int(self.type_cal[self.team_type[team]]) * len(self.regions) + region

    def next_available(self, team: int, t: float) -> float:
        """First time >= ``t`` at which ``team``'s own availability is not zero (``t`` if the
        team has no availability calendar)."""
        c = int(self.type_cal[self.team_type[team]])
        if c == 0:
            return t
        d = int(t)
        g = len(self.regions)
        while True:
            self.ensure_horizon(d + 66)
            own = self.all_frac[c * g : (c + 1) * g, d : d + 64].max(axis=0) > 0
            hit = np.flatnonzero(own)
            if hit.size:
                return t if hit[0] == 0 else float(d + hit[0])
            d += 64

    @property
    def horizon(self) -> int:
        """Number of days for which calendars are currently compiled."""
        return int(self.frac.shape[1])

    def p(self, op: int, team: int) -> float:
        """Full-calendar team-days needed by ``team`` for ``op`` (inf if not eligible)."""
        return float(self.type_p[op, self.team_type[team]])

    def eligible_teams(self, op: int) -> IntArray:
        """Indices of teams that may work on ``op``."""
        ks = np.flatnonzero(np.isfinite(self.type_p[op]))
        if ks.size == 0:
            return np.zeros(0, dtype=np.int64)
        return np.sort(np.concatenate([self.type_teams[k] for k in ks]))

    def ensure_horizon(self, days: float) -> None:
        """Extend compiled calendars (doubling) so that they cover ``days``."""
        h = self.horizon
        if days < h:
            return
        new_h = h
        while new_h <= days:
            new_h *= 2
        if new_h > MAX_HORIZON_DAYS:
            raise PlanningInputError(
                "plan would exceed 200 years: check calendars (a region closed for ever?) and rates"
            )
        self._set_calendars(_calendar_arrays(self.problem, self.regions, new_h, self.team_cals))

    def _set_calendars(self, arrays: tuple[FloatArray, FloatArray]) -> None:
        g = len(self.regions)
        self.all_frac, self.all_cum = arrays
        self.frac, self.cum = self.all_frac[:g], self.all_cum[:g]
        self._lists = None

    def workable(self, region: int, start: float, end: float) -> float:
        """Workable (full-fraction) days in a region (or calendar row) between two times."""
        return self.cumulative(region, end) - self.cumulative(region, start)

    def cumulative(self, region: int, t: float) -> float:
        """Workable days in a region (or calendar row) from day 0 to time ``t``."""
        self.ensure_horizon(t + 1)
        d = int(t)
        return float(self.all_cum[region, d] + self.all_frac[region, d] * (t - d))

    def finish(self, region: int, start: float, p: float) -> float:
        """Earliest time at which ``p`` workable days, begun at ``start``, are done.

        ``region`` is a region index or a calendar row (:meth:`row`) for a team with its own
        availability.

        >>> from mineaction.core.planning.model import Calendar, PlanningProblem, Team, WorkPackage
        >>> import datetime as dt
        >>> pb = PlanningProblem((WorkPackage("p", "h", "r", 800.0, "open"),),
        ...     (Team("t", AssetClass.MANUAL, "r"),), dt.date(2026, 1, 1),
        ...     calendars={"r": Calendar(weekly_rest=(5, 6))})
        >>> compile_problem(pb).finish(0, 0.0, 3.0)  # Thu 1 Jan: Thu, Fri, (weekend), Mon
        5.0
        """
        if p <= 0:
            return start
        lists = self._cum_lists()
        cum, fr = lists[0][region], lists[1][region]
        d = int(start)
        if d + 1 >= len(fr):
            self.ensure_horizon(d + 2)
            return self.finish(region, start, p)
        target = cum[d] + fr[d] * (start - d) + p
        if target > cum[-1]:
            self.ensure_horizon(len(fr) + p * 2 + 365)
            return self.finish(region, start, p)
        k = bisect_left(cum, target)
        day = k - 1
        return day + (target - cum[day]) / fr[day]

    def finish_many(self, region: int, start: FloatArray, p: FloatArray) -> FloatArray:
        """Vectorised :meth:`finish` for one region (or calendar row)."""
        need = float(start.max(initial=0.0)) + 2
        self.ensure_horizon(need)
        cum, fr = self.all_cum[region], self.all_frac[region]
        d = start.astype(np.int64)
        target = cum[d] + fr[d] * (start - d) + p
        top = float(target.max(initial=0.0))
        if top > cum[-1]:
            self.ensure_horizon(self.horizon + top - cum[-1] + 2 * 365)
            return self.finish_many(region, start, p)
        k = np.searchsorted(cum, target, side="left")
        day = np.maximum(k - 1, 0)
        out = day + (target - cum[day]) / np.where(fr[day] > 0, fr[day], 1.0)
        return np.where(p > 0, out, start)

    def _cum_lists(self) -> tuple[list[list[float]], list[list[float]]]:
        if self._lists is None:
            self._lists = (self.all_cum.tolist(), self.all_frac.tolist())
        return self._lists


def _calendar_arrays(
    problem: PlanningProblem,
    regions: tuple[str, ...],
    days: int,
    team_cals: tuple[Calendar | None, ...] = (None,),
) -> tuple[FloatArray, FloatArray]:
    g_n = len(regions)
    frac = np.ones((g_n * len(team_cals), days), dtype=np.float64)
    for g, name in enumerate(regions):
        cal = problem.calendars.get(name)
        if cal is not None:
            frac[g] = cal.fractions(problem.start, days)
    for c, tc in enumerate(team_cals):
        if c == 0 or tc is None:
            continue
        frac[c * g_n : (c + 1) * g_n] = frac[:g_n] * tc.fractions(problem.start, days)[None, :]
    cum = np.zeros((frac.shape[0], days + 1), dtype=np.float64)
    np.cumsum(frac, axis=1, out=cum[:, 1:])
    return frac, cum


def compile_problem(problem: PlanningProblem, horizon_days: int | None = None) -> Instance:
    """Turn a :class:`PlanningProblem` into arrays (operations, team types, calendars)."""
    regions = problem.regions()
    rix = {r: i for i, r in enumerate(regions)}
    pix: dict[str, int] = {}
    op_pkg: list[int] = []
    op_stage: list[Stage] = []
    op_area: list[float] = []
    op_pred: list[int] = []
    op_weight: list[float] = []
    op_released: list[float] = []
    op_release: list[float] = []
    op_lag: list[float] = []
    last: list[int] = []
    first: list[int] = []
    for j, pk in enumerate(problem.packages):
        if pk.id in pix:
            raise PlanningInputError(f"work package id {pk.id!r} appears twice; ids must be unique")
        if not pk.area_m2 > 0 or not pk.weight >= 0 or not pk.release_day >= 0:
            raise PlanningInputError(
                f"work package {pk.id!r}: area_m2 must be > 0, weight and release_day >= 0 "
                f"(got {pk.area_m2}, {pk.weight}, {pk.release_day})"
            )
        pix[pk.id] = j
        stages = pk.stage_areas()
        released = dict(pk.released_by_stage())
        first.append(len(op_pkg))
        for s, (stage, area) in enumerate(stages):
            op_pred.append(len(op_pkg) - 1 if s > 0 else -1)
            op_pkg.append(j)
            op_stage.append(stage)
            op_area.append(area)
            op_released.append(released[stage])
            op_release.append(float(pk.release_day) if s == 0 else 0.0)
            lag = pk.stage_lags[s - 1] if 0 < s <= len(pk.stage_lags) else 0.0
            if not lag >= 0:
                raise PlanningInputError(f"work package {pk.id!r}: stage lags must be >= 0")
            op_lag.append(float(lag))
            op_weight.append(pk.weight if s == len(stages) - 1 else 0.0)
        last.append(len(op_pkg) - 1)
    n = len(op_pkg)
    pred = np.asarray(op_pred, dtype=np.int64)
    succ = np.full(n, -1, dtype=np.int64)
    has = pred >= 0
    succ[pred[has]] = np.flatnonzero(has)

    # team types
    terrains = sorted({pk.terrain for pk in problem.packages})
    tix: dict[str, int] = {}
    sig_ix: dict[tuple[object, ...], int] = {}
    team_type: list[int] = []
    type_members: list[list[int]] = []
    type_teams_obj = []
    cal_ix: dict[Calendar, int] = {}
    type_cal: list[int] = []
    for i, t in enumerate(problem.teams):
        if t.id in tix:
            raise PlanningInputError(f"team id {t.id!r} appears twice; ids must be unique")
        if t.home_region not in rix:
            raise PlanningInputError(f"team {t.id!r}: unknown home region {t.home_region!r}")
        tix[t.id] = i
        c = 0
        if t.availability is not None:
            c = cal_ix.setdefault(t.availability, len(cal_ix) + 1)
        sig = (
            t.asset,
            tuple(t.can_do(stage) for stage in Stage),
            tuple(t.rate(tr) for tr in terrains),
            c,
        )
        if sig not in sig_ix:
            sig_ix[sig] = len(type_members)
            type_members.append([])
            type_teams_obj.append(t)
            type_cal.append(c)
        k = sig_ix[sig]
        team_type.append(k)
        type_members[k].append(i)
    n_types = len(type_members)
    terr_ix = {tr: i for i, tr in enumerate(terrains)}
    stage_ix = {s: i for i, s in enumerate(Stage)}
    rate_tab = np.zeros((n_types, len(Stage), max(1, len(terrains))), dtype=np.float64)
    for k, t in enumerate(type_teams_obj):
        for stage in Stage:
            if t.can_do(stage):
                for tr in terrains:
                    rate_tab[k, stage_ix[stage], terr_ix[tr]] = max(0.0, t.rate(tr))
    op_terr = np.asarray([terr_ix[problem.packages[j].terrain] for j in op_pkg], dtype=np.int64)
    op_st = np.asarray([stage_ix[stage] for stage in op_stage], dtype=np.int64)
    area_arr = np.asarray(op_area, dtype=np.float64)
    rates = rate_tab[:, op_st, op_terr].T if n else np.zeros((0, n_types))  # (ops, types)
    with np.errstate(divide="ignore"):
        type_p = np.where(rates > 0, area_arr[:, None] / np.where(rates > 0, rates, 1.0), np.inf)
    # environmental rules
    restricted: set[int] = set()
    rules = problem.rules
    for k, t in enumerate(type_teams_obj):
        if t.asset not in rules.restricted_assets:
            continue
        for j, pk in enumerate(problem.packages):
            if not rules.allows(t, pk):
                restricted.add(j)
                type_p[first[j] : last[j] + 1, k] = np.inf
    exempted = tuple(
        j
        for j, pk in enumerate(problem.packages)
        if pk.mechanical_allowed and (pk.protected_area or pk.near_water)
    )

    # frozen work in progress
    frozen_team: dict[int, int] = {}
    frozen_start: dict[int, float] = {}
    for fw in problem.frozen:
        if fw.package_id not in pix or fw.team_id not in tix:
            raise PlanningInputError(
                f"frozen work {fw}: unknown package or team; remove it or add the package/team"
            )
        j = pix[fw.package_id]
        o = first[j]
        if op_stage[o] != fw.stage:
            raise PlanningInputError(
                f"frozen work on {fw.package_id!r} stage {fw.stage}: the package's first remaining "
                f"stage is {op_stage[o]}; advance first_stage for completed stages"
            )
        if not np.isfinite(type_p[o, team_type[tix[fw.team_id]]]):
            raise PlanningInputError(
                f"frozen work on {fw.package_id!r}: team {fw.team_id!r} is not eligible for it"
            )
        frozen_team[o] = tix[fw.team_id]
        frozen_start[o] = float(fw.start_day)

    g = len(regions)
    travel = np.zeros((g, g), dtype=np.float64)
    for a in range(g):
        for b in range(g):
            travel[a, b] = problem.travel(regions[a], regions[b])
    if horizon_days is None:
        horizon_days = 4 * 365
    team_cals: tuple[Calendar | None, ...] = (None, *cal_ix)
    all_frac, all_cum = _calendar_arrays(problem, regions, horizon_days, team_cals)
    inst = Instance(
        problem=problem,
        regions=regions,
        op_pkg=np.asarray(op_pkg, dtype=np.int64),
        op_stage=tuple(op_stage),
        op_area=area_arr,
        op_region=np.asarray([rix[problem.packages[j].region] for j in op_pkg], dtype=np.int64),
        op_pred=pred,
        op_succ=succ,
        op_weight=np.asarray(op_weight, dtype=np.float64),
        op_released=np.asarray(op_released, dtype=np.float64),
        op_release=np.asarray(op_release, dtype=np.float64),
        pkg_last_op=np.asarray(last, dtype=np.int64),
        team_type=np.asarray(team_type, dtype=np.int64),
        team_home=np.asarray([rix[t.home_region] for t in problem.teams], dtype=np.int64),
        type_p=type_p,
        type_teams=tuple(np.asarray(m, dtype=np.int64) for m in type_members),
        type_asset=tuple(t.asset for t in type_teams_obj),
        travel=travel,
        frozen_team=frozen_team,
        frozen_start=frozen_start,
        frac=all_frac[:g],
        cum=all_cum[:g],
        env_restricted=tuple(sorted(restricted)),
        env_exempted=exempted,
        team_cals=team_cals,
        type_cal=np.asarray(type_cal, dtype=np.int64),
        op_lag=np.asarray(op_lag, dtype=np.float64) if any(op_lag) else np.zeros(0),
    )
    inst._set_calendars((all_frac, all_cum))
    return inst

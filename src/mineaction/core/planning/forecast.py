"""Probabilistic completion forecasts: Monte Carlo with the fast planner re-run per sample.

Each sample draws (planning.md sections 4.1, 5.2):

* productivity: a programme-wide factor per (asset class, terrain) and a factor per team,
  both lognormal with mean 1 (no published distribution exists: sigmas are priors to be
  replaced by fits to the programme's own completion reports);
* survey outcomes: each package's cancelled / reduced / cleared shares ~ Dirichlet around
  its expected ratios (so TS and clearance areas are random);
* capacity: each team is unavailable for the whole horizon with a probability (funding);
  when the programme's monthly utilisation history is given, each asset class also gets a
  capacity path: for each block of months, history months of the same season (the same
  calendar month shifted by -1, 0 or +1, any year) are drawn (a seasonal block bootstrap)
  and applied as the class's monthly availability (a team's own calendar), so the
  programme's busy and idle months recur in their season with their observed spread;
* security closures: extra closures per region (Poisson count, exponential length);
* work selection: when the programme's tasking curve is given (the monthly probability that a
  hazard idle for a months gets worked on, fitted on history), each hazard's first month of
  work is drawn from it, starting at the hazard's idle age; its packages may not start
  before (``WorkPackage.release_day``), so the forecast works on the hazards the programme's
  record says it works on, not on the whole stock at once;
* new contamination: when the history of newly reported hazards is given, the hazards first
  reported in each sampled history month are added as work packages released on the same day
  of the month (for the first ``inflow_months`` months); they compete for the teams but are
  left out of every output (completion dates and released m2 are those of today's hazards).

Then the plan is rebuilt (calendar-aware dispatching, optionally a bounded local search) and package
completion days are recorded. Samples use common random numbers, so adding a team changes
only that team's draws: this is how the marginal effect of one more team is measured.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from mineaction.core.planning.instance import FloatArray, compile_problem
from mineaction.core.planning.model import (
    DEFAULT_TERRAINS,
    STAGE_ORDER,
    AssetClass,
    Calendar,
    Closure,
    PlanningProblem,
    ReleaseRatios,
    Stage,
    Team,
    WorkPackage,
)
from mineaction.core.planning.schedule import dispatch_schedule
from mineaction.core.planning.search import local_search


@dataclass(frozen=True)
class ForecastSettings:
    """Uncertainty priors and sampling options of a forecast."""

    samples: int = 200
    seed: int = 0
    productivity_sigma: float = 0.3  # programme-wide factor per (asset class, terrain)
    team_sigma: float = 0.2  # factor per team
    release_concentration: float = 20.0  # Dirichlet concentration (higher = less spread)
    team_loss_probability: float = 0.05
    closures_per_region_year: float = 0.5
    mean_closure_days: float = 30.0
    local_search_moves: int = 0  # 0: dispatching only (fastest)
    #: monthly utilisation history per asset class (value, months oldest first), and the
    #: utilisation already applied to the problem's rates (their mean); empty: no capacity path
    utilisation_months: tuple[tuple[str, tuple[float, ...]], ...] = ()
    utilisation_applied: tuple[tuple[str, float], ...] = ()
    utilisation_block_months: int = 3
    utilisation_first_month: tuple[int, ...] = ()  # (year, month) of the first history month
    #: new hazards reported in each history month (work packages, release_day = day of the
    #: month), resampled with the capacity months for the first ``inflow_months`` months
    inflow: tuple[tuple[WorkPackage, ...], ...] = ()
    inflow_months: int = 12
    #: work selection (``calibration.tasking_curve``): monthly probability that a hazard idle
    #: for a months is worked on next month (last value: every older age), and each hazard's
    #: idle months at the start; empty: every hazard may be worked on from the start
    tasking: tuple[float, ...] = ()
    hazard_idle_months: tuple[tuple[str, int], ...] = ()
    #: the same for hazards already worked on (when the programme goes on with a hazard:
    #: their next stage, and the later stages of every hazard); empty: ``tasking``
    tasking_again: tuple[float, ...] = ()
    worked_hazards: tuple[str, ...] = ()
    #: month-to-month log-sigma of the tasking rate (each month's probabilities x a lognormal
    #: factor with mean 1 drawn per sample and month)
    tasking_sigma: float = 0.0
    #: capacity path = the most the history shows in each season (a ceiling, for use with the
    #: work selection, which explains the idle months) instead of a resampled month
    capacity_ceiling: bool = False
    #: observed pace of first take-ups (``calibration.take_up_pace``): never-worked hazards
    #: still waiting after ``pace_after_months`` are taken from the stock a drawn number a
    #: month (Poisson around ``pace_per_month`` x a lognormal month factor of log-sigma
    #: ``pace_sigma``), in the order the record shows (weighted by ``tasking`` at their idle
    #: age), until the stock is empty; no cap. A pace of 0 takes nothing up: those hazards
    #: get no completion date (inf)
    pace: bool = False
    pace_per_month: float = 0.0
    pace_sigma: float = 0.0
    #: the same for hazards already worked on and later stages (going on)
    pace_again_per_month: float = 0.0
    pace_again_sigma: float = 0.0
    #: months the curves are followed before the pace takes over (the record's window)
    pace_after_months: int = 12
    #: newly reported hazards a month competing for the take-ups (each weighted by ``tasking``
    #: at its own age; they are not planned); 0: the pace goes to the known stock
    pace_new_per_month: float = 0.0
    #: months the pace is followed (0: until the stock is empty or the planner's horizon);
    #: hazards not taken up by then get no date (inf)
    pace_months: int = 0


@dataclass(frozen=True)
class Forecast:
    """Completion days per sample, by package, region and for the whole programme."""

    start: dt.date
    regions: tuple[str, ...]
    package_days: FloatArray  # (samples, packages)
    region_days: Mapping[str, FloatArray]
    programme_days: FloatArray
    objective: FloatArray
    settings: ForecastSettings = field(default_factory=ForecastSettings)
    #: (samples, packages, stages NTS/TS/clearance): day each stage ends (nan: not in the
    #: chain) and m2 it releases (cancelled / reduced / cleared); kept on request
    stage_end: npt.NDArray[np.float32] | None = None
    stage_released: npt.NDArray[np.float32] | None = None
    package_region: npt.NDArray[np.int64] | None = None
    all_regions: tuple[str, ...] = ()  # every region of the problem (package_region indexes it)

    def released_by(
        self, day: float, region: str | None = None, stage: Stage | None = None
    ) -> FloatArray:
        """m2 released by ``day`` in each sample, each stage counted when it ends (needs
        ``keep_stages``); optionally one region or one stage."""
        if self.stage_end is None or self.stage_released is None:
            raise ValueError("forecast(..., keep_stages=True) keeps the stage timings")
        done = self.stage_end <= day
        rel = np.where(done, self.stage_released, 0.0)
        if region is not None and self.package_region is not None:
            rel = rel[:, self.package_region == self.all_regions.index(region)]
        if stage is not None:
            rel = rel[..., STAGE_ORDER.index(stage)]
        return np.asarray(rel.reshape(rel.shape[0], -1).sum(axis=1), dtype=np.float64)

    def percentiles(
        self, region: str | None = None
    ) -> tuple[dt.date | None, dt.date | None, dt.date | None]:
        """P10, P50 and P90 completion dates of a region (``None``: the programme); ``None``
        where that share of the samples never completes (hazards not taken up at the pace)."""
        days = self.programme_days if region is None else self.region_days[region]
        with np.errstate(invalid="ignore"):
            qs = np.percentile(days, [10, 50, 90])
        out = [self.start + dt.timedelta(days=float(x)) if np.isfinite(x) else None for x in qs]
        return out[0], out[1], out[2]

    def probability_by(self, deadline: dt.date, region: str | None = None) -> float:
        """Probability that a region (``None``: the programme) is complete by ``deadline``."""
        days = self.programme_days if region is None else self.region_days[region]
        limit = (deadline - self.start).days
        return float(np.mean(days <= limit))

    def table(self) -> list[dict[str, object]]:
        """Rows of region, P10, P50, P90 (dates), programme last."""
        rows: list[dict[str, object]] = []
        for name in [*self.regions, None]:
            p10, p50, p90 = self.percentiles(name)
            rows.append({"region": name or "programme", "p10": p10, "p50": p50, "p90": p90})
        return rows


def _sample_problem(
    problem: PlanningProblem, settings: ForecastSettings, sample: int, horizon_days: int
) -> PlanningProblem:
    """One random variant of the problem (draws in a fixed order: common random numbers)."""
    rng = np.random.default_rng([settings.seed, sample])
    tasked, lags = _take_up(problem, settings, sample)
    never = {h for h, d in tasked.items() if not np.isfinite(d)}
    never |= {h for h, (a, b) in lags.items() if not (np.isfinite(a) and np.isfinite(b))}
    s = settings.productivity_sigma
    terrains = sorted({p.terrain for p in problem.packages} | set(DEFAULT_TERRAINS))
    class_factor = {
        (a, t): float(rng.lognormal(-s * s / 2, s)) for a in AssetClass for t in terrains
    }
    packages = []
    conc = settings.release_concentration
    frozen_ids = {fw.package_id for fw in problem.frozen}
    for p in problem.packages:
        if p.hazard_id in never and p.id not in frozen_ids:
            continue  # not taken up at the observed pace: not planned, no date
        if tasked and p.id not in frozen_ids:
            p = dataclasses.replace(
                p,
                release_day=max(p.release_day, tasked[p.hazard_id]),
                stage_lags=lags[p.hazard_id],
            )
        alpha = np.maximum(
            np.array([p.release.cancelled, p.release.reduced, p.release.cleared]) * conc, 1e-3
        )
        c, r, _ = rng.dirichlet(alpha)
        if p.first_stage is Stage.CLEARANCE:
            packages.append(p)
        else:
            ratios = ReleaseRatios(float(c), float(r), float(max(0.0, 1.0 - c - r)))
            packages.append(dataclasses.replace(p, release=ratios))
    calendars: dict[str, Calendar] = {}
    years = horizon_days / 365.0
    # capacity months cover twice the horizon: a slow sample must not run on into months
    # without a path (they would be at the busiest month's capacity)
    last_release = max((d for d in tasked.values() if np.isfinite(d)), default=0.0)
    n_months = 2 * (max(horizon_days, int(last_release)) // 28) + 24
    idx = _history_months(problem, settings, rng, n_months)
    capacity = _capacity_paths(problem, settings, idx)
    for region in problem.regions():
        cal = problem.calendars.get(region, Calendar())
        k = int(rng.poisson(settings.closures_per_region_year * years))
        extra = []
        for _ in range(k):
            a = problem.start + dt.timedelta(days=int(rng.integers(0, max(1, horizon_days))))
            length = max(1, int(rng.exponential(settings.mean_closure_days)))
            extra.append(Closure(a, a + dt.timedelta(days=length - 1), 0.0, "security (sampled)"))
        calendars[region] = dataclasses.replace(cal, closures=cal.closures + tuple(extra))
    teams = []
    ts = settings.team_sigma
    for t in problem.teams:
        lost = rng.uniform() < settings.team_loss_probability
        f = float(rng.lognormal(-ts * ts / 2, ts))
        if lost and not any(fw.team_id == t.id for fw in problem.frozen):
            continue
        rates = {tr: t.rate(tr) * f * class_factor[(t.asset, tr)] for tr in terrains}
        avail = t.availability
        if t.asset in capacity:
            top, path = capacity[t.asset]
            rates = {tr: r * top for tr, r in rates.items()}
            own = avail or Calendar()
            avail = dataclasses.replace(own, closures=own.closures + path)
        teams.append(dataclasses.replace(t, rates=rates, availability=avail))
    kept = {t.asset for t in teams}
    for t in problem.teams:  # never lose a whole asset class
        if t.asset not in kept:
            teams.append(t)
            kept.add(t.asset)
    new = _inflow(problem, settings, idx)  # appended: the known packages keep their index
    if settings.tasking and new:
        delay = _tasking_days(
            dataclasses.replace(problem, packages=tuple(new)),
            dataclasses.replace(settings, hazard_idle_months=()),
            sample,
            stream=8,
        )
        new_lags = _stage_lags(
            dataclasses.replace(problem, packages=tuple(new)), settings, sample, 10
        )
        new = [
            dataclasses.replace(
                p, release_day=p.release_day + delay[p.hazard_id], stage_lags=new_lags[p.hazard_id]
            )
            for p in new
        ]
    return dataclasses.replace(
        problem, packages=(*packages, *new), teams=tuple(teams), calendars=calendars
    )


#: Latest month of take-up drawn from a tasking curve when the pace is off (``pace=False``:
#: the previous model; a hazard the record shows almost never worked on is planned no later
#: than this, each later stage no later than half of it after the previous one). An
#: assumption, not a fit; with the pace (the default in the services) no day is capped.
TASKING_CAP_MONTHS = 240
DAYS_PER_MONTH = 30.44
#: Longest run of the pace (the planner's horizon, in months): hazards not taken up by then
#: get no date (inf), never a capped one.
PACE_MAX_MONTHS = 12 * 200


def _tasking_days(
    problem: PlanningProblem, settings: ForecastSettings, sample: int, stream: int = 7
) -> dict[str, float]:
    """Day (from the start) each hazard may first be worked on (:func:`_take_up`).

    >>> from mineaction.core.planning.generate import generate_problem
    >>> pb = generate_problem(20, seed=1)
    >>> days = _tasking_days(pb, ForecastSettings(tasking=(1.0,)), 0)
    >>> max(days.values()) < DAYS_PER_MONTH
    True
    """
    return _take_up(problem, settings, sample, stream)[0]


def _stage_lags(
    problem: PlanningProblem, settings: ForecastSettings, sample: int, stream: int = 9
) -> dict[str, tuple[float, float]]:
    """Days each hazard's later stages wait after the previous stage ends (:func:`_take_up`).

    >>> from mineaction.core.planning.generate import generate_problem
    >>> lags = _stage_lags(generate_problem(10, seed=1), ForecastSettings(tasking=(1.0,)), 0)
    >>> all(0 <= x < DAYS_PER_MONTH for pair in lags.values() for x in pair)
    True
    """
    return _take_up(problem, settings, sample, stream - 2)[1]


def _take_up(
    problem: PlanningProblem, settings: ForecastSettings, sample: int, stream: int = 7
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Day each hazard may first be worked on and days its later stages wait, drawn from the
    work selection (own random streams ``stream`` and ``stream + 2``, ``stream + 4`` for the
    pace: common random numbers, teams added or lost do not change them).

    Take-up: month by month from the hazard's idle age, the hazard is taken up with its
    curve's probability for its age then (hazards never worked on: ``tasking``; already
    worked on: ``tasking_again``), times the month's tempo factor; the day is uniform within
    the month. Later stages wait after the previous stage ends for a draw from the "again"
    curve from idle age 0.

    With ``pace`` (the default in the services) the curves are followed for the
    ``pace_after_months`` months the record covers (its window: what the backtest checks);
    what is still waiting then is taken up at the programme's observed pace
    (:func:`_pace_months`): never-worked hazards at ``pace_per_month`` first take-ups a
    month, hazards already worked on and later stages at ``pace_again_per_month``, each
    weighted by its curve at the age it has waited. Without the pace, a geometric draw at
    the curve's last probability, capped at TASKING_CAP_MONTHS (later stages at half).
    """
    curve = np.asarray(settings.tasking, dtype=np.float64)
    if curve.size == 0:
        return {}, {}
    hazards = list(dict.fromkeys(p.hazard_id for p in problem.packages))
    idle = dict(settings.hazard_idle_months)
    age = np.asarray([idle.get(h, 0) for h in hazards], dtype=np.int64)
    rng = np.random.default_rng([settings.seed, sample, stream])
    again = np.asarray(settings.tasking_again or settings.tasking, dtype=np.float64)
    top = max(curve.size, again.size) - 1
    sg = settings.tasking_sigma
    tempo = rng.lognormal(-sg * sg / 2, sg, size=top + 1) if sg > 0 else np.ones(top + 1)
    month = _curve_months(curve, age, rng, tempo).astype(np.float64)
    worked_set = set(settings.worked_hazards)  # once: not once per hazard
    worked = np.fromiter((h in worked_set for h in hazards), dtype=bool, count=len(hazards))
    if worked.any():
        cont = _curve_months(again, age, rng, tempo)
        month = np.where(worked, cont, month)
    within = rng.uniform(size=len(hazards))
    lag_rng = np.random.default_rng([settings.seed, sample, stream + 2])
    zero = np.zeros(len(hazards), dtype=np.int64)
    lag_a = _curve_months(again, zero, lag_rng, np.ones(again.size)).astype(np.float64)
    lag_b = _curve_months(again, zero, lag_rng, np.ones(again.size)).astype(np.float64)
    lag_within = lag_rng.uniform(size=(2, len(hazards)))
    if settings.pace:
        w = settings.pace_after_months
        pace_rng = np.random.default_rng([settings.seed, sample, stream + 4])
        late = (month >= w) & ~worked  # never worked, still waiting when the record ends
        month[late] = w + _pace_months(
            curve,
            age[late] + w,
            settings.pace_per_month,
            settings.pace_sigma,
            pace_rng,
            settings.pace_new_per_month,
            settings.pace_months,
        )
        # going on: hazards already worked on and later stages share the "again" pace (a
        # stage that the hazard's chain does not have waits for nothing)
        later: dict[str, int] = {}
        for p in problem.packages:
            later[p.hazard_id] = max(later.get(p.hazard_id, 0), len(p.stage_areas()) - 1)
        n_later = np.asarray([later[h] for h in hazards], dtype=np.int64)
        lag_a = np.where(n_later >= 1, lag_a, 0.0)
        lag_b = np.where(n_later >= 2, lag_b, 0.0)
        month, lag_a, lag_b = _going_on(
            again,
            month,
            (month >= w) & worked,
            age,
            lag_a,
            lag_b,
            settings,
            pace_rng,
        )
    else:
        lag_a = np.minimum(lag_a, TASKING_CAP_MONTHS // 2)
        lag_b = np.minimum(lag_b, TASKING_CAP_MONTHS // 2)
    days = (month + within) * DAYS_PER_MONTH
    da = (lag_a + lag_within[0]) * DAYS_PER_MONTH
    db = (lag_b + lag_within[1]) * DAYS_PER_MONTH
    return (
        {h: float(d) for h, d in zip(hazards, days, strict=True)},
        {h: (float(x), float(y)) for h, x, y in zip(hazards, da, db, strict=True)},
    )


def _going_on(
    curve: npt.NDArray[np.float64],
    month: npt.NDArray[np.float64],
    queued: npt.NDArray[np.bool_],
    age: npt.NDArray[np.int64],
    lag_a: npt.NDArray[np.float64],
    lag_b: npt.NDArray[np.float64],
    settings: ForecastSettings,
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Take-up months of the hazards already worked on that are still waiting (``queued``)
    and the later stages' lags (months) still waiting after ``pace_after_months``, served at
    the observed going-on pace (inf: never, with a pace of 0).

    One queue: a waiting hazard joins it when the record's months end, a later stage
    ``pace_after_months`` after the previous stage was taken up (the stage's end is not
    known before planning: its start stands for it). Each month a count is drawn (Poisson
    around ``pace_again_per_month`` x a lognormal month factor) and that many waiting entries
    are served, weighted by the curve at the months they have waited.

    >>> s = ForecastSettings(pace=True, pace_again_per_month=5.0)
    >>> m, a, b = _going_on(np.asarray([0.4, 0.01]), np.asarray([20.0, 0.0]),
    ...     np.asarray([True, False]), np.zeros(2, dtype=np.int64), np.asarray([30.0, 1.0]),
    ...     np.asarray([30.0, 2.0]), s, np.random.default_rng(0))
    >>> bool(m[0] >= 12 and a[0] >= 12 and b[0] >= 12), float(a[1]), float(b[1])
    (True, 1.0, 2.0)
    """
    w = settings.pace_after_months
    n = month.size
    top = curve.size - 1
    positive = curve[curve > 0]
    weights = np.where(curve > 0, curve, float(positive.min()) if positive.size else 1.0)
    need = np.concatenate([queued, lag_a >= w, lag_b >= w])
    arrive = np.full(3 * n, np.inf)
    waited0 = np.concatenate([age + w, np.full(2 * n, w)])
    served = np.full(3 * n, np.inf)
    month, lag_a, lag_b = month.copy(), lag_a.copy(), lag_b.copy()
    t0 = np.where(queued, np.inf, month)  # take-up month when known
    t1 = np.full(n, np.inf)  # month the second stage is taken up, when known
    arrive[:n][queued] = w

    def taken_up(i: npt.NDArray[np.int64], t: npt.NDArray[np.float64]) -> None:
        t0[i] = t
        a = need[n + i]
        arrive[n + i[a]] = t[a] + w
        second_taken(i[~a], t[~a] + lag_a[i[~a]])

    def second_taken(i: npt.NDArray[np.int64], t: npt.NDArray[np.float64]) -> None:
        t1[i] = t
        b = need[2 * n + i]
        arrive[2 * n + i[b]] = t[b] + w

    known = np.flatnonzero(~queued & np.isfinite(month))
    taken_up(known, month[known])
    if settings.pace_again_per_month > 0:
        sg = settings.pace_again_sigma
        limit = settings.pace_months or PACE_MAX_MONTHS
        m = w
        while m < limit:
            waiting = need & np.isinf(served)
            if not (waiting & np.isfinite(arrive)).any():
                break
            ready = np.flatnonzero(waiting & (arrive <= m))
            factor = float(rng.lognormal(-sg * sg / 2, sg)) if sg > 0 else 1.0
            k = int(rng.poisson(settings.pace_again_per_month * factor))
            if k > 0 and ready.size:
                wt = weights[np.minimum(waited0[ready] + (m - arrive[ready]).astype(np.int64), top)]
                if k < ready.size:
                    key = np.log(rng.uniform(size=ready.size)) / wt
                    ready = ready[np.argpartition(-key, k - 1)[:k]]
                served[ready] = m
                kind, i = np.divmod(ready, n)
                t = np.full(i.size, float(m))
                taken_up(i[kind == 0], t[kind == 0])
                one = i[kind == 1]
                lag_a[one] = m - t0[one]
                second_taken(one, t[kind == 1])
                two = i[kind == 2]
                lag_b[two] = m - t1[two]
            m += 1
    month[queued] = served[:n][queued]
    lag_a[need[n : 2 * n] & np.isinf(served[n : 2 * n])] = np.inf
    lag_b[need[2 * n :] & np.isinf(served[2 * n :])] = np.inf
    return month, lag_a, lag_b


def _pace_months(
    curve: npt.NDArray[np.float64],
    age: npt.NDArray[np.int64],
    per_month: float,
    sigma: float,
    rng: np.random.Generator,
    new_per_month: float = 0.0,
    months: int = 0,
) -> npt.NDArray[np.float64]:
    """Month (from now) in which each waiting hazard is taken up at the observed pace (inf:
    not taken up: a pace of 0, or not within ``months`` / the planner's horizon).

    Each month a count is drawn (Poisson around ``per_month`` x a lognormal month factor of
    log-sigma ``sigma``) and that many hazards are taken from what is left (and from the
    newly reported hazards competing, ``new_per_month`` a month, not returned), weighted by
    the curve at their idle age then (weighted sampling without replacement,
    Efraimidis-Spirakis keys): the order the record shows.

    >>> rng = np.random.default_rng(0)
    >>> m = _pace_months(np.asarray([0.2]), np.zeros(30, dtype=np.int64), 10.0, 0.0, rng)
    >>> bool(np.isfinite(m).all()), int(m.max()) < 12
    (True, True)
    >>> bool(np.isinf(_pace_months(np.asarray([0.2]), np.zeros(3, dtype=np.int64), 0.0, 0.0,
    ...                            rng)).all())
    True
    """
    month = np.full(age.size, np.inf)
    if per_month <= 0 or age.size == 0:
        return month
    top = curve.size - 1
    positive = curve[curve > 0]
    weights = np.where(curve > 0, curve, float(positive.min()) if positive.size else 1.0)
    left = np.ones(age.size, dtype=bool)
    new_age = np.zeros(0, dtype=np.int64)
    limit = months or PACE_MAX_MONTHS
    m = 0
    while left.any() and m < limit:
        if new_per_month > 0:
            arrivals = int(rng.poisson(new_per_month))
            new_age = np.concatenate([new_age, np.zeros(arrivals, dtype=np.int64)])
        factor = float(rng.lognormal(-sigma * sigma / 2, sigma)) if sigma > 0 else 1.0
        k = int(rng.poisson(per_month * factor))
        idx = np.flatnonzero(left)
        w = np.concatenate(
            [weights[np.minimum(age[idx] + m, top)], weights[np.minimum(new_age, top)]]
        )
        if k > 0:
            if k < w.size:
                key = np.log(rng.uniform(size=w.size)) / w
                pick = np.argpartition(-key, k - 1)[:k]
            else:
                pick = np.arange(w.size)
            stock = pick[pick < idx.size]
            month[idx[stock]] = m
            left[idx[stock]] = False
            new_age = np.delete(new_age, pick[pick >= idx.size] - idx.size)
        new_age += 1
        m += 1
    return month


def _curve_months(
    curve: npt.NDArray[np.float64],
    age: npt.NDArray[np.int64],
    rng: np.random.Generator,
    tempo: npt.NDArray[np.float64],
) -> npt.NDArray[np.int64]:
    """Month (from now) in which each hazard is taken up, from its idle ``age``: month by
    month with the curve's probability for its age then (x the month's ``tempo``), after
    the curve's last age geometric at the last probability; at most TASKING_CAP_MONTHS
    (with the pace, months from ``pace_after_months`` on are replaced by the pace)."""
    month = np.full(age.size, -1, dtype=np.int64)
    top = curve.size - 1
    for m in range(top + 1):  # through the ages that have their own probability
        draw = rng.uniform(size=age.size)
        p = np.minimum(1.0, curve[np.minimum(age + m, top)] * tempo[m])
        month = np.where((month < 0) & (draw < p), m, month)
    left = month < 0  # the rest: geometric at the oldest age's probability
    tail = max(float(curve[top]), 1.0 / TASKING_CAP_MONTHS)
    month[left] = top + rng.geometric(tail, size=int(left.sum()))
    return np.minimum(month, TASKING_CAP_MONTHS)


def _history_months(
    problem: PlanningProblem, settings: ForecastSettings, rng: np.random.Generator, n_months: int
) -> list[int]:
    """History month index for each forecast month (seasonal block bootstrap).

    For each block of consecutive months one season shift (-1, 0, +1 month) and one history
    year are drawn; each month then takes the history month of its calendar month + shift
    (any month when the history has none).
    """
    n_hist = min((len(v) for _, v in settings.utilisation_months), default=len(settings.inflow))
    if n_hist == 0:
        return []
    block = max(1, settings.utilisation_block_months)
    first = problem.start.replace(day=1)
    if settings.utilisation_first_month:
        first_hist = settings.utilisation_first_month[1]
        cal_month = [(first_hist - 1 + i) % 12 for i in range(n_hist)]
    else:  # no dates: every history month is a candidate for every month
        cal_month = [0] * n_hist
    by_cal: dict[int, list[int]] = {}
    for i, c in enumerate(cal_month):
        by_cal.setdefault(c, []).append(i)
    everything = list(range(n_hist))
    idx: list[int] = []
    while len(idx) < n_months:
        shift = int(rng.integers(-1, 2))
        pick = float(rng.uniform())
        for _ in range(block):
            c = (first.month - 1 + len(idx) + shift) % 12 if settings.utilisation_first_month else 0
            cands = by_cal.get(c) or everything
            idx.append(cands[int(pick * len(cands))])
    return idx[:n_months]


def _month_start(first: dt.date, m: int) -> dt.date:
    """First day of the ``m``-th month after the month of ``first`` (a first day)."""
    y, mo = divmod(first.month - 1 + m, 12)
    return dt.date(first.year + y, mo + 1, 1)


def _capacity_paths(
    problem: PlanningProblem, settings: ForecastSettings, idx: Sequence[int]
) -> dict[AssetClass, tuple[float, tuple[Closure, ...]]]:
    """Per asset class: rate multiplier and monthly availability of one sampled capacity path.

    ``idx`` gives the history month of each forecast month (:func:`_history_months`, one
    draw for all classes keeps them correlated). A month's factor is its utilisation / the
    utilisation already in the rates; the largest factor becomes a rate multiplier and each
    month an availability of factor / largest (in [0, 1]).
    """
    hist = {AssetClass(a): np.asarray(v, dtype=np.float64) for a, v in settings.utilisation_months}
    hist = {a: v for a, v in hist.items() if v.size and v.max() > 0}
    if not hist or not idx:
        return {}
    applied = {AssetClass(a): float(u) for a, u in settings.utilisation_applied}
    first = problem.start.replace(day=1)
    out: dict[AssetClass, tuple[float, tuple[Closure, ...]]] = {}
    # ceiling (with the work selection): per month, at least the calendar at the reported
    # rates, more where any class worked more days than the calendar allows in that season
    ceiling = np.maximum.reduce(
        [np.ones(len(idx))]
        + [_seasonal_ceiling(u, settings, first.month, len(idx)) for u in hist.values()]
    )
    for asset, u in hist.items():
        base = applied.get(asset, float(u.mean()))
        if base <= 0:
            continue
        factors = u[list(idx)] / base
        if settings.capacity_ceiling:
            factors = ceiling / base
        top = float(factors.max())
        closures = []
        for m, f in enumerate(factors.tolist()):
            if f >= top:
                continue
            m0 = _month_start(first, m)
            m1 = _month_start(first, m + 1) - dt.timedelta(days=1)
            closures.append(Closure(m0, m1, f / top, "capacity (sampled month)"))
        out[asset] = (top, tuple(closures))
    return out


def _seasonal_ceiling(
    u: npt.NDArray[np.float64], settings: ForecastSettings, first_month: int, n: int
) -> npt.NDArray[np.float64]:
    """Per forecast month: the highest utilisation of the history months of the same season
    (calendar month -1, 0, +1), i.e. the most the programme has shown it can do then.

    >>> s = ForecastSettings(utilisation_first_month=(2025, 1))
    >>> _seasonal_ceiling(np.arange(1.0, 13.0), s, 1, 3).tolist()
    [12.0, 3.0, 4.0]
    """
    if not settings.utilisation_first_month:
        return np.full(n, float(u.max()))
    first_hist = settings.utilisation_first_month[1]
    cal = np.asarray([(first_hist - 1 + i) % 12 for i in range(u.size)])
    out = np.empty(n)
    for m in range(n):
        c = (first_month - 1 + m) % 12
        near = np.isin(cal, [(c - 1) % 12, c, (c + 1) % 12])
        out[m] = float(u[near].max()) if near.any() else float(u.max())
    return out


def _inflow(
    problem: PlanningProblem, settings: ForecastSettings, idx: Sequence[int]
) -> list[WorkPackage]:
    """New hazards reported during the forecast: for each of the first ``inflow_months``
    months, the work packages of the hazards first reported in its history month, released
    on the same day of the month (ids and hazard ids suffixed with ``@month``)."""
    if not settings.inflow or not idx:
        return []
    first = problem.start.replace(day=1)
    out: list[WorkPackage] = []
    for m in range(min(settings.inflow_months, len(idx))):
        h = idx[m]
        if h >= len(settings.inflow):
            continue
        month0 = (_month_start(first, m) - problem.start).days
        for p in settings.inflow[h]:
            day = max(0.0, month0 + p.release_day)
            out.append(
                dataclasses.replace(
                    p, id=f"{p.id}@{m}", hazard_id=f"{p.hazard_id}@{m}", release_day=day
                )
            )
    return out


def forecast(
    problem: PlanningProblem, settings: ForecastSettings | None = None, keep_stages: bool = False
) -> Forecast:
    """Monte Carlo completion forecast (re-plans each sample; reproducible with the seed).

    >>> from mineaction.core.planning.generate import generate_problem
    >>> f = forecast(generate_problem(30, seed=2), ForecastSettings(samples=8, seed=1))
    >>> p10, p50, p90 = f.percentiles()
    >>> p10 <= p50 <= p90
    True
    """
    settings = settings or ForecastSettings()
    base = dispatch_schedule(compile_problem(problem))
    horizon = int(base.end.max() * 2) + 365
    regions = problem.regions()
    pkg_region = np.asarray([regions.index(p.region) for p in problem.packages])
    n_pk = len(problem.packages)
    pkg_days = np.zeros((settings.samples, n_pk))
    objective = np.zeros(settings.samples)
    shape = (settings.samples, n_pk, len(STAGE_ORDER)) if keep_stages else (0, 0, 0)
    stage_end = np.full(shape, np.nan, dtype=np.float32)
    stage_rel = np.zeros(shape, dtype=np.float32)
    stage_ix = {st: i for i, st in enumerate(STAGE_ORDER)}
    pkg_index = {p.id: i for i, p in enumerate(problem.packages)}
    for k in range(settings.samples):
        variant = _sample_problem(problem, settings, k, horizon)
        # packages never taken up at the observed pace are left out of the variant: no date
        kept = np.asarray(
            [pkg_index.get(p.id, -1) for p in variant.packages[:n_pk]], dtype=np.int64
        )
        kept = kept[: int(np.argmin(kept >= 0)) if (kept < 0).any() else kept.size]
        n_kept = kept.size
        inst = compile_problem(variant)
        plan = dispatch_schedule(inst)
        if settings.local_search_moves > 0 and not inst.op_lag.size:  # lags: dispatch only
            plan = local_search(plan, time_limit=1e9, max_moves=settings.local_search_moves, seed=k)
        known = inst.op_pkg < n_kept  # sampled new hazards (inflow) are not reported on
        pkg_days[k] = np.inf
        pkg_days[k, kept] = plan.completion()[:n_kept]
        objective[k] = float(inst.op_weight[known] @ plan.end[known])
        if keep_stages:
            cols = np.asarray([stage_ix[st] for st in inst.op_stage], dtype=np.int64)
            rows = kept[inst.op_pkg[known]]
            stage_end[k, rows, cols[known]] = plan.end[known]
            stage_rel[k, rows, cols[known]] = inst.op_released[known]
    region_days = {}
    for g, name in enumerate(regions):
        cols = pkg_region == g
        if cols.any():
            region_days[name] = pkg_days[:, cols].max(axis=1)
    return Forecast(
        start=problem.start,
        regions=tuple(region_days),
        package_days=pkg_days,
        region_days=region_days,
        programme_days=pkg_days.max(axis=1),
        objective=objective,
        settings=settings,
        stage_end=stage_end if keep_stages else None,
        stage_released=stage_rel if keep_stages else None,
        package_region=pkg_region if keep_stages else None,
        all_regions=regions,
    )


def _saved(before: float, after: float) -> float:
    """Days earlier (0 when neither completes: no date either way; inf when only the team
    makes it complete).

    >>> _saved(100.0, 90.0), _saved(float("inf"), float("inf"))
    (10.0, 0.0)
    """
    if not (np.isfinite(before) or np.isfinite(after)):
        return 0.0
    return float(before - after)


@dataclass(frozen=True)
class MarginalEffect:
    """Effect of one more team of an asset class (same samples, common random numbers)."""

    asset: AssetClass
    p50_days_saved: float  # programme P50 completion, days earlier
    p90_days_saved: float
    objective_saved_share: float  # relative drop of mean sum weight x completion


def marginal_team_effects(
    problem: PlanningProblem,
    settings: ForecastSettings | None = None,
    assets: Sequence[AssetClass] | None = None,
    baseline: Forecast | None = None,
) -> list[MarginalEffect]:
    """For each asset class: forecast again with one more team of that class."""
    settings = settings or ForecastSettings()
    base = baseline or forecast(problem, settings)
    out = []
    present = [a for a in AssetClass if any(t.asset is a for t in problem.teams)]
    for asset in assets or present:
        like = [t for t in problem.teams if t.asset is asset]
        homes = [t.home_region for t in like] or [problem.regions()[0]]
        home = max(set(homes), key=homes.count)
        extra = Team(f"extra-{asset.value}", asset, home, dict(like[0].rates) if like else {})
        more = forecast(dataclasses.replace(problem, teams=problem.teams + (extra,)), settings)
        with np.errstate(invalid="ignore"):  # samples without a date (inf) interpolate to nan
            q_base = np.percentile(base.programme_days, [50, 90])
            q_more = np.percentile(more.programme_days, [50, 90])
        out.append(
            MarginalEffect(
                asset,
                _saved(float(q_base[0]), float(q_more[0])),
                _saved(float(q_base[1]), float(q_more[1])),
                float(1.0 - more.objective.mean() / base.objective.mean())
                if base.objective.mean() > 0
                else 0.0,
            )
        )
    return out

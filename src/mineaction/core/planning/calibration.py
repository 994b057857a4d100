"""Calibration of planning inputs from the programme's own approved reports (pure, no I/O).

Two things are fitted:

* **Release ratios per stage**: of the area that entered NTS, the share cancelled; of the area
  that entered TS, the share reduced (the rest goes on to clearance, which clears all of what
  enters it). They are measured on *completed* hazards (SHA/CHA closed or handed over, all
  land released), area-weighted, because only there is the outcome of every stage known.
  The planner's :class:`ReleaseRatios` follow from the two shares:
  cancelled = s_nts, reduced = (1 - s_nts) s_ts, cleared = (1 - s_nts)(1 - s_ts).
* **Productivity**: m² released per team-day of each activity report (progress or
  completion) that states its team-days, by asset class and terrain class. The planning rate
  is the ratio estimator (sum of m² / sum of team-days); a lognormal is fitted to the
  per-report rates (mu, sigma of the log) for the forecast.

Too little history falls back to the documented defaults of :mod:`.model` (planning.md):
at least :data:`MIN_HAZARDS_PER_STAGE` completed hazards per stage share and
:data:`MIN_REPORTS_PER_RATE` reports per (asset class, terrain) cell are needed.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from statistics import NormalDist
from typing import Any

from mineaction.core.planning.model import (
    DEFAULT_RATES_M2_PER_DAY,
    DEFAULT_RELEASE,
    DEFAULT_TERRAINS,
    AssetClass,
    ReleaseRatios,
)

#: Completed hazards that went through a stage needed before its share is fitted.
MIN_HAZARDS_PER_STAGE = 10
#: Activity reports with team-days needed per (asset class, terrain) before a rate is fitted.
MIN_REPORTS_PER_RATE = 8
#: Log-sigma used for cells without enough reports (the forecast's prior, planning.md 4.1).
DEFAULT_LOG_SIGMA = 0.3

#: Teams (with at least :data:`MIN_REPORTS_PER_TEAM` reports in a cell) needed to fit the
#: spread between teams, and the prior used otherwise (forecast default).
MIN_TEAMS_FOR_SPREAD = 3
MIN_REPORTS_PER_TEAM = 3
DEFAULT_TEAM_SIGMA = 0.2

#: Default share of the area entering NTS that is cancelled, and of TS that is reduced.
DEFAULT_NTS_SHARE = DEFAULT_RELEASE.cancelled
DEFAULT_TS_SHARE = DEFAULT_RELEASE.reduced / (DEFAULT_RELEASE.reduced + DEFAULT_RELEASE.cleared)

#: Words in an activity report's assets/method that name an asset class (clearance reports).
ASSET_WORDS: Mapping[str, AssetClass] = {
    "manual": AssetClass.MANUAL,
    "deminer": AssetClass.MANUAL,
    "mdd": AssetClass.DOGS,
    "dog": AssetClass.DOGS,
    "dogs": AssetClass.DOGS,
    "mechanical": AssetClass.MECHANICAL,
    "machine": AssetClass.MECHANICAL,
    "flail": AssetClass.MECHANICAL,
    "tiller": AssetClass.MECHANICAL,
}

#: Terrain words accepted in a hazard's details (``terrain``); others are mapped to these.
TERRAIN_WORDS: Mapping[str, str] = {
    "open": "open",
    "flat": "open",
    "agricultural": "open",
    "vegetated": "vegetated",
    "forest": "vegetated",
    "woodland": "vegetated",
    "scrub": "vegetated",
    "steep": "steep",
    "mountain": "steep",
    "hill": "steep",
}


def terrain_of(details: Mapping[str, Any] | None, blockages: Sequence[str] = ()) -> str:
    """Terrain class of a hazard: its recorded ``terrain``, else from blocked land use.

    >>> terrain_of({"terrain": "Forest"})
    'vegetated'
    >>> terrain_of({}, ["agricultural land", "forest"])
    'vegetated'
    >>> terrain_of(None, ["road"])
    'open'
    """
    recorded = str((details or {}).get("terrain") or "").strip().lower()
    if recorded in TERRAIN_WORDS:
        return TERRAIN_WORDS[recorded]
    words = " ".join(blockages).lower()
    if any(w in words for w in ("forest", "woodland", "scrub")):
        return "vegetated"
    if any(w in words for w in ("mountain", "steep")):
        return "steep"
    return "open"


def asset_of(activity_type: str, assets: Sequence[str], method: str | None) -> AssetClass | None:
    """Asset class of an activity report (None when it has no planning class: BAC, EOD).

    >>> asset_of("CLEARANCE", ["mdd"], None)
    <AssetClass.DOGS: 'dogs'>
    >>> asset_of("NTS", [], None)
    <AssetClass.NTS: 'nts'>
    >>> asset_of("BAC", ["bac"], "bac") is None
    True
    """
    kind = activity_type.upper()
    if kind == "NTS":
        return AssetClass.NTS
    if kind == "TS":
        return AssetClass.TS
    if kind != "CLEARANCE":
        return None
    for word in [*assets, method or ""]:
        for token in str(word).lower().replace("-", " ").replace("_", " ").split():
            if token in ASSET_WORDS:
                return ASSET_WORDS[token]
    return None


@dataclass(frozen=True)
class ActivityRecord:
    """What calibration needs from one approved activity report."""

    report_id: str
    hazard_id: str
    activity_type: str
    asset: AssetClass | None
    terrain: str
    team_days: float | None
    released_m2: float
    end: date | None = None
    team: str | None = None
    start: date | None = None


@dataclass(frozen=True)
class HazardOutcome:
    """Land-release totals of one hazard and which stages worked on it."""

    hazard_id: str
    completed: bool
    cancelled_m2: float
    reduced_m2: float
    cleared_m2: float
    activity_types: frozenset[str] = frozenset()


@dataclass(frozen=True)
class StageShare:
    """Fitted (or default) share of the area entering a stage that the stage releases."""

    stage: str
    share: float
    hazards: int
    area_in_m2: float
    fitted: bool


@dataclass(frozen=True)
class RateFit:
    """Productivity of one asset class on one terrain class (m² per team-day)."""

    asset: AssetClass
    terrain: str
    rate: float
    reports: int
    team_days: float
    mu: float  # mean of log(rate per report)
    sigma: float  # standard deviation of log(rate per report)
    fitted: bool

    @property
    def median(self) -> float:
        """Median of the fitted lognormal."""
        return math.exp(self.mu)

    def quantile(self, q: float) -> float:
        """A quantile of the fitted lognormal .

        >>> round(RateFit(AssetClass.MANUAL, "open", 100, 0, 0, math.log(100), 0.0, False).quantile(0.9))
        100
        """
        return math.exp(self.mu + self.sigma * _probit(q))


def _probit(q: float) -> float:
    """Inverse standard normal CDF."""
    return NormalDist().inv_cdf(q)


@dataclass(frozen=True)
class Calibration:
    """Calibrated planning inputs with how much history each value rests on."""

    nts: StageShare
    ts: StageShare
    rates: tuple[RateFit, ...]
    completed_hazards: int
    activity_reports: int
    excluded: Mapping[str, int] = field(default_factory=dict)
    cut_off: date | None = None
    team_sigma: float = DEFAULT_TEAM_SIGMA
    teams_compared: int = 0

    @property
    def release(self) -> ReleaseRatios:
        """Expected release ratios of a suspected area entering NTS (planner input).

        >>> default_calibration().release == DEFAULT_RELEASE
        True
        """
        c = self.nts.share
        r = (1.0 - c) * self.ts.share
        return ReleaseRatios(round(c, 9), round(r, 9), round(1.0 - c - r, 9))

    def rate(self, asset: AssetClass, terrain: str) -> float:
        """Planning rate of an asset class on a terrain (default when not fitted)."""
        for f in self.rates:
            if f.asset is asset and f.terrain == terrain:
                return f.rate
        return float(DEFAULT_RATES_M2_PER_DAY[asset].get(terrain, 0.0))

    def rates_for(self, asset: AssetClass) -> dict[str, float]:
        """Rates of an asset class by terrain."""
        terrains = sorted({f.terrain for f in self.rates} | set(DEFAULT_TERRAINS))
        return {t: self.rate(asset, t) for t in terrains}

    def log_sigma(self) -> float:
        """Pooled log-sigma of the fitted cells (the prior when none is fitted).

        >>> default_calibration().log_sigma()
        0.3
        """
        fits = [f for f in self.rates if f.fitted and f.reports > 1]
        dof = sum(f.reports - 1 for f in fits)
        if dof == 0:
            return DEFAULT_LOG_SIGMA
        return round(math.sqrt(sum((f.reports - 1) * f.sigma**2 for f in fits) / dof), 6)

    def as_dict(self) -> dict[str, Any]:
        """JSON-compatible form (stored with a plan, exported, shown)."""
        rel = self.release
        return {
            "cut_off": self.cut_off.isoformat() if self.cut_off else None,
            "completed_hazards": self.completed_hazards,
            "activity_reports": self.activity_reports,
            "min_hazards_per_stage": MIN_HAZARDS_PER_STAGE,
            "min_reports_per_rate": MIN_REPORTS_PER_RATE,
            "stages": [_share_dict(self.nts), _share_dict(self.ts)],
            "release": {"cancelled": rel.cancelled, "reduced": rel.reduced, "cleared": rel.cleared},
            "log_sigma": self.log_sigma(),
            "team_log_sigma": self.team_sigma,
            "teams_compared": self.teams_compared,
            "rates": [
                {
                    "asset": f.asset.value,
                    "terrain": f.terrain,
                    "rate_m2_per_team_day": round(f.rate, 3),
                    "reports": f.reports,
                    "team_days": round(f.team_days, 2),
                    "lognormal_mu": round(f.mu, 6),
                    "lognormal_sigma": round(f.sigma, 6),
                    "p10": round(f.quantile(0.1), 3) if f.rate > 0 else 0.0,
                    "p50": round(f.median, 3) if f.rate > 0 else 0.0,
                    "p90": round(f.quantile(0.9), 3) if f.rate > 0 else 0.0,
                    "source": "fitted" if f.fitted else "default",
                }
                for f in self.rates
            ],
            "excluded": dict(self.excluded),
        }


def _share_dict(s: StageShare) -> dict[str, Any]:
    return {
        "stage": s.stage,
        "share_released": round(s.share, 6),
        "hazards": s.hazards,
        "area_in_m2": round(s.area_in_m2, 1),
        "source": "fitted" if s.fitted else "default",
    }


def default_calibration(cut_off: date | None = None) -> Calibration:
    """Calibration with no history: every value is a documented default."""
    return calibrate([], [], cut_off=cut_off)


def calibrate(
    hazards: Iterable[HazardOutcome],
    activities: Iterable[ActivityRecord],
    *,
    cut_off: date | None = None,
    min_hazards: int = MIN_HAZARDS_PER_STAGE,
    min_reports: int = MIN_REPORTS_PER_RATE,
) -> Calibration:
    """Fit stage release shares and productivity from approved history.

    >>> hz = [HazardOutcome(f"H{i}", True, 300.0, 200.0, 500.0, frozenset({"NTS", "TS"}))
    ...       for i in range(10)]
    >>> acts = [ActivityRecord(f"R{i}", "H", "CLEARANCE", AssetClass.MANUAL, "open", 2.0, 2.0 * r)
    ...         for i, r in enumerate([100, 100, 200, 200, 100, 100, 200, 200])]
    >>> cal = calibrate(hz, acts)
    >>> cal.nts.share, round(cal.ts.share, 4), cal.release.cleared
    (0.3, 0.2857, 0.5)
    >>> cal.rate(AssetClass.MANUAL, "open")
    150.0
    """
    n_nts = n_ts = n_done = 0
    nts_in = nts_out = ts_in = ts_out = 0.0
    for h in hazards:
        if not h.completed:
            continue
        total = h.cancelled_m2 + h.reduced_m2 + h.cleared_m2
        if total <= 0:
            continue
        n_done += 1
        if "NTS" in h.activity_types:
            n_nts += 1
            nts_in += total
            nts_out += h.cancelled_m2
        if "TS" in h.activity_types:
            n_ts += 1
            ts_in += h.reduced_m2 + h.cleared_m2
            ts_out += h.reduced_m2
    nts_fit = n_nts >= min_hazards and nts_in > 0
    ts_fit = n_ts >= min_hazards and ts_in > 0
    nts = StageShare(
        "nts", nts_out / nts_in if nts_fit else DEFAULT_NTS_SHARE, n_nts, nts_in, nts_fit
    )
    ts = StageShare("ts", ts_out / ts_in if ts_fit else DEFAULT_TS_SHARE, n_ts, ts_in, ts_fit)

    cells: dict[tuple[AssetClass, str], list[tuple[float, float]]] = {}
    excluded: dict[str, int] = {}
    per_team: dict[tuple[AssetClass, str, str], list[tuple[float, float]]] = {}
    n_act = 0
    for a in activities:
        n_act += 1
        if a.asset is None:
            key = f"no planning asset class ({a.activity_type})"
            excluded[key] = excluded.get(key, 0) + 1
            continue
        if not a.team_days or a.team_days <= 0:
            excluded["no team-days"] = excluded.get("no team-days", 0) + 1
            continue
        if a.released_m2 <= 0:
            excluded["no area released"] = excluded.get("no area released", 0) + 1
            continue
        cells.setdefault((a.asset, a.terrain), []).append((a.released_m2, float(a.team_days)))
        if a.team:
            per_team.setdefault((a.asset, a.terrain, a.team), []).append(
                (a.released_m2, float(a.team_days))
            )
    terrains = sorted({t for _, t in cells} | set(DEFAULT_TERRAINS))
    fits: list[RateFit] = []
    for asset in AssetClass:
        for terrain in terrains:
            obs = cells.get((asset, terrain), [])
            days = sum(d for _, d in obs)
            default = float(DEFAULT_RATES_M2_PER_DAY[asset].get(terrain, 0.0))
            if len(obs) >= min_reports and days > 0:
                logs = [math.log(m2 / d) for m2, d in obs]
                mu = sum(logs) / len(logs)
                sd = math.sqrt(sum((x - mu) ** 2 for x in logs) / (len(logs) - 1))
                rate = sum(m2 for m2, _ in obs) / days
                fits.append(RateFit(asset, terrain, rate, len(obs), days, mu, sd, True))
            else:
                mu = math.log(default) if default > 0 else 0.0
                fits.append(
                    RateFit(asset, terrain, default, len(obs), days, mu, DEFAULT_LOG_SIGMA, False)
                )
    team_sigma, n_teams = _team_spread(per_team)
    return Calibration(nts, ts, tuple(fits), n_done, n_act, excluded, cut_off, team_sigma, n_teams)


def _team_spread(
    per_team: Mapping[tuple[AssetClass, str, str], list[tuple[float, float]]],
) -> tuple[float, int]:
    """Pooled log-sigma of team rates around their cell's mean (spread between teams).

    >>> obs = {(AssetClass.MANUAL, "open", t): [(r * 3, 3.0)] * 3
    ...        for t, r in (("a", 100), ("b", 200), ("c", 400))}
    >>> s, n = _team_spread(obs)
    >>> round(s, 4), n
    (0.6931, 3)
    """
    groups: dict[tuple[AssetClass, str], list[float]] = {}
    for (asset, terrain, _team), obs in per_team.items():
        days = sum(d for _, d in obs)
        if len(obs) >= MIN_REPORTS_PER_TEAM and days > 0:
            groups.setdefault((asset, terrain), []).append(
                math.log(sum(m2 for m2, _ in obs) / days)
            )
    ss = 0.0
    dof = 0
    teams = 0
    for logs in groups.values():
        if len(logs) < MIN_TEAMS_FOR_SPREAD:
            continue
        mu = sum(logs) / len(logs)
        ss += sum((x - mu) ** 2 for x in logs)
        dof += len(logs) - 1
        teams += len(logs)
    if dof == 0:
        return DEFAULT_TEAM_SIGMA, 0
    return round(math.sqrt(ss / dof), 6), teams


#: Activity reports of a class in the window needed before its utilisation is fitted.
MIN_REPORTS_FOR_UTILISATION = 8
#: Lowest utilisation applied (a class that history shows almost idle still plans in years,
#: not centuries; the fitted value is reported as it is).
MIN_UTILISATION = 0.05


@dataclass(frozen=True)
class Utilisation:
    """Share of the teams' workable time that history shows spent on reported land release."""

    asset: AssetClass
    value: float
    reports: int
    team_days: float
    capacity_team_days: float
    fitted: bool


def utilisation(
    activities: Iterable[ActivityRecord],
    team_counts: Mapping[AssetClass, int],
    workable_days: float,
    start: date,
    end: date,
    *,
    min_reports: int = MIN_REPORTS_FOR_UTILISATION,
) -> dict[AssetClass, Utilisation]:
    """Reported team-days in [start, end] / (teams x workable days), per class, in [0.05, 1].

    Teams are not on land release every workable day (mobilisation, QM, stand-downs, no
    tasking); scaling rates by this share makes elapsed times match the programme's record.
    Classes with fewer than ``min_reports`` reports in the window keep 1.0 (not fitted).

    >>> acts = [ActivityRecord(f"R{i}", "H", "NTS", AssetClass.NTS, "open", 5.0, 1.0, date(2025, 6, 1))
    ...         for i in range(10)]
    >>> u = utilisation(acts, {AssetClass.NTS: 2}, 100.0, date(2025, 1, 1), date(2025, 12, 31))
    >>> u[AssetClass.NTS].value, u[AssetClass.NTS].fitted
    (0.25, True)
    """
    days: dict[AssetClass, float] = {}
    count: dict[AssetClass, int] = {}
    for a in activities:
        if a.asset is None or not a.team_days or a.end is None or not start <= a.end <= end:
            continue
        days[a.asset] = days.get(a.asset, 0.0) + float(a.team_days)
        count[a.asset] = count.get(a.asset, 0) + 1
    out: dict[AssetClass, Utilisation] = {}
    for asset, n in team_counts.items():
        cap = n * workable_days
        k = count.get(asset, 0)
        d = days.get(asset, 0.0)
        if k >= min_reports and cap > 0 and d > 0:
            value = round(min(1.0, max(MIN_UTILISATION, d / cap)), 6)
            out[asset] = Utilisation(asset, value, k, d, cap, True)
        else:
            out[asset] = Utilisation(asset, 1.0, k, d, cap, False)
    return out


def monthly_utilisation(
    activities: Iterable[ActivityRecord],
    team_counts: Mapping[AssetClass, int],
    months: Sequence[tuple[date, date, float]],
    cap: float = 1.0,
) -> dict[AssetClass, tuple[float, ...]]:
    """Utilisation of each asset class in each month of a window (capacity variation).

    ``months`` lists (first day, last day, workable days of the default calendar). An
    activity's team-days are spread evenly over its days (start to end, or its end day when
    the start is unknown), so a long clearance does not land in the month it was reported.
    Each value is team-days / (teams x workable days), capped at ``cap`` (above 1: the teams
    reported more days than the calendar says are workable - the calendar is too strict for
    this programme). The forecast resamples these months (seasonal block bootstrap) to draw
    capacity paths.

    >>> acts = [ActivityRecord("R", "H", "NTS", AssetClass.NTS, "open", 10.0, 1.0,
    ...                        date(2025, 2, 9), start=date(2025, 1, 31))]
    >>> months = [(date(2025, 1, 1), date(2025, 1, 31), 20.0),
    ...           (date(2025, 2, 1), date(2025, 2, 28), 20.0)]
    >>> monthly_utilisation(acts, {AssetClass.NTS: 1}, months)[AssetClass.NTS]
    (0.05, 0.45)
    """
    if not months:
        return {}
    first, last = months[0][0], months[-1][1]
    span = (last - first).days + 1
    per_day: dict[AssetClass, list[float]] = {}
    for a in activities:
        if a.asset is None or not a.team_days or a.end is None or a.asset not in team_counts:
            continue
        b = a.start if a.start is not None and a.start <= a.end else a.end
        days = (a.end - b).days + 1
        lo, hi = (b - first).days, (a.end - first).days
        if hi < 0 or lo >= span:
            continue
        row = per_day.setdefault(a.asset, [0.0] * span)
        share = float(a.team_days) / days
        for d in range(max(0, lo), min(span - 1, hi) + 1):
            row[d] += share
    out: dict[AssetClass, tuple[float, ...]] = {}
    for asset, row in per_day.items():
        n = team_counts.get(asset, 0)
        vals = []
        for m0, m1, workable in months:
            td = sum(row[(m0 - first).days : (m1 - first).days + 1])
            room = n * workable
            vals.append(round(min(cap, td / room), 6) if room > 0 else 0.0)
        out[asset] = tuple(vals)
    return out


# --- work selection: which hazards the programme works on, and when ----------------------

#: Idle ages (whole months since a hazard's last report or activity) fitted one by one; older
#: hazards share the last, pooled, probability.
TASKING_MAX_AGE_MONTHS = 12
#: Hazard-months at risk needed for an age to get its own probability; ages with fewer are
#: pooled with the next older ones.
MIN_AT_RISK_PER_AGE = 30


@dataclass(frozen=True)
class HazardHistory:
    """When a hazard was first reported, when it was worked on, and when it was closed."""

    hazard_id: str
    first: date
    events: tuple[date, ...] = ()  # start dates of approved activities that released land
    closed_on: date | None = None
    ends: tuple[date, ...] = ()  # their end dates (the hazard is not idle while worked on)


@dataclass(frozen=True)
class TaskingCurve:
    """Monthly probability that an open hazard gets worked on, by months idle (life table).

    ``probability[a]`` is the chance that a hazard idle for ``a`` whole months (since its
    first report or last activity) gets an approved activity in the next month; the last
    value holds for every older age. Fitted on the hazard-months of the window before the
    cut-off, with Jeffreys smoothing ((events + 0.5) / (at risk + 1)).
    """

    probability: tuple[float, ...]
    at_risk: tuple[int, ...]
    events: tuple[int, ...]
    window_months: int
    fitted: bool
    #: month-to-month log-sigma of the programme's tasking rate (observed / expected work
    #: starts per month, less the counting noise): how much busier or quieter a month is
    tempo_sigma: float = 0.0

    def p(self, age_months: int) -> float:
        """Probability of work in the next month at an idle age.

        >>> TaskingCurve((0.5, 0.1), (10, 10), (5, 1), 12, True).p(7)
        0.1
        """
        return self.probability[min(max(age_months, 0), len(self.probability) - 1)]

    def as_dict(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return {
            "probability_by_idle_month": [round(x, 6) for x in self.probability],
            "hazard_months_at_risk": list(self.at_risk),
            "activities": list(self.events),
            "window_months": self.window_months,
            "tempo_log_sigma": round(self.tempo_sigma, 6),
            "source": "fitted" if self.fitted else "none",
        }


def months_idle(history: HazardHistory, day: date) -> int:
    """Whole months (30.44 days) since the hazard's first report or last activity (start or
    end) before ``day``.

    >>> months_idle(HazardHistory("H", date(2025, 1, 1), (date(2025, 3, 1),)), date(2025, 6, 1))
    3
    """
    last = max([history.first, *(e for e in (*history.events, *history.ends) if e < day)])
    return max(0, int((day - last).days / 30.44))


def tasking_curve(
    histories: Iterable[HazardHistory],
    window: Sequence[tuple[date, date]],
    *,
    max_age: int = TASKING_MAX_AGE_MONTHS,
    min_at_risk: int = MIN_AT_RISK_PER_AGE,
    worked: bool | None = None,
) -> TaskingCurve:
    """Fit the monthly probability of work by idle age from the months of ``window``.

    ``window`` lists (first day, last day) of the months used (all before the cut-off). A
    hazard is at risk in a month when it was reported before the month began and was not
    closed by then; its idle age is :func:`months_idle` at the month's first day; an event is
    an activity starting in the month. Ages with fewer than ``min_at_risk`` hazard-months are
    pooled with the next older ages (the oldest pool takes whatever is left). ``worked``:
    only hazard-months of hazards never worked on before the month (False: when the
    programme first takes a hazard up) or already worked on (True: when it goes on with
    it); None: all.

    >>> hs = [HazardHistory(f"H{i}", date(2024, 12, 20), (date(2025, 1, 15),) if i < 20 else ())
    ...       for i in range(100)]
    >>> c = tasking_curve(hs, [(date(2025, 1, 1), date(2025, 1, 31))], max_age=1, min_at_risk=10)
    >>> c.events, c.at_risk, round(c.probability[0], 4)
    ((20, 0), (100, 0), 0.203)
    """
    n = max_age + 1
    risk = [0] * n
    hit = [0] * n
    per_month: list[tuple[list[int], int]] = [([0] * n, 0) for _ in window]
    for h in histories:
        for k, (m0, m1) in enumerate(window):
            if h.first >= m0 or (h.closed_on is not None and h.closed_on < m0):
                continue
            if worked is not None and worked != any(e < m0 for e in h.events):
                continue
            age = min(months_idle(h, m0), max_age)
            risk[age] += 1
            per_month[k][0][age] += 1
            if any(m0 <= e <= m1 for e in h.events):
                hit[age] += 1
                per_month[k] = (per_month[k][0], per_month[k][1] + 1)
    if sum(risk) == 0:
        return TaskingCurve((), tuple(risk), tuple(hit), len(window), False)
    probs: list[float] = [0.0] * n
    a = 0
    while a < n:  # pool young ages forward until each pool has enough hazard-months
        b, r, e = a, 0, 0
        while b < n:
            r += risk[b]
            e += hit[b]
            b += 1
            if r >= min_at_risk:
                break
        if r < min_at_risk and a > 0:  # too few left: share the previous pool's value
            probs[a:] = [probs[a - 1]] * (n - a)
            break
        probs[a:b] = [(e + 0.5) / (r + 1.0)] * (b - a)
        a = b
    tempo = _tempo_sigma(
        [(sum(c * p for c, p in zip(at, probs, strict=True)), e) for at, e in per_month]
    )
    return TaskingCurve(tuple(probs), tuple(risk), tuple(hit), len(window), True, tempo)


#: Expected work starts a month needs to count in the tempo fit.
MIN_EXPECTED_PER_MONTH = 5.0


def _tempo_sigma(months: Sequence[tuple[float, int]]) -> float:
    """Log-sigma of observed / expected work starts across months, less Poisson noise.

    ``months`` lists (expected, observed) per month. The variance of log((o + 0.5) /
    (x + 0.5)) across months minus the mean counting noise 1 / x; 0 when it is all noise.

    >>> round(_tempo_sigma([(100.0, 50), (100.0, 200), (100.0, 50), (100.0, 200)]), 2)
    0.79
    >>> _tempo_sigma([(100.0, 100), (100.0, 101), (100.0, 99)])
    0.0
    """
    use = [(x, o) for x, o in months if x >= MIN_EXPECTED_PER_MONTH]
    if len(use) < 3:
        return 0.0
    logs = [math.log((o + 0.5) / (x + 0.5)) for x, o in use]
    mu = sum(logs) / len(logs)
    var = sum((v - mu) ** 2 for v in logs) / (len(logs) - 1)
    noise = sum(1.0 / x for x, _ in use) / len(use)
    return math.sqrt(max(0.0, var - noise))


#: Never-worked hazards at risk a month needs to count in the pace fit (the first months of a
#: programme's record, with almost no stock, say nothing about its pace).
MIN_STOCK_PER_MONTH = 10


@dataclass(frozen=True)
class TakeUpPace:
    """How many never-worked hazards the programme takes up a month (its observed pace).

    ``counts[k]`` is the number of hazards never worked on before month k that got their first
    land-releasing activity in it (hazards reported before the month began and not closed),
    ``stock[k]`` how many were at risk and ``new[k]`` how many hazards were first reported in
    it; months with fewer than ``MIN_STOCK_PER_MONTH`` at risk are left out.
    """

    counts: tuple[int, ...]
    stock: tuple[int, ...]
    new: tuple[int, ...]
    fitted: bool

    @property
    def per_month(self) -> float:
        """Mean first take-ups a month (0 when nothing was taken up or nothing fitted).

        >>> TakeUpPace((10, 20, 30), (100, 100, 100), (5, 5, 5), True).per_month
        20.0
        """
        return sum(self.counts) / len(self.counts) if self.counts else 0.0

    @property
    def new_per_month(self) -> float:
        """Mean hazards first reported a month."""
        return sum(self.new) / len(self.new) if self.new else 0.0

    @property
    def sigma(self) -> float:
        """Month-to-month log-sigma of the count around its mean, less the counting noise.

        >>> TakeUpPace((50, 50, 50, 50), (99,) * 4, (0,) * 4, True).sigma
        0.0
        """
        return _tempo_sigma([(self.per_month, c) for c in self.counts])

    def as_dict(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return {
            "first_take_ups_per_month": round(self.per_month, 3),
            "month_log_sigma": round(self.sigma, 6),
            "counts": list(self.counts),
            "never_worked_at_risk": list(self.stock),
            "newly_reported": list(self.new),
            "new_per_month": round(self.new_per_month, 3),
            "source": "fitted" if self.fitted else "none",
        }


def take_up_pace(
    histories: Iterable[HazardHistory],
    window: Sequence[tuple[date, date]],
    *,
    min_stock: int = MIN_STOCK_PER_MONTH,
    worked: bool = False,
) -> TakeUpPace:
    """Fit the monthly number of first take-ups of never-worked hazards over ``window``
    (``worked``: of take-ups of hazards already worked on, i.e. going on with them).

    The same at-risk rule as :func:`tasking_curve` (reported before the month began, not
    closed by then, no land-releasing activity started before it - or one, with
    ``worked``); a take-up is an activity starting in the month. Not fitted when no month
    has ``min_stock`` hazards at risk.

    >>> hs = [HazardHistory(f"H{i}", date(2024, 12, 1), (date(2025, 1, 10 + i % 3),) if i < 12
    ...       else ()) for i in range(40)]
    >>> p = take_up_pace(hs, [(date(2025, 1, 1), date(2025, 1, 31))])
    >>> p.counts, p.stock, p.per_month
    ((12,), (40,), 12.0)
    """
    hs = list(histories)
    counts: list[int] = []
    stock: list[int] = []
    new: list[int] = []
    for m0, m1 in window:
        at_risk = [
            h
            for h in hs
            if h.first < m0
            and not (h.closed_on is not None and h.closed_on < m0)
            and any(e < m0 for e in h.events) == worked
        ]
        if len(at_risk) < min_stock:
            continue
        counts.append(sum(1 for h in at_risk if any(m0 <= e <= m1 for e in h.events)))
        stock.append(len(at_risk))
        new.append(sum(1 for h in hs if m0 <= h.first <= m1))
    return TakeUpPace(tuple(counts), tuple(stock), tuple(new), bool(counts))


def take_up_order_auc(
    histories: Iterable[HazardHistory],
    window: Sequence[tuple[date, date]],
    orders: Mapping[str, Callable[[HazardHistory, date], float]],
    *,
    min_stock: int = MIN_STOCK_PER_MONTH,
) -> dict[str, float | None]:
    """How well each candidate order explains which never-worked hazards were taken up.

    For each month of ``window`` (at-risk rule of :func:`take_up_pace`), hazards are scored by
    each order (higher = taken first; called with the hazard and the month's first day) and
    the AUC of taken-up against not taken up is computed (0.5: no better than random, 1: the
    order picks exactly the hazards taken up); the mean over months with both kinds.

    >>> hs = [HazardHistory(f"H{i}", date(2024, 12, i + 1), (date(2025, 1, 5),) if i >= 20
    ...       else ()) for i in range(30)]
    >>> take_up_order_auc(hs, [(date(2025, 1, 1), date(2025, 1, 31))],
    ...                   {"recent": lambda h, d: h.first.toordinal()}, min_stock=10)
    {'recent': 1.0}
    """
    hs = list(histories)
    sums: dict[str, list[float]] = {k: [] for k in orders}
    for m0, m1 in window:
        at_risk = [
            h
            for h in hs
            if h.first < m0
            and not (h.closed_on is not None and h.closed_on < m0)
            and not any(e < m0 for e in h.events)
        ]
        if len(at_risk) < min_stock:
            continue
        hit = [any(m0 <= e <= m1 for e in h.events) for h in at_risk]
        if all(hit) or not any(hit):
            continue
        for name, score in orders.items():
            sums[name].append(_auc([score(h, m0) for h in at_risk], hit))
    return {k: (round(sum(v) / len(v), 4) if v else None) for k, v in sums.items()}


def _auc(score: Sequence[float], hit: Sequence[bool]) -> float:
    """Mann-Whitney AUC of ``score`` for hits against misses (ties count one half).

    >>> _auc([3.0, 2.0, 1.0, 1.0], [True, False, True, False])
    0.625
    """
    pos = [s for s, h in zip(score, hit, strict=True) if h]
    neg = sorted(s for s, h in zip(score, hit, strict=True) if not h)
    total = 0.0
    for s in pos:
        below = bisect.bisect_left(neg, s)
        equal = bisect.bisect_right(neg, s) - below
        total += below + 0.5 * equal
    return total / (len(pos) * len(neg))

"""Planning inputs: work packages, teams, calendars, travel and environmental rules.

All values are plain frozen dataclasses (no I/O). Default rates and release ratios are
documented priors from the project's research note ``planning.md`` and must be replaced by
values calibrated from the programme's own approved reports when history exists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from mineaction.errors import ValidationError


class PlanningInputError(ValidationError):
    """A planning input is inconsistent (unknown region, team, negative area, ...)."""


class Stage(StrEnum):
    """Land-release stage of a work package, in chain order NTS -> TS -> clearance."""

    NTS = "nts"
    TS = "ts"
    CLEARANCE = "clearance"


STAGE_ORDER: tuple[Stage, ...] = (Stage.NTS, Stage.TS, Stage.CLEARANCE)


class AssetClass(StrEnum):
    """Asset class of a team (IMAS vocabulary)."""

    MANUAL = "manual"
    DOGS = "dogs"
    MECHANICAL = "mechanical"  # machine with its manual/dog follow-up, rated as one team
    TS = "ts"
    NTS = "nts"


#: Stages each asset class may work on by default.
ASSET_STAGES: Mapping[AssetClass, frozenset[Stage]] = {
    AssetClass.MANUAL: frozenset({Stage.CLEARANCE}),
    AssetClass.DOGS: frozenset({Stage.CLEARANCE}),
    AssetClass.MECHANICAL: frozenset({Stage.CLEARANCE}),
    AssetClass.TS: frozenset({Stage.TS}),
    AssetClass.NTS: frozenset({Stage.NTS}),
}

#: Terrain classes used by the defaults (planning.md Appendix A, E2-E7).
DEFAULT_TERRAINS: tuple[str, ...] = ("open", "vegetated", "steep")

#: Default rates in m2 per team-day by terrain; 0 means "not allowed".
#: Manual, MDD, mechanical and TS values are the illustrative priors of planning.md Appendix A
#: (E2-E7 table; consistent with section 4.1: manual 10-50 m2/deminer/day, two dogs 800-900
#: m2/day, machines "5,000 m2 per day" vendor claim). planning.md found no numeric NTS rate:
#: the NTS values here are an explicit, unverified assumption to be calibrated.
DEFAULT_RATES_M2_PER_DAY: Mapping[AssetClass, Mapping[str, float]] = {
    AssetClass.MANUAL: {"open": 400.0, "vegetated": 250.0, "steep": 150.0},
    AssetClass.DOGS: {"open": 1500.0, "vegetated": 800.0, "steep": 0.0},
    AssetClass.MECHANICAL: {"open": 5000.0, "vegetated": 2500.0, "steep": 0.0},
    AssetClass.TS: {"open": 3000.0, "vegetated": 1500.0, "steep": 600.0},
    AssetClass.NTS: {"open": 20000.0, "vegetated": 12000.0, "steep": 6000.0},
}


@dataclass(frozen=True)
class ReleaseRatios:
    """Expected shares of a suspected area that are cancelled (NTS), reduced (TS) and cleared.

    >>> DEFAULT_RELEASE.cleared
    0.44
    """

    cancelled: float
    reduced: float
    cleared: float

    def __post_init__(self) -> None:
        """Check that the shares are non-negative and sum to one."""
        parts = (self.cancelled, self.reduced, self.cleared)
        if min(parts) < 0 or abs(sum(parts) - 1.0) > 1e-6:
            raise PlanningInputError(
                f"release ratios {parts} must be >= 0 and sum to 1; fix the calibration input"
            )


#: Worldwide 2022 split of land released: 32% cancelled / 24% reduced / 44% cleared
#: (planning.md section 5.2, forecasting layer).
DEFAULT_RELEASE = ReleaseRatios(cancelled=0.32, reduced=0.24, cleared=0.44)


@dataclass(frozen=True)
class WorkPackage:
    """A piece of a hazardous area tasked as one unit (at most a few team-months)."""

    id: str
    hazard_id: str
    region: str
    area_m2: float
    terrain: str
    weight: float = 1.0
    first_stage: Stage = Stage.CLEARANCE
    release: ReleaseRatios = DEFAULT_RELEASE
    protected_area: bool = False
    near_water: bool = False
    mechanical_allowed: bool = False  # recorded exemption from the environmental rule
    #: day from which work may start (a hazard reported later, e.g. sampled new contamination)
    release_day: float = 0.0
    #: days each later stage of the chain waits after the previous stage ends (the forecast's
    #: work selection: the programme takes the hazard up again later); () = no wait
    stage_lags: tuple[float, ...] = ()

    def stage_areas(self) -> tuple[tuple[Stage, float], ...]:
        """Expected area (m2) worked by each remaining stage, in chain order.

        >>> WorkPackage("p", "h", "r", 1000.0, "open", first_stage=Stage.NTS).stage_areas()
        ((<Stage.NTS: 'nts'>, 1000.0), (<Stage.TS: 'ts'>, 680.0), (<Stage.CLEARANCE: 'clearance'>, 440.0))
        """
        a, r = self.area_m2, self.release
        if self.first_stage is Stage.NTS:
            out = [
                (Stage.NTS, a),
                (Stage.TS, a * (1 - r.cancelled)),
                (Stage.CLEARANCE, a * r.cleared),
            ]
        elif self.first_stage is Stage.TS:
            rest = r.reduced + r.cleared
            share = r.cleared / rest if rest > 0 else 0.0
            out = [(Stage.TS, a), (Stage.CLEARANCE, a * share)]
        else:
            out = [(Stage.CLEARANCE, a)]
        return tuple((s, round(x, 6)) for s, x in out if x > 0)

    def released_by_stage(self) -> tuple[tuple[Stage, float], ...]:
        """Expected area (m2) released when each remaining stage completes."""
        areas = self.stage_areas()
        out: list[tuple[Stage, float]] = []
        for i, (stage, area) in enumerate(areas):
            nxt = areas[i + 1][1] if i + 1 < len(areas) else 0.0
            out.append((stage, area - nxt))
        return tuple(out)


@dataclass(frozen=True)
class Team:
    """A deployable team: asset class, home base region and rates by terrain (0 = not allowed)."""

    id: str
    asset: AssetClass
    home_region: str
    rates: Mapping[str, float] = field(default_factory=dict)
    stages: frozenset[Stage] | None = None  # None: ASSET_STAGES[asset]
    #: the team's own availability (leave, rotations, stand-downs) on top of the region
    #: calendars: the workable fraction of a day is region fraction x team fraction
    availability: Calendar | None = None

    def rate(self, terrain: str) -> float:
        """Rate in m2/team-day on a terrain class; falls back to the documented defaults."""
        if terrain in self.rates:
            return float(self.rates[terrain])
        return float(DEFAULT_RATES_M2_PER_DAY[self.asset].get(terrain, 0.0))

    def can_do(self, stage: Stage) -> bool:
        """Whether the team may work on a stage."""
        allowed = self.stages if self.stages is not None else ASSET_STAGES[self.asset]
        return stage in allowed


@dataclass(frozen=True)
class Closure:
    """A date range (inclusive) in which a region is closed or partly workable (security, floods)."""

    start: dt.date
    end: dt.date
    fraction: float = 0.0
    reason: str = "security"


@dataclass(frozen=True)
class Calendar:
    """Workable fraction of each day for a region: season, rest days, holidays, closures.

    >>> cal = Calendar(monthly_fraction=(0.0,) + (1.0,) * 11, weekly_rest=(6,))
    >>> cal.fractions(dt.date(2025, 1, 30), 4).tolist()  # Jan 30 Thu .. Feb 2 Sun
    [0.0, 0.0, 1.0, 0.0]
    >>> Calendar(rotation=(2, 1), rotation_start=dt.date(2025, 1, 1)).fractions(
    ...     dt.date(2025, 1, 1), 6).tolist()  # two days on, one off
    [1.0, 1.0, 0.0, 1.0, 1.0, 0.0]
    """

    monthly_fraction: tuple[float, ...] = (1.0,) * 12
    weekly_rest: tuple[int, ...] = ()  # weekday numbers, Monday = 0
    holidays: tuple[dt.date, ...] = ()
    annual_holidays: tuple[tuple[int, int], ...] = ()  # (month, day) every year
    closures: tuple[Closure, ...] = ()
    rotation: tuple[int, ...] = ()  # (days on, days off), e.g. (20, 10) for a team rotation
    rotation_start: dt.date | None = None  # first day "on" of the rotation cycle

    def fractions(self, start: dt.date, days: int) -> npt.NDArray[np.float64]:
        """Workable fraction in [0, 1] of each of ``days`` days from ``start``."""
        if len(self.monthly_fraction) != 12:
            raise PlanningInputError("Calendar.monthly_fraction needs 12 values (Jan..Dec)")
        if self.rotation and (
            len(self.rotation) != 2 or min(self.rotation) < 0 or self.rotation[0] < 1
        ):
            raise PlanningInputError("Calendar.rotation is (days on >= 1, days off >= 0)")
        d0 = np.datetime64(start, "D")
        dates = d0 + np.arange(days)
        months = dates.astype("datetime64[M]").astype(np.int64) % 12
        out = np.asarray(self.monthly_fraction, dtype=np.float64)[months]
        if self.weekly_rest:
            weekday = (dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
            out[np.isin(weekday, self.weekly_rest)] = 0.0
        for h in self.holidays:
            k = (np.datetime64(h, "D") - d0).astype(np.int64)
            if 0 <= k < days:
                out[k] = 0.0
        if self.annual_holidays:
            md = (months + 1) * 100 + (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
            out[np.isin(md, [m * 100 + d for m, d in self.annual_holidays])] = 0.0
        if self.rotation:
            on, off = self.rotation
            first = np.datetime64(self.rotation_start or start, "D")
            phase = (dates - first).astype(np.int64) % (on + off)
            out[phase >= on] = 0.0
        for c in self.closures:
            a = max(0, int((np.datetime64(c.start, "D") - d0).astype(np.int64)))
            b = min(days, int((np.datetime64(c.end, "D") - d0).astype(np.int64)) + 1)
            if a < b:
                out[a:b] = np.minimum(out[a:b], c.fraction)
        return np.clip(out, 0.0, 1.0)


@dataclass(frozen=True)
class EnvironmentalRules:
    """IMAS 07.13 spirit: restricted assets are not used in protected areas or near water."""

    restricted_assets: frozenset[AssetClass] = frozenset({AssetClass.MECHANICAL})
    protect_protected_areas: bool = True
    protect_near_water: bool = True

    def allows(self, team: Team, package: WorkPackage) -> bool:
        """Whether the rules let ``team`` work on ``package``.

        >>> t = Team("m1", AssetClass.MECHANICAL, "r")
        >>> EnvironmentalRules().allows(t, WorkPackage("p", "h", "r", 1.0, "open", near_water=True))
        False
        """
        if team.asset not in self.restricted_assets or package.mechanical_allowed:
            return True
        if self.protect_protected_areas and package.protected_area:
            return False
        return not (self.protect_near_water and package.near_water)


@dataclass(frozen=True)
class FrozenWork:
    """Work in progress kept in place by re-planning: stage of a package on a team from a day."""

    package_id: str
    stage: Stage
    team_id: str
    start_day: float

    def __post_init__(self) -> None:
        """Reject work that started before the plan start."""
        if self.start_day < 0:
            raise PlanningInputError(
                f"frozen work on {self.package_id!r} starts on day {self.start_day} < 0: re-plan "
                "from today with the remaining area and start_day=0"
            )


@dataclass(frozen=True)
class PlanningProblem:
    """Everything the planner needs; days are counted from ``start`` (day 0)."""

    packages: tuple[WorkPackage, ...]
    teams: tuple[Team, ...]
    start: dt.date = dt.date(2026, 1, 1)
    calendars: Mapping[str, Calendar] = field(default_factory=dict)
    travel_days: Mapping[tuple[str, str], float] = field(default_factory=dict)
    default_travel_days: float = 0.0
    frozen: tuple[FrozenWork, ...] = ()
    rules: EnvironmentalRules = EnvironmentalRules()

    def regions(self) -> tuple[str, ...]:
        """Sorted region names used by packages, team home bases and calendars."""
        names = {p.region for p in self.packages} | {t.home_region for t in self.teams}
        return tuple(sorted(names | set(self.calendars)))

    def travel(self, a: str, b: str) -> float:
        """Travel days between two regions (symmetric lookup, default when unknown)."""
        if a == b:
            return float(self.travel_days.get((a, b), 0.0))
        if (a, b) in self.travel_days:
            return float(self.travel_days[(a, b)])
        if (b, a) in self.travel_days:
            return float(self.travel_days[(b, a)])
        return float(self.default_travel_days)

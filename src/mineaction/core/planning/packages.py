"""Work packages cut from hazards, and planning configuration read from plain data (pure).

A hazard's remaining area is cut into equal packages so that none needs more than
``max_team_days`` of one reference team (the slowest class normally used for its stages),
which is how operators task sites (planning.md 5.1: at most a few team-months). The hazard's
priority weight is shared among its packages in proportion to area.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mineaction.core.planning.model import (
    AssetClass,
    Calendar,
    Closure,
    PlanningInputError,
    ReleaseRatios,
    Stage,
    Team,
    WorkPackage,
)

#: Default largest package: 60 team-days (about three team-months of 20 working days).
DEFAULT_MAX_TEAM_DAYS = 60.0

#: Demo / default calendar: Kursk-like winter (snow and frozen ground Dec-Feb), Sunday rest,
#: public holidays (1 and 7 January, 8 March, 1 and 9 May, 12 June, 4 November).
DEFAULT_CALENDAR = Calendar(
    monthly_fraction=(0.2, 0.2, 0.5, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.6, 0.3),
    weekly_rest=(6,),
    annual_holidays=((1, 1), (1, 7), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)),
)


@dataclass(frozen=True)
class HazardWork:
    """An open hazard as planning input (remaining area, stage reached, terrain, weight)."""

    hazard_id: str
    region: str
    remaining_m2: float
    terrain: str
    weight: float
    first_stage: Stage
    protected_area: bool = False
    near_water: bool = False


def first_stage_of(classification: str, activity_types: Sequence[str]) -> Stage:
    """Next land-release stage of a hazard from its class and the activities done so far.

    >>> first_stage_of("SHA", [])
    <Stage.NTS: 'nts'>
    >>> first_stage_of("CHA", ["NTS"])
    <Stage.TS: 'ts'>
    >>> first_stage_of("CHA", ["NTS", "CLEARANCE"])
    <Stage.CLEARANCE: 'clearance'>
    """
    done = {a.upper() for a in activity_types}
    if done & {"CLEARANCE", "BAC"}:
        return Stage.CLEARANCE
    if "TS" in done:
        return Stage.CLEARANCE
    if classification.upper() == "SHA" and "NTS" not in done:
        return Stage.NTS
    return Stage.TS


def team_days_needed(
    area_m2: float, first: Stage, release: ReleaseRatios, rates: Mapping[Stage, float]
) -> float:
    """Team-days of reference teams for all remaining stages of an area.

    >>> team_days_needed(1000.0, Stage.CLEARANCE, ReleaseRatios(0.3, 0.2, 0.5), {Stage.CLEARANCE: 100.0})
    10.0
    """
    pk = WorkPackage("x", "x", "x", area_m2, "open", first_stage=first, release=release)
    total = 0.0
    for stage, area in pk.stage_areas():
        rate = rates.get(stage, 0.0)
        if rate > 0:
            total += area / rate
    return total


def cut_hazard(
    hz: HazardWork,
    release: ReleaseRatios,
    rates: Mapping[Stage, float],
    max_team_days: float = DEFAULT_MAX_TEAM_DAYS,
    id_prefix: str = "",
) -> list[WorkPackage]:
    """Cut a hazard into equal packages of at most ``max_team_days`` reference team-days.

    >>> hz = HazardWork("H1", "R", 25_000.0, "open", 3.0, Stage.CLEARANCE)
    >>> pk = cut_hazard(hz, ReleaseRatios(0.3, 0.2, 0.5), {Stage.CLEARANCE: 200.0}, 60.0)
    >>> [p.id for p in pk], [p.area_m2 for p in pk], [p.weight for p in pk]
    (['H1/P1', 'H1/P2', 'H1/P3'], [8333.333, 8333.333, 8333.333], [1.0, 1.0, 1.0])
    """
    if max_team_days <= 0:
        raise PlanningInputError("max team-days per work package must be > 0")
    days = team_days_needed(hz.remaining_m2, hz.first_stage, release, rates)
    n = max(1, math.ceil(days / max_team_days - 1e-9))
    area = round(hz.remaining_m2 / n, 3)
    return [
        WorkPackage(
            f"{id_prefix}{hz.hazard_id}/P{k + 1}",
            hz.hazard_id,
            hz.region,
            area,
            hz.terrain,
            weight=round(hz.weight / n, 9),
            first_stage=hz.first_stage,
            release=release,
            protected_area=hz.protected_area,
            near_water=hz.near_water,
        )
        for k in range(n)
    ]


# --- configuration from plain data (YAML already parsed) ------------------------------------

ASSET_NAMES: Mapping[str, AssetClass] = {
    "manual": AssetClass.MANUAL,
    "dogs": AssetClass.DOGS,
    "mdd": AssetClass.DOGS,
    "dog": AssetClass.DOGS,
    "mechanical": AssetClass.MECHANICAL,
    "machine": AssetClass.MECHANICAL,
    "ts": AssetClass.TS,
    "nts": AssetClass.NTS,
}


def asset_class(name: str, where: str) -> AssetClass:
    """Asset class named in a teams file (manual, dogs/mdd, mechanical, ts, nts).

    >>> asset_class("MDD", "teams[0]")
    <AssetClass.DOGS: 'dogs'>
    """
    key = str(name).strip().lower()
    if key not in ASSET_NAMES:
        raise PlanningInputError(
            f"unknown asset class {name!r}: use manual, dogs (mdd), mechanical, ts or nts",
            where=where,
        )
    return ASSET_NAMES[key]


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise PlanningInputError(f"{value!r} is not a date YYYY-MM-DD", where=where) from None


def _month_day(value: Any, where: str) -> tuple[int, int]:
    try:
        m, d = (int(x) for x in str(value).split("-"))
        dt.date(2024, m, d)
    except ValueError:
        raise PlanningInputError(f"{value!r} is not a month-day MM-DD", where=where) from None
    return (m, d)


def calendar_from_dict(data: Mapping[str, Any], base: Calendar, where: str) -> Calendar:
    """A calendar from a mapping (keys override ``base``).

    >>> cal = calendar_from_dict({"weekly_rest": [5, 6], "closures": [
    ...     {"start": "2027-01-01", "end": "2027-01-31", "reason": "security"}]}, Calendar(), "x")
    >>> cal.weekly_rest, cal.closures[0].fraction
    ((5, 6), 0.0)
    """
    if not isinstance(data, Mapping):
        raise PlanningInputError("a calendar is a mapping of its keys", where=where)
    try:
        return _calendar_from_dict(data, base, where)
    except (TypeError, ValueError, OverflowError) as exc:
        if isinstance(exc, PlanningInputError):
            raise
        raise PlanningInputError(f"not a valid calendar: {exc}", where=where) from None


def _calendar_from_dict(data: Mapping[str, Any], base: Calendar, where: str) -> Calendar:
    known = {"monthly_fraction", "weekly_rest", "holidays", "annual_holidays", "closures"}
    known |= {"rotation"}
    unknown = set(data) - known
    if unknown:
        raise PlanningInputError(
            f"unknown calendar keys {sorted(unknown)}: use {sorted(known)}", where=where
        )
    out = base
    if "monthly_fraction" in data:
        mf = tuple(float(x) for x in data["monthly_fraction"])
        if len(mf) != 12 or min(mf) < 0 or max(mf) > 1:
            raise PlanningInputError(
                "monthly_fraction needs 12 values in [0, 1] (Jan..Dec)",
                where=f"{where}.monthly_fraction",
            )
        out = dataclasses.replace(out, monthly_fraction=mf)
    if "weekly_rest" in data:
        wr = tuple(int(x) for x in data["weekly_rest"])
        if any(not 0 <= x <= 6 for x in wr):
            raise PlanningInputError("weekly_rest days are 0 (Monday) .. 6 (Sunday)", where=where)
        out = dataclasses.replace(out, weekly_rest=wr)
    if "holidays" in data:
        hol = tuple(_date(x, f"{where}.holidays[{i}]") for i, x in enumerate(data["holidays"]))
        out = dataclasses.replace(out, holidays=hol)
    if "annual_holidays" in data:
        ah = tuple(
            _month_day(x, f"{where}.annual_holidays[{i}]")
            for i, x in enumerate(data["annual_holidays"])
        )
        out = dataclasses.replace(out, annual_holidays=ah)
    if "closures" in data:
        cl = []
        for i, c in enumerate(data["closures"] or []):
            w = f"{where}.closures[{i}]"
            if not isinstance(c, Mapping) or "start" not in c or "end" not in c:
                raise PlanningInputError("a closure needs start and end dates", where=w)
            a, b = _date(c["start"], f"{w}.start"), _date(c["end"], f"{w}.end")
            if b < a:
                raise PlanningInputError(f"closure ends {b} before it starts {a}", where=w)
            frac = float(c.get("fraction", 0.0))
            if not 0 <= frac <= 1:
                raise PlanningInputError("closure fraction must be in [0, 1]", where=w)
            cl.append(Closure(a, b, frac, str(c.get("reason", "security"))))
        out = dataclasses.replace(out, closures=tuple(cl))
    if "rotation" in data:
        rot = data["rotation"]
        w = f"{where}.rotation"
        if not isinstance(rot, Mapping) or "days_on" not in rot or "days_off" not in rot:
            raise PlanningInputError(
                "rotation is a mapping {days_on: N, days_off: N, start: DATE}", where=w
            )
        on, off = int(rot["days_on"]), int(rot["days_off"])
        if on < 1 or off < 0 or on + off > 366:
            raise PlanningInputError(
                "rotation needs days_on >= 1, days_off >= 0, days_on + days_off <= 366", where=w
            )
        first = _date(rot["start"], f"{w}.start") if rot.get("start") is not None else None
        out = dataclasses.replace(out, rotation=(on, off), rotation_start=first)
    return out


@dataclass(frozen=True)
class CalendarConfig:
    """Calendars by region (with a default for regions not listed) and travel days."""

    default: Calendar
    regions: Mapping[str, Calendar]
    default_travel_days: float = 1.0
    travel_days: Mapping[tuple[str, str], float] | None = None

    def for_regions(self, names: Sequence[str]) -> dict[str, Calendar]:
        """Calendar of every region named (the default where none is configured)."""
        return {n: self.regions.get(n, self.default) for n in names}


def calendars_from_dict(data: Mapping[str, Any] | None, where: str = "calendars") -> CalendarConfig:
    """Calendar configuration from parsed YAML (``None``: the demo defaults).

    >>> cfg = calendars_from_dict({"default": {"weekly_rest": [6]},
    ...     "regions": {"R1": {"closures": [{"start": "2027-01-01", "end": "2027-02-01"}]}},
    ...     "travel": {"default_days": 2}})
    >>> len(cfg.regions["R1"].closures), cfg.default_travel_days
    (1, 2.0)
    """
    if data is None:
        return CalendarConfig(DEFAULT_CALENDAR, {})
    if not isinstance(data, Mapping):
        raise PlanningInputError("calendars file must be a mapping", where=where)
    unknown = set(data) - {"default", "regions", "travel"}
    if unknown:
        raise PlanningInputError(
            f"unknown keys {sorted(unknown)}: use default, regions, travel", where=where
        )
    for key in ("default", "regions", "travel"):
        if data.get(key) is not None and not isinstance(data[key], Mapping):
            raise PlanningInputError(f"{key} must be a mapping", where=f"{where}.{key}")
    default = calendar_from_dict(data.get("default") or {}, DEFAULT_CALENDAR, f"{where}.default")
    regions = {
        str(name): calendar_from_dict(spec or {}, default, f"{where}.regions.{name}")
        for name, spec in (data.get("regions") or {}).items()
    }
    travel = data.get("travel") or {}
    pairs: dict[tuple[str, str], float] = {}
    raw_pairs = travel.get("pairs") or []
    if not isinstance(raw_pairs, list):
        raise PlanningInputError("travel pairs is a list", where=f"{where}.travel.pairs")
    try:
        for i, row in enumerate(raw_pairs):
            if not isinstance(row, Sequence) or len(row) != 3 or float(row[2]) < 0:
                raise PlanningInputError(
                    "travel pairs are [REGION_A, REGION_B, DAYS >= 0]",
                    where=f"{where}.travel.pairs[{i}]",
                )
            pairs[(str(row[0]), str(row[1]))] = float(row[2])
        default_days = float(travel.get("default_days", 1.0))
    except (TypeError, ValueError) as exc:
        raise PlanningInputError(
            f"travel days must be numbers: {exc}", where=f"{where}.travel"
        ) from None
    if not 0 <= default_days <= 365:
        raise PlanningInputError("travel default_days must be in [0, 365]", where=f"{where}.travel")
    return CalendarConfig(default, regions, default_days, pairs)


def teams_from_list(
    rows: Sequence[Mapping[str, Any]],
    rates: Mapping[AssetClass, Mapping[str, float]],
    default_home: str,
    where: str = "teams",
) -> list[Team]:
    """Teams from a list of mappings: id, asset, home (region), optional rates by terrain and
    optional ``availability`` (the team's own calendar: leave, rotations, stand-downs).

    Rates not given come from ``rates`` (calibrated or default) for the team's class.
    ``availability`` takes the calendar keys (``monthly_fraction``, ``weekly_rest``,
    ``holidays``, ``annual_holidays``, ``closures``, ``rotation``) on top of an always
    available team; the region calendars still apply (a day's fraction is the product).

    >>> t = teams_from_list([{"id": "M1", "asset": "manual", "rates": {"open": 300}}],
    ...                     {AssetClass.MANUAL: {"open": 250.0, "steep": 100.0}}, "R")
    >>> t[0].rates, t[0].home_region
    ({'open': 300.0, 'steep': 100.0}, 'R')
    >>> t = teams_from_list([{"id": "M2", "asset": "manual", "availability": {
    ...     "rotation": {"days_on": 20, "days_off": 10, "start": "2027-01-01"},
    ...     "closures": [{"start": "2027-03-01", "end": "2027-03-14", "reason": "leave"}]}}],
    ...     {}, "R")
    >>> t[0].availability.rotation, t[0].availability.closures[0].reason
    ((20, 10), 'leave')
    """
    out: list[Team] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        w = f"{where}[{i}]"
        if not isinstance(row, Mapping):
            raise PlanningInputError("each team is a mapping with id and asset", where=w)
        tid = str(row.get("id") or row.get("code") or "").strip()
        if not tid:
            raise PlanningInputError("team has no id", where=w)
        if tid in seen:
            raise PlanningInputError(f"team id {tid!r} appears twice", where=w)
        seen.add(tid)
        asset = asset_class(str(row.get("asset") or row.get("kind") or ""), f"{w}.asset")
        own = row.get("rates") or {}
        if not isinstance(own, Mapping):
            raise PlanningInputError("rates is a mapping terrain: m2 per team-day", where=w)
        merged = {k: float(v) for k, v in rates.get(asset, {}).items()}
        for k, v in own.items():
            if float(v) < 0:
                raise PlanningInputError(f"rate on {k} must be >= 0", where=f"{w}.rates")
            merged[str(k)] = float(v)
        avail = None
        if row.get("availability") is not None:
            avail = calendar_from_dict(row["availability"], Calendar(), f"{w}.availability")
        out.append(
            Team(tid, asset, str(row.get("home") or default_home), merged, availability=avail)
        )
    return out

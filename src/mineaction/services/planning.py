"""Planning use cases: calibrate, build work packages, plan, store, accept, forecast, backtest.

Data comes from the approved ledger: either the stored projection (today) or the ledger
replayed as it stood at a past date (``as_of``: reports approved by the end of that day and
dated on or before it, as the reports do). The algorithms are the pure planning core
(:mod:`mineaction.core.planning`); this module only gathers inputs and stores results.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import math
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import yaml
from sqlalchemy import Connection, desc, func, insert, select, update

from mineaction.core.cells import csv_cell
from mineaction.core.planning import bounds as bd
from mineaction.core.planning.calibration import (
    ActivityRecord,
    Calibration,
    HazardHistory,
    HazardOutcome,
    TakeUpPace,
    TaskingCurve,
    Utilisation,
    asset_of,
    calibrate,
    monthly_utilisation,
    months_idle,
    take_up_pace,
    tasking_curve,
    terrain_of,
    utilisation,
)
from mineaction.core.planning.check import check_plan
from mineaction.core.planning.forecast import (
    Forecast,
    ForecastSettings,
    forecast,
    marginal_team_effects,
)
from mineaction.core.planning.instance import compile_problem
from mineaction.core.planning.model import (
    AssetClass,
    FrozenWork,
    PlanningProblem,
    Stage,
    Team,
    WorkPackage,
)
from mineaction.core.planning.outputs import annual_targets, cumulative_curves, team_task_lists
from mineaction.core.planning.packages import (
    DEFAULT_MAX_TEAM_DAYS,
    CalendarConfig,
    HazardWork,
    calendars_from_dict,
    cut_hazard,
    first_stage_of,
    teams_from_list,
)
from mineaction.core.planning.planner import plan as run_planner
from mineaction.core.planning.schedule import Plan
from mineaction.errors import ConflictError, NotFoundError, ValidationError
from mineaction.store import schema as s
from mineaction.store.engine import Store
from mineaction.store.reports import audit, now
from mineaction.store.settings import get_setting

#: Hazard statuses with land still to release.
OPEN = ("open", "worked_on")
DONE = ("closed", "handed_over")
#: Task activity type of each stage.
STAGE_ACTIVITY = {Stage.NTS: "NTS", Stage.TS: "TS", Stage.CLEARANCE: "CLEARANCE"}
ACTIVITY_STAGE = {v: k for k, v in STAGE_ACTIVITY.items()}
#: Demo team kinds (setting ``teams``) that have no planning asset class.
NO_PLANNING_CLASS = ("bac", "eod")

Progress = Callable[[str], None]


def _noop(_: str) -> None:
    return None


# --- data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HazardRow:
    """A hazard as planning and calibration see it."""

    hazard_id: str
    organisation: str
    classification: str
    status: str
    region: str
    terrain: str
    remaining_m2: float
    cancelled_m2: float
    reduced_m2: float
    cleared_m2: float
    activity_types: tuple[str, ...]
    closed_on: date | None
    first_date: date | None = None  # date of information of its first report


@dataclass(frozen=True)
class Release:
    """Land released by one approved activity report (for backtests)."""

    hazard_id: str
    day: date
    m2: float
    cancelled_m2: float = 0.0
    reduced_m2: float = 0.0
    cleared_m2: float = 0.0


@dataclass
class ProgrammeData:
    """Approved data at a cut-off: hazards, activity records, releases, teams, tasks."""

    cut_off: date
    source: str
    hazards: list[HazardRow]
    activities: list[ActivityRecord]
    releases: list[Release]
    teams_setting: list[dict[str, Any]]
    ledger_seq: int | None
    tasks_in_progress: list[dict[str, Any]] = field(default_factory=list)

    def open_hazards(self) -> list[HazardRow]:
        """SHA/CHA hazards with remaining area (EOD spot tasks are not planned)."""
        return [
            h
            for h in self.hazards
            if h.status in OPEN and h.remaining_m2 > 1.0 and h.classification in ("SHA", "CHA")
        ]

    def outcomes(self) -> list[HazardOutcome]:
        """Release totals of every SHA/CHA hazard (completed or not)."""
        return [
            HazardOutcome(
                h.hazard_id,
                h.status in DONE and h.remaining_m2 <= 1.0,
                h.cancelled_m2,
                h.reduced_m2,
                h.cleared_m2,
                frozenset(h.activity_types),
            )
            for h in self.hazards
            if h.classification in ("SHA", "CHA")
        ]


def _regions(conn: Connection) -> Callable[[str | None], str]:
    """Map a location P-code to its admin area of level 2 (the planning region)."""
    loc = {
        r[0]: (r[1], r[2])
        for r in conn.execute(
            select(s.location.c.pcode, s.location.c.admin_level, s.location.c.parent_pcode)
        )
    }

    def region(pcode: str | None) -> str:
        if not pcode:
            return "(no location)"
        code, seen = pcode, 0
        while code in loc and loc[code][0] > 2 and loc[code][1] and seen < 20:
            code = str(loc[code][1])
            seen += 1
        return code

    return region


def _activity_record(row: Mapping[str, Any], assets: Sequence[str], terrain: str) -> ActivityRecord:
    released = float(row["cancelled_m2"] or 0) + float(row["reduced_m2"] or 0)
    released += float(row["cleared_m2"] or 0)
    return ActivityRecord(
        report_id=str(row["report_id"]),
        hazard_id=str(row["hazard_id"]),
        activity_type=str(row["activity_type"]),
        asset=asset_of(str(row["activity_type"]), assets, row.get("method")),
        terrain=terrain,
        team_days=row.get("team_days"),
        released_m2=released,
        end=row.get("end_date") or row.get("date_of_information"),
        team=row.get("team"),
        start=row.get("start_date"),
    )


def load_programme(store: Store, as_of: date | None = None) -> ProgrammeData:
    """Approved data today (stored projection) or as it stood at the end of ``as_of``."""
    if as_of is not None and not date(1900, 1, 1) <= as_of <= datetime.now(UTC).date():
        raise ValidationError(f"as-of date {as_of} must be in the past (after 1900)", where="as_of")
    from mineaction.services.reporting import snapshot as sn

    with store.read() as conn:
        region = _regions(conn)
        teams_setting = list(get_setting(conn, "teams") or [])
        if as_of is None:
            h = s.hazard.c
            hazards = []
            for r in conn.execute(select(s.hazard).order_by(h.hazard_id)).mappings():
                d = r["details"] or {}
                hazards.append(
                    HazardRow(
                        r["hazard_id"],
                        r["organisation"],
                        r["classification"],
                        r["status"],
                        region(r["location"]),
                        terrain_of(d, d.get("blockages") or []),
                        float(r["remaining_m2"]),
                        float(r["cancelled_m2"]),
                        float(r["reduced_m2"]),
                        float(r["cleared_m2"]),
                        tuple(d.get("activity_types") or []),
                        r["closed_on"],
                        r["first_date"],
                    )
                )
            acts = [dict(r) for r in conn.execute(select(s.activity)).mappings()]
            cut = datetime.now(UTC).date()
            source = "stored projection (approved reports to date)"
            ledger_seq = conn.execute(select(func.max(s.report.c.approval_seq))).scalar()
        else:
            snap = sn.load(conn, sn.end_of_day(as_of))
            hazards = []
            for hs in snap.hazards_at(as_of).values():
                a = hs.areas
                hazards.append(
                    HazardRow(
                        hs.hazard_id,
                        hs.organisation,
                        hs.classification.value,
                        hs.status.value,
                        region(hs.location),
                        terrain_of({}, hs.blockages),
                        float(a.remaining_m2),
                        float(a.cancelled_m2),
                        float(a.reduced_m2),
                        float(a.cleared_m2),
                        tuple(hs.activity_types),
                        hs.closed_on,
                        hs.first_date,
                    )
                )
            hazards.sort(key=lambda x: x.hazard_id)
            acts = [r for r in snap.records(s.activity) if r["date_of_information"] <= as_of]
            cut = as_of
            source = f"ledger replayed as of {as_of.isoformat()} (approved by then, dated up to it)"
            ledger_seq = len(snap.entries)
        in_progress = [
            dict(r)
            for r in conn.execute(
                select(s.task, s.plan_item.c.package_id, s.plan_item.c.area_m2)
                .select_from(
                    s.task.outerjoin(s.plan_item, s.plan_item.c.task_id == s.task.c.task_id)
                )
                .where(s.task.c.status == "in_progress")
                .order_by(s.task.c.task_id)
            ).mappings()
        ]
        # the projection keeps an activity's method; read the asset list only where the
        # method names no asset class (clearance reports)
        need = [
            str(a["report_id"])
            for a in acts
            if a["activity_type"] == "CLEARANCE"
            and asset_of("CLEARANCE", [], a.get("method")) is None
        ]
        assets: dict[str, list[str]] = {}
        for i in range(0, len(need), 500):
            q = select(s.report.c.report_id, s.report.c.payload).where(
                s.report.c.report_id.in_(need[i : i + 500])
            )
            for rid, payload in conn.execute(q):
                assets[rid] = list(((payload or {}).get("activity") or {}).get("assets") or [])
    terrain = {h.hazard_id: h.terrain for h in hazards}
    activities = [
        _activity_record(a, assets.get(a["report_id"], []), terrain.get(a["hazard_id"], "open"))
        for a in acts
    ]
    releases = [
        Release(
            a["hazard_id"],
            a["date_of_information"],
            float(a["cancelled_m2"] or 0)
            + float(a["reduced_m2"] or 0)
            + float(a["cleared_m2"] or 0),
            float(a["cancelled_m2"] or 0),
            float(a["reduced_m2"] or 0),
            float(a["cleared_m2"] or 0),
        )
        for a in acts
    ]
    return ProgrammeData(
        cut, source, hazards, activities, releases, teams_setting, ledger_seq, in_progress
    )


def calibration_of(data: ProgrammeData) -> Calibration:
    """Calibrate release ratios and productivity from the programme's approved history."""
    return calibrate(data.outcomes(), data.activities, cut_off=data.cut_off)


def calibrate_store(store: Store, as_of: date | None = None) -> Calibration:
    """Load the approved data (optionally as of a date) and calibrate."""
    return calibration_of(load_programme(store, as_of))


def calibration_csv(cal: Calibration) -> str:
    """Fitted values as CSV (one row per stage share and per rate cell)."""
    d = cal.as_dict()
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        ["kind", "asset", "terrain", "value", "unit", "n", "p10", "p50", "p90", "sigma", "source"]
    )
    for st in d["stages"]:
        w.writerow(
            [
                "stage share released",
                st["stage"],
                "",
                st["share_released"],
                "share",
                st["hazards"],
                "",
                "",
                "",
                "",
                st["source"],
            ]
        )
    for r in d["rates"]:
        w.writerow(
            [
                "rate",
                r["asset"],
                r["terrain"],
                r["rate_m2_per_team_day"],
                "m2/team-day",
                r["reports"],
                r["p10"],
                r["p50"],
                r["p90"],
                r["lognormal_sigma"],
                r["source"],
            ]
        )
    return buf.getvalue()


# --- inputs --------------------------------------------------------------------------------


def read_yaml(path: str | Path, what: str) -> Any:
    """Parse a YAML file, with a clear error naming the file."""
    p = Path(path)
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError(f"{what} file not found", where=str(p)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise ValidationError(f"not valid YAML{line}: {exc}", where=str(p)) from None


@dataclass(frozen=True)
class PlanOptions:
    """Options of a planning run (all recorded in the config hash)."""

    start: date | None = None
    max_team_days: float = DEFAULT_MAX_TEAM_DAYS
    time_limit: float = 20.0
    seed: int = 0
    bound: bool = True
    bound_time: float = 60.0
    horizon_years: float | None = None  # objective: weighted benefit by the horizon
    weights: str = "priority"  # "priority" (latest prioritisation run) or "equal"
    scope: str | None = None  # region (admin P-code prefix) or organisation
    utilisation: bool = True  # scale rates by the utilisation history shows (when fitted)


def _teams(
    data: ProgrammeData,
    cal: Calibration,
    teams_rows: Sequence[Mapping[str, Any]] | None,
    regions: Sequence[str],
    notes: list[str],
) -> list[Team]:
    rates = {a: cal.rates_for(a) for a in AssetClass}
    open_h = data.open_hazards()
    area: dict[str, float] = {}
    by_org: dict[str, dict[str, float]] = {}
    for h in open_h:
        area[h.region] = area.get(h.region, 0.0) + h.remaining_m2
        o = by_org.setdefault(h.organisation, {})
        o[h.region] = o.get(h.region, 0.0) + h.remaining_m2
    default_home = max(area, key=lambda k: area[k]) if area else (regions[0] if regions else "R")
    if teams_rows is not None:
        teams = teams_from_list(teams_rows, rates, default_home)
        unknown = sorted({t.home_region for t in teams} - set(regions))
        if unknown:
            raise ValidationError(
                f"team home regions {unknown} are not planning regions; use one of "
                f"{', '.join(regions[:12])}{' ...' if len(regions) > 12 else ''}",
                where="teams file",
            )
        return teams
    rows = []
    skipped: dict[str, int] = {}
    for t in data.teams_setting:
        kind = str(t.get("kind", "")).lower()
        if kind in NO_PLANNING_CLASS:
            skipped[kind] = skipped.get(kind, 0) + 1
            continue
        org_area = by_org.get(str(t.get("organisation")), {})
        home = max(org_area, key=lambda k: org_area[k]) if org_area else default_home
        row = {"id": t.get("code"), "asset": kind, "home": home}
        if t.get("availability") is not None:
            row["availability"] = t["availability"]
        rows.append(row)
    for kind, n in sorted(skipped.items()):
        notes.append(f"{n} {kind.upper()} team(s) left out: no planning asset class for {kind}")
    if not rows:
        raise ValidationError(
            "no teams: the database has none (setting 'teams'); give --teams FILE "
            "(YAML list of id, asset, home)",
            where="teams",
        )
    return teams_from_list(rows, rates, default_home, where="database teams")


def _weights(store: Store, data: ProgrammeData, how: str, notes: list[str]) -> dict[str, float]:
    if how == "equal":
        return {}
    from mineaction.services.prioritise import latest_scores

    scores = {r["hazard_id"]: float(r["score"]) for r in latest_scores(store)}
    if not scores:
        notes.append(
            "no prioritisation run: every hazard has weight 1 (run `mineaction prioritise`)"
        )
        return {}
    missing = sum(1 for h in data.open_hazards() if h.hazard_id not in scores)
    if missing:
        notes.append(
            f"{missing} hazard(s) not in the latest prioritisation run: weight = lowest score"
        )
    low = min(scores.values()) if scores else 1.0
    return {h.hazard_id: max(scores.get(h.hazard_id, low), 1e-6) for h in data.open_hazards()}


def _environment(store: Store, notes: list[str]) -> dict[str, tuple[bool, bool]]:
    """(protected area, near water) per hazard from the latest prioritisation run's criteria."""
    from mineaction.services.prioritise import latest_scores

    out = {}
    for r in latest_scores(store):
        c = r.get("criteria") or {}
        flags = (bool(c.get("protected_area")), bool(c.get("near_water")))
        if any(flags):
            out[str(r["hazard_id"])] = flags
    if out:
        notes.append(
            f"environmental rules (IMAS 07.13): {len(out)} hazard(s) in a protected area or near "
            "water (latest prioritisation run): no mechanical assets there"
        )
    return out


@dataclass
class Inputs:
    """A planning problem with how it was built."""

    problem: PlanningProblem
    calibration: Calibration
    data: ProgrammeData
    config: dict[str, Any]
    config_hash: str
    notes: list[str]
    task_of_package: dict[str, str]
    #: monthly utilisation over the 12 months before the cut-off, per class (capacity paths
    #: of the forecast), and the utilisation applied to the rates
    utilisation_months: dict[AssetClass, tuple[float, ...]] = field(default_factory=dict)
    utilisation_applied: dict[AssetClass, float] = field(default_factory=dict)
    utilisation_first_month: date | None = None
    #: work packages of the hazards first reported in each history month (new contamination)
    inflow: tuple[tuple[WorkPackage, ...], ...] = ()
    #: work selection: the programme's tasking curve over the 12 months before the cut-off
    #: and each planned hazard's idle months at the plan start
    tasking: TaskingCurve | None = None
    idle_months: dict[str, int] = field(default_factory=dict)
    #: the curves of hazards never worked on (first take-up) and already worked on (going
    #: on), and the planned hazards already worked on
    tasking_first: TaskingCurve | None = None
    tasking_again: TaskingCurve | None = None
    worked: tuple[str, ...] = ()
    #: the programme's observed pace of first take-ups (never-worked hazards a month) and of
    #: going on with hazards already worked on
    pace: TakeUpPace | None = None
    pace_again: TakeUpPace | None = None


def build_inputs(
    store: Store,
    data: ProgrammeData,
    options: PlanOptions,
    *,
    teams_rows: Sequence[Mapping[str, Any]] | None = None,
    calendars: Mapping[str, Any] | None = None,
) -> Inputs:
    """Work packages from open hazards, teams, calendars and work in progress -> a problem."""
    notes: list[str] = []
    cal = calibration_of(data)
    release = cal.release
    hazards = data.open_hazards()
    if options.scope:
        hazards = [
            h
            for h in hazards
            if h.region.startswith(options.scope) or h.organisation == options.scope
        ]
        if not hazards:
            raise ValidationError(
                f"scope {options.scope!r} matches no open hazard (region P-code prefix or "
                "organisation code)",
                where="--scope",
            )
    if not hazards:
        raise ValidationError("no open hazard with remaining area to plan", where="hazards")
    cal_cfg: CalendarConfig = calendars_from_dict(calendars)
    known = sorted({h.region for h in data.hazards} | set(cal_cfg.regions))
    teams = _teams(data, cal, teams_rows, known, notes)
    regions = sorted({h.region for h in hazards} | {t.home_region for t in teams})
    weights = _weights(store, data, options.weights, notes)
    env = _environment(store, notes)
    util = _utilisation(data, teams, cal_cfg)
    if options.utilisation:
        teams = [
            dataclasses.replace(t, rates={k: v * util[t.asset].value for k, v in t.rates.items()})
            for t in teams
        ]
        for u in util.values():
            if u.fitted:
                notes.append(
                    f"{u.asset.value} rates x {u.value:.2f}: utilisation over the last 12 months "
                    f"({u.team_days:,.0f} reported team-days of {u.capacity_team_days:,.0f} workable)"
                )
    start = options.start or (data.cut_off + timedelta(days=1))
    if not date(1900, 1, 1) <= start <= date(2200, 1, 1):
        raise ValidationError(f"plan start {start} must be between 1900 and 2200", where="start")
    ref = {
        Stage.NTS: cal.rate(AssetClass.NTS, "open"),
        Stage.TS: cal.rate(AssetClass.TS, "open"),
    }
    team_ids = {t.id for t in teams}
    packages: list[WorkPackage] = []
    frozen: list[FrozenWork] = []
    task_of_package: dict[str, str] = {}
    wip: dict[str, list[dict[str, Any]]] = {}
    for t in data.tasks_in_progress:
        wip.setdefault(t["hazard_id"], []).append(t)
    for h in hazards:
        ref_h = dict(ref)
        ref_h[Stage.CLEARANCE] = cal.rate(AssetClass.MANUAL, h.terrain) or cal.rate(
            AssetClass.MANUAL, "open"
        )
        w = weights.get(h.hazard_id, 1.0)
        left = h.remaining_m2
        work = HazardWork(
            h.hazard_id,
            h.region,
            left,
            h.terrain,
            w,
            first_stage_of(h.classification, h.activity_types),
            *env.get(h.hazard_id, (False, False)),
        )
        for t in wip.get(h.hazard_id, []):
            stage = ACTIVITY_STAGE.get(str(t["activity_type"]).upper())
            if stage is None or t["team"] not in team_ids:
                notes.append(
                    f"task {t['task_id']} in progress not kept in place: "
                    + ("unknown stage" if stage is None else f"team {t['team']!r} not in the teams")
                )
                continue
            area = min(left, float(t["area_m2"] or left))
            if area <= 1.0:
                continue
            pid = str(t["package_id"] or f"{h.hazard_id}/WIP-{t['task_id']}")
            share = area / h.remaining_m2
            packages.append(
                WorkPackage(
                    pid,
                    h.hazard_id,
                    h.region,
                    area,
                    h.terrain,
                    w * share,
                    stage,
                    release,
                    protected_area=work.protected_area,
                    near_water=work.near_water,
                )
            )
            frozen.append(FrozenWork(pid, stage, str(t["team"]), 0.0))
            task_of_package[pid] = str(t["task_id"])
            left -= area
        if left > 1.0:
            rest = dataclasses.replace(work, remaining_m2=left, weight=w * left / h.remaining_m2)
            for pk in cut_hazard(rest, release, ref_h, options.max_team_days):
                if pk.id in task_of_package:
                    pk = dataclasses.replace(pk, id=pk.id + "b")
                packages.append(pk)
    cfg = calendars_from_dict(calendars)
    problem = PlanningProblem(
        packages=tuple(packages),
        teams=tuple(teams),
        start=start,
        calendars=cfg.for_regions(regions),
        travel_days=dict(cfg.travel_days or {}),
        default_travel_days=cfg.default_travel_days,
        frozen=tuple(frozen),
    )
    config = {
        "options": {
            k: (v.isoformat() if isinstance(v, date) else v)
            for k, v in dataclasses.asdict(options).items()
        },
        "start": start.isoformat(),
        "teams": [
            {
                "id": t.id,
                "asset": t.asset.value,
                "home": t.home_region,
                "rates": dict(sorted(t.rates.items())),
                "availability": dataclasses.asdict(t.availability) if t.availability else None,
            }
            for t in teams
        ],
        "calendars": calendars if calendars is not None else "default (demo) calendar",
        "calibration": cal.as_dict(),
        "weights": options.weights,
        "utilisation": {
            u.asset.value: {
                "value": u.value,
                "reports": u.reports,
                "team_days": round(u.team_days, 1),
                "capacity_team_days": round(u.capacity_team_days, 1),
                "source": "fitted" if u.fitted else "default",
                "applied": options.utilisation,
            }
            for u in util.values()
        },
        "frozen": [dataclasses.asdict(f) for f in frozen],
    }
    digest = hashlib.sha256(
        orjson.dumps(config, option=orjson.OPT_SORT_KEYS, default=str)
    ).hexdigest()
    months = _monthly_utilisation(data, teams, cal_cfg) if options.utilisation else {}
    inflow = _inflow_templates(data, options, cal, ref, weights, env) if options.utilisation else ()
    last = data.cut_off if (data.cut_off + timedelta(days=1)).day == 1 else None
    last = last or data.cut_off.replace(day=1) - timedelta(days=1)
    first_month = _months_after(last.replace(day=1), -11)
    applied = {a: u.value for a, u in util.items() if options.utilisation}
    histories = hazard_histories(data)
    window = _history_window(data.cut_off)
    curve = tasking_curve(histories.values(), window)
    first_curve = tasking_curve(histories.values(), window, worked=False)
    again_curve = tasking_curve(histories.values(), window, worked=True)
    planned = {p.hazard_id for p in packages}
    idle = {h: months_idle(histories[h], start) for h in sorted(planned) if h in histories}
    return Inputs(
        problem,
        cal,
        data,
        config,
        digest,
        notes,
        task_of_package,
        months,
        applied,
        first_month,
        inflow,
        curve,
        idle,
        first_curve,
        again_curve,
        tuple(h for h in idle if histories[h].events),
        take_up_pace(histories.values(), window),
        take_up_pace(histories.values(), window, worked=True),
    )


def hazard_histories(data: ProgrammeData) -> dict[str, HazardHistory]:
    """First report, dates of land-releasing activities and closure of each SHA/CHA hazard
    (what the tasking curve is fitted on)."""
    starts: dict[str, set[date]] = {}
    ends: dict[str, set[date]] = {}
    for a in data.activities:
        if a.released_m2 <= 0 or a.end is None or a.end > data.cut_off:
            continue
        b = a.start if a.start is not None and a.start <= a.end else a.end
        starts.setdefault(a.hazard_id, set()).add(b)
        ends.setdefault(a.hazard_id, set()).add(a.end)
    out = {}
    for h in data.hazards:
        if h.classification not in ("SHA", "CHA") or h.first_date is None:
            continue
        ev = tuple(sorted(starts.get(h.hazard_id, ())))
        closed = h.closed_on if h.status in DONE else None
        out[h.hazard_id] = HazardHistory(
            h.hazard_id, h.first_date, ev, closed, tuple(sorted(ends.get(h.hazard_id, ())))
        )
    return out


def _history_window(cut_off: date) -> list[tuple[date, date]]:
    """The 12 whole calendar months up to the cut-off (its month if the cut-off ends it)."""
    last = cut_off if (cut_off + timedelta(days=1)).day == 1 else None
    last = last or cut_off.replace(day=1) - timedelta(days=1)
    out = []
    for k in range(11, -1, -1):
        m0 = _months_after(last.replace(day=1), -k)
        out.append((m0, _months_after(m0, 1) - timedelta(days=1)))
    return out


def _inflow_templates(
    data: ProgrammeData,
    options: PlanOptions,
    cal: Calibration,
    ref: Mapping[Stage, float],
    weights: Mapping[str, float],
    env: Mapping[str, tuple[bool, bool]],
) -> tuple[tuple[WorkPackage, ...], ...]:
    """Work packages of the SHA/CHA hazards first reported in each of the 12 history months
    (whole area as reported: remaining + released; release_day = day of the month), the
    forecast's sample of new contamination (scoped like the plan)."""
    months = _history_window(data.cut_off)
    out: list[list[WorkPackage]] = [[] for _ in months]
    for h in data.hazards:
        if h.first_date is None or h.classification not in ("SHA", "CHA"):
            continue
        if options.scope and not (
            h.region.startswith(options.scope) or h.organisation == options.scope
        ):
            continue
        k = next((i for i, (a, b) in enumerate(months) if a <= h.first_date <= b), None)
        area = h.remaining_m2 + h.cancelled_m2 + h.reduced_m2 + h.cleared_m2
        if k is None or area <= 1.0:
            continue
        rates = dict(ref)
        rates[Stage.CLEARANCE] = cal.rate(AssetClass.MANUAL, h.terrain) or cal.rate(
            AssetClass.MANUAL, "open"
        )
        work = HazardWork(
            f"new:{h.hazard_id}",
            h.region,
            area,
            h.terrain,
            weights.get(h.hazard_id, 1.0),
            first_stage_of(h.classification, ()),
            *env.get(h.hazard_id, (False, False)),
        )
        day = float((h.first_date - months[k][0]).days)
        out[k] += [
            dataclasses.replace(p, release_day=day)
            for p in cut_hazard(work, cal.release, rates, options.max_team_days)
        ]
    return tuple(tuple(m) for m in out)


def _utilisation(
    data: ProgrammeData, teams: Sequence[Team], cal: CalendarConfig
) -> dict[AssetClass, Utilisation]:
    """Utilisation per asset class over the 12 months before the cut-off (default calendar).

    The denominator is the programme's team roster (database setting ``teams``), or, without
    one, the teams that reported in the window: the history belongs to those teams, whatever
    teams this plan uses.
    """
    end = data.cut_off
    begin = end - timedelta(days=364)
    workable = float(cal.default.fractions(begin, 365).sum())
    return utilisation(data.activities, _team_counts(data, teams, begin, end), workable, begin, end)


def _monthly_utilisation(
    data: ProgrammeData, teams: Sequence[Team], cal: CalendarConfig
) -> dict[AssetClass, tuple[float, ...]]:
    """Utilisation per class in each of the 12 calendar months up to the cut-off (classes
    whose utilisation is fitted only; see ``calibration.monthly_utilisation``)."""
    end = data.cut_off
    # the 12 whole calendar months up to the cut-off (its month if the cut-off ends it)
    last = end if (end + timedelta(days=1)).day == 1 else end.replace(day=1) - timedelta(days=1)
    months: list[tuple[date, date, float]] = []
    for k in range(11, -1, -1):
        m0 = _months_after(last.replace(day=1), -k)
        m1 = _months_after(m0, 1) - timedelta(days=1)
        months.append((m0, m1, float(cal.default.fractions(m0, (m1 - m0).days + 1).sum())))
    counts = _team_counts(data, teams, months[0][0], months[-1][1])
    fitted = {a for a, u in _utilisation(data, teams, cal).items() if u.fitted}
    out = monthly_utilisation(data.activities, counts, months, cap=MAX_MONTHLY_UTILISATION)
    return {a: v for a, v in out.items() if a in fitted}


#: A month's utilisation may exceed 1 when teams reported more days than the calendar counts
#: as workable (the calendar is stricter than the programme's record); capped at 10.
MAX_MONTHLY_UTILISATION = 10.0


def _team_counts(
    data: ProgrammeData, teams: Sequence[Team], begin: date, end: date
) -> dict[AssetClass, int]:
    from mineaction.core.planning.packages import ASSET_NAMES

    counts: dict[AssetClass, int] = {}
    for row in data.teams_setting:
        asset = ASSET_NAMES.get(str(row.get("kind", "")).lower())
        if asset is not None:
            counts[asset] = counts.get(asset, 0) + 1
    if not counts:
        seen: dict[AssetClass, set[str]] = {}
        for a in data.activities:
            if a.asset is not None and a.team and a.end is not None and begin <= a.end <= end:
                seen.setdefault(a.asset, set()).add(a.team)
        counts = {k: len(v) for k, v in seen.items()}
    for t in teams:
        counts.setdefault(t.asset, 0)
    return counts


# --- running and storing -------------------------------------------------------------------


@dataclass
class PlanResult:
    """A plan with its inputs, bound and the figures stored with it."""

    plan_id: str
    inputs: Inputs
    plan: Plan
    objective: float
    bound: bd.Bound | None
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the forecast made with it

    @property
    def gap(self) -> float | None:
        """Relative gap of the objective to the lower bound (None without a bound)."""
        if self.bound is None or self.bound.value <= 0:
            return None
        return self.objective / self.bound.value - 1.0

    def summary(self) -> dict[str, Any]:
        """JSON-compatible summary: curves, annual targets, notes, environmental record."""
        c = cumulative_curves(self.plan)
        pk = self.inputs.problem.packages
        return {
            "source": self.inputs.data.source,
            "notes": self.inputs.notes + list(self.plan.notes),
            "environmental_record": self.plan.environmental_record(),
            "calibration": self.inputs.calibration.as_dict(),
            "utilisation": self.inputs.config["utilisation"],
            "config": self.inputs.config,
            "hazards": len({p.hazard_id for p in pk}),
            "area_m2": round(sum(p.area_m2 for p in pk), 1),
            "completion": (
                self.inputs.problem.start + timedelta(days=float(self.plan.end.max(initial=0.0)))
            ).isoformat(),
            "curves": {
                "dates": [d.isoformat() for d in c.dates],
                "benefit": [round(float(x), 6) for x in c.benefit],
                "released_m2": [round(float(x), 1) for x in c.released_m2],
            },
            "annual_targets": [
                {
                    "year": t.year,
                    "region": t.region,
                    "cancelled_m2": t.cancelled_m2,
                    "reduced_m2": t.reduced_m2,
                    "cleared_m2": t.cleared_m2,
                    "released_m2": round(t.released_m2, 1),
                    "packages_completed": t.packages_completed,
                }
                for t in annual_targets(self.plan)
            ],
            "bound_seconds": round(self.bound.seconds, 2) if self.bound else None,
        } | self.extra


def new_plan_id() -> str:
    """A new plan id: P-YYYYMMDDHHMMSS-xxxx."""
    return f"P-{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(2)}"


def compute_bound(plan: Plan, seconds: float) -> bd.Bound:
    """Lower bound on the plan's objective: the LP (HiGHS) when small, else its Lagrangian."""
    inst = plan.instance
    horizon = float(plan.end.max(initial=1.0))
    if inst.n_ops * inst.type_p.shape[1] <= 40_000:
        return bd.lp_bound(inst, horizon, time_limit=seconds)
    return bd.lagrangian_bound(inst, horizon, iterations=200, time_limit=seconds)


def make_plan(inputs: Inputs, options: PlanOptions, progress: Progress = _noop) -> PlanResult:
    """Run the planner (and the bound) on built inputs; check the plan."""
    t0 = time.perf_counter()
    horizon = None if options.horizon_years is None else options.horizon_years * 365.0
    progress(
        f"planning {len(inputs.problem.packages)} work packages on {len(inputs.problem.teams)} teams"
    )
    inst = compile_problem(inputs.problem)
    result = run_planner(
        inst, time_limit=options.time_limit, seed=options.seed, horizon_day=horizon
    )
    problems = check_plan(result)
    if problems:  # pragma: no cover - the checker guards the planner
        raise ValidationError(f"planner produced an infeasible plan: {problems[0]}")
    objective = (
        float(result.instance.op_weight @ np.minimum(result.end, horizon))
        if horizon is not None
        else result.objective()
    )
    bound = None
    if options.bound and horizon is None:
        progress("lower bound (time-indexed LP)")
        bound = compute_bound(result, options.bound_time)
    return PlanResult(new_plan_id(), inputs, result, objective, bound, time.perf_counter() - t0)


def run_plan(
    store: Store,
    options: PlanOptions,
    *,
    teams_rows: Sequence[Mapping[str, Any]] | None = None,
    calendars: Mapping[str, Any] | None = None,
    as_of: date | None = None,
    save: bool = True,
    created_by: str | None = None,
    progress: Progress = _noop,
) -> PlanResult:
    """Load, calibrate, build, plan and (by default) store a plan."""
    progress("loading approved data")
    data = load_programme(store, as_of)
    progress("calibrating and cutting work packages")
    inputs = build_inputs(store, data, options, teams_rows=teams_rows, calendars=calendars)
    result = make_plan(inputs, options, progress)
    if save:
        save_plan(store, result, created_by=created_by)
    return result


def save_plan(store: Store, result: PlanResult, *, created_by: str | None = None) -> str:
    """Store a plan and its items (one transaction)."""
    inp = result.inputs
    start = inp.problem.start
    rows = []
    for team, items in team_task_lists(result.plan).items():
        for r in items:
            rows.append(
                {
                    "plan_id": result.plan_id,
                    "team": team,
                    "seq": r.order,
                    "package_id": r.package_id,
                    "hazard_id": r.hazard_id,
                    "stage": r.stage.value,
                    "region": r.region,
                    "area_m2": r.area_m2,
                    "start_date": r.start,
                    "end_date": r.end,
                    "start_day": round(r.start_day, 4),
                    "end_day": round(r.end_day, 4),
                    "frozen": r.frozen,
                    "task_id": inp.task_of_package.get(r.package_id) if r.frozen else None,
                }
            )
    horizon = inp.config["options"].get("horizon_years")
    with store.write() as conn:
        conn.execute(
            insert(s.plan_run).values(
                plan_id=result.plan_id,
                created_at=now(),
                created_by=created_by,
                status="draft",
                start_date=start,
                data_cutoff=inp.data.cut_off,
                ledger_seq=inp.data.ledger_seq,
                config_hash=inp.config_hash,
                objective_kind="sum weight x completion day"
                if horizon is None
                else f"sum weight x min(completion, {horizon} y)",
                objective=result.objective,
                bound=result.bound.value if result.bound else None,
                bound_method=result.bound.method if result.bound else None,
                gap=result.gap,
                method=result.plan.method,
                package_count=len(inp.problem.packages),
                team_count=len(inp.problem.teams),
                duration_s=round(result.seconds, 3),
                summary=orjson.loads(orjson.dumps(result.summary(), default=str)),
                version=1,
            )
        )
        for i in range(0, len(rows), 1000):
            conn.execute(insert(s.plan_item), rows[i : i + 1000])
        audit(conn, actor=created_by, action="create", entity="plan", entity_id=result.plan_id)
    return result.plan_id


def _plan_meta(row: Any) -> dict[str, Any]:
    out = {
        k: row[k]
        for k in (
            "plan_id",
            "status",
            "created_by",
            "ledger_seq",
            "config_hash",
            "objective_kind",
            "objective",
            "bound",
            "bound_method",
            "gap",
            "method",
            "package_count",
            "team_count",
            "duration_s",
            "accepted_by",
            "version",
        )
    }
    for k in ("created_at", "accepted_at", "start_date", "data_cutoff"):
        out[k] = row[k].isoformat() if row[k] is not None else None
    return out


def list_plans(store: Store, *, limit: int = 50) -> list[dict[str, Any]]:
    """Stored plans, newest first (metadata only)."""
    p = s.plan_run
    with store.read() as conn:
        rows = conn.execute(
            select(p).order_by(desc(p.c.created_at), desc(p.c.plan_id)).limit(limit)
        ).mappings()
        return [
            _plan_meta(r) | {"completion": (r["summary"] or {}).get("completion")} for r in rows
        ]


def get_plan(store: Store, plan_id: str, *, items: bool = True) -> dict[str, Any]:
    """A stored plan: metadata, summary and (by default) its items in team/queue order."""
    p, it = s.plan_run, s.plan_item
    with store.read() as conn:
        if plan_id == "latest":
            row = (
                conn.execute(select(p).order_by(desc(p.c.created_at), desc(p.c.plan_id)).limit(1))
                .mappings()
                .first()
            )
        else:
            row = conn.execute(select(p).where(p.c.plan_id == plan_id)).mappings().first()
        if row is None:
            raise NotFoundError(
                f"no plan {plan_id!r}"
                if plan_id != "latest"
                else "no plan yet: run `mineaction plan run`"
            )
        out = _plan_meta(row) | {"summary": row["summary"]}
        if items:
            out["items"] = [
                {
                    k: (v.isoformat() if isinstance(v, date) else v)
                    for k, v in dict(r).items()
                    if k not in ("id", "plan_id")
                }
                for r in conn.execute(
                    select(it).where(it.c.plan_id == row["plan_id"]).order_by(it.c.team, it.c.seq)
                ).mappings()
            ]
    return out


def items_csv(items: Sequence[Mapping[str, Any]]) -> str:
    """Plan items as CSV."""
    cols = [
        "team",
        "seq",
        "package_id",
        "hazard_id",
        "stage",
        "region",
        "area_m2",
        "start_date",
        "end_date",
        "frozen",
        "task_id",
    ]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in items:
        w.writerow({k: csv_cell(v) for k, v in r.items()})
    return buf.getvalue()


def items_geojson(store: Store, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Plan items as a GeoJSON FeatureCollection (point on each hazard; no mine positions)."""
    ids = sorted({str(r["hazard_id"]) for r in items})
    pts: dict[str, list[float]] = {}
    h = s.hazard.c
    with store.read() as conn:
        for i in range(0, len(ids), 500):
            for r in conn.execute(
                select(h.hazard_id, h.minx, h.miny, h.maxx, h.maxy).where(
                    h.hazard_id.in_(ids[i : i + 500])
                )
            ):
                pts[r[0]] = [round((r[1] + r[3]) / 2, 6), round((r[2] + r[4]) / 2, 6)]
    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": pts[str(r["hazard_id"])]}
            if str(r["hazard_id"]) in pts
            else None,
            "properties": {
                k: r[k]
                for k in (
                    "team",
                    "seq",
                    "package_id",
                    "hazard_id",
                    "stage",
                    "region",
                    "area_m2",
                    "start_date",
                    "end_date",
                    "frozen",
                    "task_id",
                )
                if k in r
            },
        }
        for r in items
    ]
    return {"type": "FeatureCollection", "features": feats}


# --- accept --------------------------------------------------------------------------------


def accept_plan(store: Store, plan_id: str, *, actor: str | None) -> dict[str, Any]:
    """Create planned tasks from a draft plan (exactly once) and supersede the earlier plan.

    Items kept in place from work in progress keep their existing task. Tasks of earlier
    accepted plans that have not started are cancelled (noted "superseded by PLAN").
    """
    p, it, t = s.plan_run, s.plan_item, s.task
    at = now()
    with store.write() as conn:
        row = conn.execute(
            select(p.c.status, p.c.accepted_at).where(p.c.plan_id == plan_id)
        ).first()
        if row is None:
            raise NotFoundError(f"no plan {plan_id!r}")
        done = conn.execute(
            update(p)
            .where(p.c.plan_id == plan_id, p.c.status == "draft")
            .values(status="accepted", accepted_at=at, accepted_by=actor, version=p.c.version + 1)
        )
        if done.rowcount != 1:
            raise ConflictError(
                f"plan {plan_id} is {row[0]}, not a draft: its tasks were created when it was "
                "accepted; run a new plan to change them"
            )
        orgs = dict(conn.execute(select(s.hazard.c.hazard_id, s.hazard.c.organisation)).all())
        items = (
            conn.execute(select(it).where(it.c.plan_id == plan_id).order_by(it.c.team, it.c.seq))
            .mappings()
            .all()
        )
        created = kept = 0
        for n, r in enumerate(items, start=1):
            if r["task_id"]:
                kept += 1
                continue
            if r["hazard_id"] not in orgs:
                raise ConflictError(
                    f"hazard {r['hazard_id']} of plan {plan_id} no longer exists; run a new plan"
                )
            task_id = f"{plan_id}-{n:05d}"
            conn.execute(
                insert(t).values(
                    task_id=task_id,
                    hazard_id=r["hazard_id"],
                    organisation=orgs[r["hazard_id"]],
                    activity_type=STAGE_ACTIVITY[Stage(r["stage"])],
                    team=r["team"],
                    planned_start=r["start_date"],
                    planned_end=r["end_date"],
                    status="planned",
                    notes=f"plan {plan_id}: package {r['package_id']}, {r['area_m2']:.0f} m2",
                    plan_id=plan_id,
                    created_at=at,
                    updated_at=at,
                    version=1,
                )
            )
            conn.execute(update(it).where(it.c.id == r["id"]).values(task_id=task_id))
            created += 1
        older = [
            x[0]
            for x in conn.execute(
                select(p.c.plan_id).where(p.c.status == "accepted", p.c.plan_id != plan_id)
            )
        ]
        cancelled = 0
        if older:
            cancelled = conn.execute(
                update(t)
                .where(t.c.plan_id.in_(older), t.c.status == "planned")
                .values(
                    status="cancelled",
                    notes=f"superseded by plan {plan_id}",
                    updated_at=at,
                    version=t.c.version + 1,
                )
            ).rowcount
            conn.execute(
                update(p)
                .where(p.c.plan_id.in_(older))
                .values(status="superseded", version=p.c.version + 1)
            )
        audit(
            conn,
            actor=actor,
            action="accept",
            entity="plan",
            entity_id=plan_id,
            details={
                "tasks_created": created,
                "kept_in_progress": kept,
                "tasks_cancelled": cancelled,
                "superseded": older,
            },
        )
    return {
        "plan_id": plan_id,
        "tasks_created": created,
        "kept_in_progress": kept,
        "tasks_cancelled": cancelled,
        "superseded": older,
    }


# --- forecast and backtest -----------------------------------------------------------------


def forecast_settings(
    cal: Calibration,
    samples: int,
    seed: int,
    inputs: Inputs | None = None,
    new_hazards: bool = False,
    work_selection: bool = True,
    pace: bool = True,
    pace_competing: bool = False,
    pace_months: int = 0,
    pace_after_months: int = 12,
) -> ForecastSettings:
    """Forecast uncertainty from the calibration where history exists.

    Work selection (``work_selection``): hazards are taken up by the fitted curves (never
    worked on / already worked on, by idle months) for the ``pace_after_months`` months the
    record covers; with ``pace`` what is still waiting then is taken up at the programme's
    observed pace (fitted monthly counts and spread of first take-ups and of going on, in
    the curves' order), with no cap; ``pace_after_months=0``: the pace from the start;
    ``pace_competing``: hazards reported at the observed rate compete for the first take-ups
    (for ``pace_months`` months). Without ``pace``: the curves' tails, capped (the previous
    model).

    Capacity: with ``inputs`` built with utilisation, the monthly utilisation of the 12
    months before the cut-off (per class) gives the forecast's sampled capacity paths.
    ``new_hazards``: hazards reported in those months are resampled as new contamination
    competing for the teams (off by default: measured on the region demo backtest, the
    planner's priority order lets small new hazards overtake the stock far more than the
    programme's record shows; see docs/plan-operations.md).

    Per-team factor: the spread of team rates around their class mean (teams with at least 3
    reports, at least 3 teams in a class and terrain; prior 0.2 otherwise). Programme-wide
    factor per (class, terrain): the uncertainty of the fitted mean, pooled per-report
    log-sigma / sqrt(reports per cell), kept within [0.1, 0.3] (0.3 is the prior when
    nothing is fitted: past productivity does not guarantee the future's).
    """
    capacity: dict[str, Any] = {}
    if inputs is not None and inputs.utilisation_months:
        capacity = {
            "utilisation_months": tuple(
                (a.value, v) for a, v in sorted(inputs.utilisation_months.items())
            ),
            "utilisation_applied": tuple(
                (a.value, u) for a, u in sorted(inputs.utilisation_applied.items())
            ),
            "inflow": inputs.inflow if new_hazards else (),
            "utilisation_first_month": (
                (inputs.utilisation_first_month.year, inputs.utilisation_first_month.month)
                if inputs.utilisation_first_month
                else ()
            ),
        }
    if work_selection and inputs is not None and inputs.tasking and inputs.tasking.fitted:
        capacity["tasking"] = inputs.tasking.probability
        capacity["hazard_idle_months"] = tuple(sorted(inputs.idle_months.items()))
        capacity["capacity_ceiling"] = True
        capacity["tasking_sigma"] = inputs.tasking.tempo_sigma
        first, again = inputs.tasking_first, inputs.tasking_again
        if first and again and first.fitted and again.fitted:
            capacity["tasking"] = first.probability
            capacity["tasking_again"] = again.probability
            capacity["worked_hazards"] = inputs.worked
        if pace and inputs.pace is not None and inputs.pace_again is not None:
            capacity["pace"] = True
            capacity["pace_per_month"] = inputs.pace.per_month
            capacity["pace_sigma"] = inputs.pace.sigma
            capacity["pace_again_per_month"] = inputs.pace_again.per_month
            capacity["pace_again_sigma"] = inputs.pace_again.sigma
            capacity["pace_after_months"] = pace_after_months
            capacity["pace_months"] = pace_months
            if pace_competing:
                capacity["pace_new_per_month"] = inputs.pace.new_per_month
    fits = [f for f in cal.rates if f.fitted]
    if not fits:
        return ForecastSettings(samples=samples, seed=seed, **capacity)
    mean_n = sum(f.reports for f in fits) / len(fits)
    class_sigma = min(0.3, max(0.1, cal.log_sigma() / math.sqrt(mean_n)))
    return ForecastSettings(
        samples=samples,
        seed=seed,
        team_sigma=cal.team_sigma,
        productivity_sigma=class_sigma,
        **capacity,
    )


#: What a forecast's completion dates assume (shown with every forecast: never read one
#: scenario as the other).
SCENARIOS = {
    "observed_pace": "at the programme's observed pace",
    "whole_stock": "whole stock at reported rates",
    "capped_take_up": "take-up curves with a capped tail (previous model)",
}


def scenario_of(settings: ForecastSettings) -> str:
    """Which scenario a forecast's settings describe (a key of SCENARIOS).

    >>> scenario_of(ForecastSettings()), scenario_of(ForecastSettings(tasking=(0.1,), pace=True))
    ('whole_stock', 'observed_pace')
    """
    if not settings.tasking:
        return "whole_stock"
    return "observed_pace" if settings.pace else "capped_take_up"


def _scenario_text(settings: ForecastSettings) -> str:
    """One line saying what the completion dates assume."""
    key = scenario_of(settings)
    if key == "whole_stock":
        return (
            f"{SCENARIOS[key]}: every open hazard available from the start, the teams working "
            "through it by the plan's priorities (a what-if: not how the programme has taken "
            "hazards up)"
        )
    if key == "capped_take_up":
        return f"{SCENARIOS[key]}: take-up drawn from the curves' tails, capped at 20 years"
    return (
        f"{SCENARIOS[key]}: hazards taken up as the record shows for "
        f"{settings.pace_after_months} months, then {settings.pace_per_month:.1f} never-worked "
        f"hazards and {settings.pace_again_per_month:.1f} going-on take-ups a month (fitted "
        "counts, in the record's order); new contamination not included"
    )


def _finite(x: float) -> float | None:
    """Rounded to 0.1, or None when not finite (no date on one side)."""
    return round(x, 1) if math.isfinite(x) else None


def forecast_summary(
    result: Forecast,
    problem: PlanningProblem,
    deadline: date | None,
    marginal: Sequence[Any] = (),
) -> dict[str, Any]:
    """JSON-compatible P10/P50/P90 by region and programme, P(deadline), marginal effects."""
    rows = []
    for r in result.table():
        name = None if r["region"] == "programme" else str(r["region"])
        row = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()}
        if deadline is not None:
            row["p_deadline"] = round(result.probability_by(deadline, name), 4)
        rows.append(row)
    return {
        "start": problem.start.isoformat(),
        "samples": result.settings.samples,
        "settings": {
            k: v
            for k, v in dataclasses.asdict(result.settings).items()
            if k not in ("inflow", "utilisation_months", "hazard_idle_months", "worked_hazards")
        }
        | {
            "work_selection": bool(result.settings.tasking),
            "hazards_worked_on_before": len(result.settings.worked_hazards),
            "inflow_packages_per_month": [len(m) for m in result.settings.inflow],
            "utilisation_months": dict(result.settings.utilisation_months),
        },
        # how much is done soon (the completion dates rest on the slowest hazards)
        "packages_done_within_years": {
            str(y): round(float(np.median((result.package_days <= 365.25 * y).mean(axis=1))), 4)
            for y in (1, 2, 5, 10)
        },
        "scenario": scenario_of(result.settings),
        "scenario_label": _scenario_text(result.settings),
        # packages that no sample completes at the observed pace (a pace of 0): no date
        "packages_without_date": int(np.median(np.isinf(result.package_days).sum(axis=1))),
        "deadline": deadline.isoformat() if deadline else None,
        "p_deadline": round(result.probability_by(deadline), 4) if deadline else None,
        "regions": rows,
        "marginal": [
            {
                "asset": m.asset.value,
                "p50_days_saved": _finite(m.p50_days_saved),
                "p90_days_saved": _finite(m.p90_days_saved),
                "objective_saved_share": round(m.objective_saved_share, 4),
            }
            for m in marginal
        ],
    }


#: The largest forecast a web request runs itself, in work packages x (samples + 1) x forecasts
#: run (one, +1 to compare scenarios, +1 per asset class for the marginal effect of a team): about 15 s of CPU (region demo, 2,000 hazards, 20 samples). On a
#: national programme (100,000 hazards) the first sample costs ~80 s and each further one ~36 s:
#: there the forecast belongs to a planning run (in the background) or to the CLI.
HTTP_FORECAST_WORK = 100_000


def run_forecast(
    store: Store,
    *,
    samples: int = 50,
    seed: int = 0,
    deadline: date | None = None,
    marginal: bool = False,
    as_of: date | None = None,
    options: PlanOptions | None = None,
    teams_rows: Sequence[Mapping[str, Any]] | None = None,
    calendars: Mapping[str, Any] | None = None,
    progress: Progress = _noop,
    work_selection: bool = True,
    compare: bool = False,
    max_work: int | None = None,
) -> tuple[dict[str, Any], Forecast, Inputs]:
    """Monte Carlo forecast from the calibrated inputs (fast planner re-run per sample);
    ``compare``: also the other scenario (whole stock / observed pace), its dates in
    ``compare`` (same samples and seed: twice the time); ``max_work``: refuse a forecast of
    more work packages x (samples + 1) x forecasts run (see :data:`HTTP_FORECAST_WORK`)."""
    if not 1 <= samples <= 5000:
        raise ValidationError("samples must be between 1 and 5000", where="samples")
    progress("loading approved data")
    data = load_programme(store, as_of)
    inputs = build_inputs(
        store, data, options or PlanOptions(bound=False), teams_rows=teams_rows, calendars=calendars
    )
    n = len(inputs.problem.packages)
    # forecasts run: this one, the other scenario's, one more per asset class for the marginal
    runs = 1 + compare + (len({t.asset for t in inputs.problem.teams}) if marginal else 0)
    if max_work is not None and n * (samples + 1) * runs > max_work:
        raise ValidationError(
            f"a forecast of {n} work packages with {samples} samples is too large to run "
            "inside a web request; start a planning run with a forecast on the plans page "
            "(it runs in the background) or run `mineaction plan forecast` on the server",
            where="samples",
        )
    out, fc = forecast_inputs(
        inputs,
        samples=samples,
        seed=seed,
        deadline=deadline,
        marginal=marginal,
        progress=progress,
        work_selection=work_selection,
    )
    if compare:
        other, _ = forecast_inputs(
            inputs,
            samples=samples,
            seed=seed,
            deadline=deadline,
            progress=progress,
            work_selection=not work_selection,
        )
        out["compare"] = {
            k: other[k] for k in ("scenario", "scenario_label", "regions", "p_deadline")
        }
    out["pace"] = inputs.pace.as_dict() if inputs.pace else None
    out["pace_again"] = inputs.pace_again.as_dict() if inputs.pace_again else None
    out["calibration"] = inputs.calibration.as_dict()
    out["source"] = data.source
    out["notes"] = inputs.notes
    return out, fc, inputs


def forecast_inputs(
    inputs: Inputs,
    *,
    samples: int = 50,
    seed: int = 0,
    deadline: date | None = None,
    marginal: bool = False,
    progress: Progress = _noop,
    work_selection: bool = True,
) -> tuple[dict[str, Any], Forecast]:
    """Monte Carlo forecast of built inputs: summary (P10/P50/P90, P(deadline), marginal
    effect of one more team per class) and the samples."""
    settings = forecast_settings(
        inputs.calibration, samples, seed, inputs, work_selection=work_selection
    )
    progress(f"forecast: {samples} samples")
    fc = forecast(inputs.problem, settings)
    effects: list[Any] = []
    if marginal:
        progress("marginal effect of one more team per class")
        effects = marginal_team_effects(inputs.problem, settings, baseline=fc)
    return forecast_summary(fc, inputs.problem, deadline, effects), fc


def _on_or_before(day: date | None, end: date) -> bool:
    return day is not None and day <= end


def _months_after(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    last = [31, 29 if (d.year + y) % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m]
    return date(d.year + y, m + 1, min(d.day, last))


def _band(samples_v: np.ndarray, actual: float) -> dict[str, Any]:
    p10, p50, p90 = (float(x) for x in np.percentile(samples_v, [10, 50, 90]))
    return {
        "actual": round(actual, 1),
        "p10": round(p10, 1),
        "p50": round(p50, 1),
        "p90": round(p90, 1),
        "error": round((p50 - actual) / actual, 4) if actual > 0 else None,
        "covered": bool(p10 <= actual <= p90),
    }


#: backtest release measures: name -> (stage that releases it, Release attribute)
_OUTCOMES = (
    ("cancelled_m2", Stage.NTS, "cancelled_m2"),
    ("reduced_m2", Stage.TS, "reduced_m2"),
    ("cleared_m2", Stage.CLEARANCE, "cleared_m2"),
)


def backtest(
    store: Store,
    as_of: date,
    *,
    months: int = 12,
    period_months: int = 3,
    samples: int = 50,
    seed: int = 0,
    teams_rows: Sequence[Mapping[str, Any]] | None = None,
    calendars: Mapping[str, Any] | None = None,
    progress: Progress = _noop,
    capacity_paths: bool = True,
    count_stages: bool = True,
    new_hazards: bool = False,
    work_selection: bool = True,
    utilisation: bool = True,
    pace: bool = True,
    pace_competing: bool = False,
    pace_after_months: int = 12,
) -> dict[str, Any]:
    """Forecast from the data as of ``as_of`` and compare with what happened afterwards.

    Compared per period end (cumulative from ``as_of``), on the hazards open at ``as_of``:
    m² released (each stage's released m² counts when the stage ends in the forecast - NTS
    cancels, TS reduces, clearance clears; each approved activity report's released m² on its
    date in reality), the same by outcome and by region (at the last observed period), and
    hazards completed. Reports the P50 error and whether the actual value lies in the P10-P90
    range. ``capacity_paths`` / ``count_stages`` switch the model parts off and
    ``new_hazards`` on (to measure them).
    """
    today = load_programme(store, None)
    last_day = max((r.day for r in today.releases), default=as_of)
    if as_of >= last_day:
        raise ValidationError(
            f"nothing happened after {as_of}: the latest approved activity is dated {last_day}",
            where="--as-of",
        )
    progress(f"replaying the ledger as of {as_of}")
    then = load_programme(store, as_of)
    if not then.open_hazards():
        raise ValidationError(f"no open hazard as of {as_of}", where="--as-of")
    options = PlanOptions(
        start=as_of + timedelta(days=1), bound=False, weights="equal", utilisation=utilisation
    )
    inputs = build_inputs(store, then, options, teams_rows=teams_rows, calendars=calendars)
    settings = forecast_settings(
        inputs.calibration,
        samples,
        seed,
        inputs if capacity_paths or work_selection else None,
        new_hazards,
        work_selection,
        pace=pace,
        pace_competing=pace_competing,
        pace_months=months + 12 if pace_competing else 0,
        pace_after_months=pace_after_months,
    )
    if not capacity_paths:
        settings = dataclasses.replace(settings, utilisation_months=(), inflow=())
    progress(f"forecast from {as_of}: {samples} samples")
    fc = forecast(inputs.problem, settings, keep_stages=True)
    pk = inputs.problem.packages
    area = np.asarray([p.area_m2 for p in pk])
    hz_ids = sorted({p.hazard_id for p in pk})
    hz_ix = {h: i for i, h in enumerate(hz_ids)}
    pk_hz = np.asarray([hz_ix[p.hazard_id] for p in pk])
    hz_done_day = np.zeros((fc.package_days.shape[0], len(hz_ids)))
    np.maximum.at(hz_done_day.T, pk_hz, fc.package_days.T)
    open_then = set(hz_ids)
    region_of = {p.hazard_id: p.region for p in pk}
    now_state = {h.hazard_id: h for h in today.hazards}
    window = [r for r in today.releases if r.hazard_id in open_then and as_of < r.day]
    periods = []
    end_all = _months_after(as_of, months)
    k = 1
    while True:
        end = min(_months_after(as_of, period_months * k), end_all)
        day = (end - as_of).days
        rel_now = [r for r in window if r.day <= end]
        if count_stages:
            rel_samples = fc.released_by(day)
        else:  # the first session's measure: a package's area when its last stage ends
            rel_samples = (fc.package_days <= day).astype(float) @ area
        done_samples = (hz_done_day <= day).sum(axis=1).astype(float)
        actual_done = sum(
            1
            for h in open_then
            if h in now_state
            and now_state[h].status in DONE
            and _on_or_before(now_state[h].closed_on, end)
        )
        row: dict[str, Any] = {"period_end": end.isoformat(), "observed": end <= last_day}
        row["released_m2"] = _band(rel_samples, sum(r.m2 for r in rel_now))
        row["hazards_completed"] = _band(done_samples, float(actual_done))
        row["by_outcome"] = {
            name: _band(fc.released_by(day, stage=stage), sum(getattr(r, attr) for r in rel_now))
            for name, stage, attr in _OUTCOMES
        }
        periods.append(row)
        if end >= end_all:
            break
        k += 1
    observed = [p for p in periods if p["observed"]]
    by_region: dict[str, Any] = {}
    if observed:
        last = observed[-1]
        end = date.fromisoformat(last["period_end"])
        day = (end - as_of).days
        for name in sorted({p.region for p in pk}):
            actual = sum(r.m2 for r in window if r.day <= end and region_of[r.hazard_id] == name)
            by_region[name] = _band(fc.released_by(day, region=name), actual)
    measures = ("released_m2", "hazards_completed")
    cov = [p[m]["covered"] for p in observed for m in measures]
    errs = [abs(p[m]["error"]) for p in observed for m in measures if p[m]["error"] is not None]

    def share(flags: list[bool]) -> float | None:
        return round(sum(flags) / len(flags), 4) if flags else None

    return {
        "as_of": as_of.isoformat(),
        "source": then.source,
        "history_until": last_day.isoformat(),
        "hazards_open_then": len(hz_ids),
        "packages": len(pk),
        "teams": len(inputs.problem.teams),
        "samples": samples,
        "settings": {
            "capacity_paths": bool(settings.utilisation_months),
            "count_stages": count_stages,
            "new_hazards": bool(settings.inflow),
            "work_selection": bool(settings.tasking),
            "pace": settings.pace,
            "pace_competing": settings.pace_new_per_month > 0,
            "productivity_sigma": settings.productivity_sigma,
            "team_sigma": settings.team_sigma,
        },
        "calibration": inputs.calibration.as_dict(),
        "tasking": inputs.tasking.as_dict() if inputs.tasking else None,
        "tasking_first": inputs.tasking_first.as_dict() if inputs.tasking_first else None,
        "tasking_again": inputs.tasking_again.as_dict() if inputs.tasking_again else None,
        "pace": inputs.pace.as_dict() if inputs.pace else None,
        "pace_again": inputs.pace_again.as_dict() if inputs.pace_again else None,
        "periods": periods,
        "by_region": by_region,
        "coverage_p10_p90": share(cov),
        "coverage_by_measure": {
            "released_m2": share([p["released_m2"]["covered"] for p in observed]),
            "hazards_completed": share([p["hazards_completed"]["covered"] for p in observed]),
            "by_outcome": share([v["covered"] for p in observed for v in p["by_outcome"].values()]),
            "by_region": share([v["covered"] for v in by_region.values()]),
        },
        "mean_abs_error_p50": round(sum(errs) / len(errs), 4) if errs else None,
        "notes": inputs.notes
        + [
            "forecast counts each stage's released m² when the stage ends (NTS cancelled, TS "
            "reduced, clearance cleared); reality counts each approved activity report's "
            "released m² on its date",
            "teams are today's teams (the database keeps no team history)",
        ],
    }


def to_json(obj: Any) -> str:
    """Indented JSON (dates as ISO strings)."""
    return json.dumps(obj, indent=2, default=str)

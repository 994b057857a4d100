"""``mineaction plan``: calibrate, plan, store, accept, forecast and backtest."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from mineaction.cli._common import Context, echo_json, echo_table, fmt_m2, pass_ctx
from mineaction.errors import ValidationError
from mineaction.services import plan_charts as charts
from mineaction.services import planning as svc


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{value!r} is not a date YYYY-MM-DD", where=option) from None


@contextmanager
def _steps(desc: str) -> Iterator[Callable[[str], None]]:
    """A progress bar that advances at every named step (on stderr, hidden when not a TTY)."""
    bar = tqdm(total=None, desc=desc, unit=" steps", file=sys.stderr, disable=None, leave=False)

    def step(name: str) -> None:
        bar.set_postfix_str(name[:60])
        bar.update(1)

    try:
        yield step
    finally:
        bar.close()


def _inputs(teams: str | None, calendars: str | None) -> tuple[Any, Any]:
    rows = None
    if teams:
        data = svc.read_yaml(teams, "teams")
        rows = data.get("teams") if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise ValidationError("a teams file is a list of teams (or teams: [...])", where=teams)
    cal = svc.read_yaml(calendars, "calendars") if calendars else None
    return rows, cal


TEAMS_HELP = (
    "YAML list of teams: id, asset (manual|dogs|mechanical|ts|nts), home (region P-code), "
    "optional rates {terrain: m2/team-day}. Default: the teams in the database."
)
CAL_HELP = (
    "YAML calendars: default {monthly_fraction [12], weekly_rest [0-6], annual_holidays "
    "[MM-DD], holidays [dates], closures [{start, end, fraction, reason}]}, regions {P-CODE: "
    "same keys}, travel {default_days, pairs [[A, B, days]]}. Default: the demo calendar "
    "(winter Dec-Feb at 20 %, Sunday rest, public holidays)."
)


@click.group()
def plan() -> None:
    """Plan the work: teams -> ordered work packages with dates, forecasts, backtests.

    Inputs come from the approved reports: open hazards (cut into work packages of at most
    --max-team-days), release ratios and productivity calibrated from completed work
    (`mineaction plan calibrate`), weights from the latest `mineaction prioritise` run.
    Tasks already in progress stay on their team (re-planning keeps them in place).

    \b
    Examples:
      mineaction plan calibrate
      mineaction plan run --out plan-out/
      mineaction plan list
      mineaction plan accept P-20261125...
      mineaction plan forecast --deadline 2028-12-31 --marginal
      mineaction plan backtest --as-of 2025-10-31
    """


@plan.command("calibrate")
@click.option("--as-of", "as_of", help="Use only data approved and dated up to YYYY-MM-DD.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write FILE.json or FILE.csv.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@pass_ctx
def calibrate_cmd(ctx: Context, as_of: str | None, out: str | None, fmt: str) -> None:
    """Show release ratios and productivity fitted from approved reports.

    Stage shares need at least 10 completed hazards that went through the stage; a rate
    needs at least 8 activity reports with team-days for its asset class and terrain.
    Below that the documented defaults are used (column 'source').
    """
    cal = svc.calibrate_store(ctx.store(), _date(as_of, "--as-of"))
    d = cal.as_dict()
    if out:
        if out.lower().endswith(".csv"):
            Path(out).write_text(svc.calibration_csv(cal), encoding="utf-8")
        elif out.lower().endswith(".json"):
            Path(out).write_text(svc.to_json(d), encoding="utf-8")
        else:
            raise ValidationError("calibration file must end in .csv or .json", where="--out")
    if fmt == "json":
        echo_json(d)
        return
    click.echo(
        f"calibrated from {d['completed_hazards']} completed hazards and "
        f"{d['activity_reports']} activity reports (cut-off {d['cut_off']})"
    )
    echo_table(
        [
            [st["stage"].upper(), f"{st['share_released']:.3f}", st["hazards"], st["source"]]
            for st in d["stages"]
        ],
        ["stage", "share released", "hazards", "source"],
    )
    rel = d["release"]
    click.echo(
        f"release ratios of suspected area: cancelled {rel['cancelled']:.3f}, reduced "
        f"{rel['reduced']:.3f}, cleared {rel['cleared']:.3f}"
    )
    echo_table(
        [
            [
                r["asset"],
                r["terrain"],
                fmt_m2(r["rate_m2_per_team_day"]),
                r["reports"],
                fmt_m2(r["p10"]),
                fmt_m2(r["p50"]),
                fmt_m2(r["p90"]),
                f"{r['lognormal_sigma']:.3f}",
                r["source"],
            ]
            for r in d["rates"]
        ],
        ["asset", "terrain", "m2/team-day", "reports", "P10", "P50", "P90", "log-sigma", "source"],
    )
    for k, v in d["excluded"].items():
        click.echo(f"not used: {v} report(s): {k}")


def _show_plan(p: dict[str, Any], top: int) -> None:
    gap = f"{p['gap'] * 100:.1f} %" if p.get("gap") is not None else "-"
    summ = p["summary"]
    click.echo(f"plan {p['plan_id']} ({p['status']}), method {p['method']}")
    click.echo(
        f"  start {p['start_date']}, data cut-off {p['data_cutoff']}, config {p['config_hash'][:12]}"
    )
    click.echo(
        f"  {p['package_count']} work packages on {summ.get('hazards')} hazards "
        f"({fmt_m2(summ.get('area_m2'))} m2), {p['team_count']} teams; all done by "
        f"{summ.get('completion')}"
    )
    bound = f"{p['bound']:.6g} ({p['bound_method']})" if p.get("bound") is not None else "-"
    click.echo(
        f"  objective {p['objective']:.6g} [{p['objective_kind']}], bound {bound}, gap {gap}"
    )
    for n in summ.get("notes", []):
        click.echo(f"  note: {n}")
    rows = summ.get("annual_targets", [])
    by_year: dict[int, list[float]] = {}
    for r in rows:
        v = by_year.setdefault(int(r["year"]), [0.0, 0.0, 0.0, 0.0])
        v[0] += r["cancelled_m2"]
        v[1] += r["reduced_m2"]
        v[2] += r["cleared_m2"]
        v[3] += r["packages_completed"]
    click.echo("annual targets (all regions; per region in annual_targets.csv):")
    echo_table(
        [
            [y, fmt_m2(v[0]), fmt_m2(v[1]), fmt_m2(v[2]), int(v[3])]
            for y, v in sorted(by_year.items())
        ],
        ["year", "cancelled m2", "reduced m2", "cleared m2", "packages done"],
    )
    items = p.get("items", [])
    if items and top:
        first = sorted(items, key=lambda r: (r["start_date"], r["team"]))[:top]
        click.echo(f"first {len(first)} of {len(items)} assignments:")
        echo_table(
            [
                [
                    r["team"],
                    r["package_id"],
                    r["stage"],
                    r["region"],
                    fmt_m2(r["area_m2"]),
                    r["start_date"],
                    r["end_date"],
                    "yes" if r["frozen"] else "",
                ]
                for r in first
            ],
            ["team", "package", "stage", "region", "m2", "start", "end", "in progress"],
        )


@plan.command("run")
@click.option("--teams", type=click.Path(dir_okay=False), help=TEAMS_HELP)
@click.option("--calendars", type=click.Path(dir_okay=False), help=CAL_HELP)
@click.option(
    "--start", help="First day of the plan YYYY-MM-DD (default: day after the data cut-off)."
)
@click.option(
    "--as-of", "as_of", help="Plan from the data as it stood at YYYY-MM-DD (replayed ledger)."
)
@click.option(
    "--scope", help="Only hazards in this region (P-code prefix) or of this organisation."
)
@click.option(
    "--max-team-days",
    type=float,
    default=svc.DEFAULT_MAX_TEAM_DAYS,
    show_default=True,
    help="Largest work package in reference team-days.",
)
@click.option(
    "--time-limit", type=float, default=20.0, show_default=True, help="Seconds of local search."
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--bound/--no-bound",
    default=True,
    show_default=True,
    help="Compute the lower bound and the gap.",
)
@click.option(
    "--bound-time", type=float, default=60.0, show_default=True, help="Seconds for the bound."
)
@click.option(
    "--horizon-years", type=float, help="Objective: weighted benefit delivered by this horizon."
)
@click.option(
    "--weights",
    type=click.Choice(["priority", "equal"]),
    default="priority",
    show_default=True,
    help="Hazard weights: latest prioritisation scores, or all equal.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Write plan.csv, teams/*.csv, gantt.png/svg, curves.png, annual_targets.csv, calibration.json.",
)
@click.option(
    "--utilisation/--no-utilisation",
    default=True,
    show_default=True,
    help="Scale rates by the share of workable time teams spent on reported land release "
    "in the last 12 months (classes with at least 8 reports).",
)
@click.option("--no-save", is_flag=True, help="Do not store the plan in the database.")
@click.option("--top", type=int, default=15, show_default=True, help="Assignments to show.")
@pass_ctx
def run_cmd(
    ctx: Context,
    teams: str | None,
    calendars: str | None,
    start: str | None,
    as_of: str | None,
    scope: str | None,
    max_team_days: float,
    time_limit: float,
    seed: int,
    bound: bool,
    bound_time: float,
    horizon_years: float | None,
    weights: str,
    out: str | None,
    utilisation: bool,
    no_save: bool,
    top: int,
) -> None:
    """Build work packages from open hazards and plan them on the teams; store the plan.

    The planner minimises the sum over hazards of priority weight x completion day
    (calendar-aware dispatching + local search); the lower bound (time-indexed LP, or its
    Lagrangian dual when the LP does not finish in --bound-time) gives the gap.
    """
    rows, cal = _inputs(teams, calendars)
    opts = svc.PlanOptions(
        start=_date(start, "--start"),
        max_team_days=max_team_days,
        time_limit=time_limit,
        seed=seed,
        bound=bound,
        bound_time=bound_time,
        horizon_years=horizon_years,
        weights=weights,
        scope=scope,
        utilisation=utilisation,
    )
    store = ctx.store()
    with _steps("planning") as step:
        result = svc.run_plan(
            store,
            opts,
            teams_rows=rows,
            calendars=cal,
            as_of=_date(as_of, "--as-of"),
            save=not no_save,
            created_by="cli",
            progress=step,
        )
    stored = _unsaved(result) if no_save else svc.get_plan(store, result.plan_id)
    _show_plan(stored, top)
    if out:
        files = charts.write_outputs(stored, out)
        click.echo(f"wrote {len(files)} files to {out}")
    if not no_save:
        click.echo(
            f"stored as {result.plan_id}; accept it with: mineaction plan accept {result.plan_id}"
        )


def _unsaved(result: svc.PlanResult) -> dict[str, Any]:
    """A plan dict shaped like a stored one, for --no-save."""
    from mineaction.core.planning.outputs import team_task_lists

    items = [
        {
            "team": team,
            "seq": r.order,
            "package_id": r.package_id,
            "hazard_id": r.hazard_id,
            "stage": r.stage.value,
            "region": r.region,
            "area_m2": r.area_m2,
            "start_date": r.start.isoformat(),
            "end_date": r.end.isoformat(),
            "frozen": r.frozen,
            "task_id": None,
        }
        for team, rows in team_task_lists(result.plan).items()
        for r in rows
    ]
    inp = result.inputs
    return {
        "plan_id": f"{result.plan_id} (not stored)",
        "status": "unsaved",
        "method": result.plan.method,
        "start_date": inp.problem.start.isoformat(),
        "data_cutoff": inp.data.cut_off.isoformat(),
        "config_hash": inp.config_hash,
        "package_count": len(inp.problem.packages),
        "team_count": len(inp.problem.teams),
        "objective": result.objective,
        "objective_kind": "sum weight x completion day",
        "bound": result.bound.value if result.bound else None,
        "bound_method": result.bound.method if result.bound else None,
        "gap": result.gap,
        "summary": svc.orjson.loads(svc.orjson.dumps(result.summary(), default=str)),
        "items": items,
    }


@plan.command("list")
@click.option("--limit", type=int, default=20, show_default=True)
@pass_ctx
def list_cmd(ctx: Context, limit: int) -> None:
    """Stored plans, newest first."""
    rows = svc.list_plans(ctx.store(), limit=limit)
    if not rows:
        click.echo("no plans yet: run `mineaction plan run`")
        return
    echo_table(
        [
            [
                r["plan_id"],
                r["status"],
                r["created_at"][:16],
                r["data_cutoff"],
                r["package_count"],
                r["team_count"],
                r["completion"],
                f"{r['gap'] * 100:.1f} %" if r["gap"] is not None else "-",
            ]
            for r in rows
        ],
        ["plan", "status", "created", "cut-off", "packages", "teams", "all done", "gap"],
    )


@plan.command("show")
@click.argument("plan_id", default="latest")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "geojson"]),
    default="table",
    show_default=True,
)
@click.option("--team", help="Only this team's task list.")
@click.option(
    "--out", type=click.Path(file_okay=False), help="Write the plan's files to this folder."
)
@click.option("--top", type=int, default=15, show_default=True)
@pass_ctx
def show_cmd(
    ctx: Context, plan_id: str, fmt: str, team: str | None, out: str | None, top: int
) -> None:
    """Show a stored plan (PLAN_ID or 'latest'); export its files with --out."""
    store = ctx.store()
    p = svc.get_plan(store, plan_id)
    if team is not None:
        p["items"] = [r for r in p["items"] if r["team"] == team]
        if not p["items"]:
            raise ValidationError(
                f"team {team!r} has no work in plan {p['plan_id']}", where="--team"
            )
    if out:
        files = charts.write_outputs(p, out)
        click.echo(f"wrote {len(files)} files to {out}", err=True)
    if fmt == "json":
        echo_json(p)
    elif fmt == "csv":
        click.echo(svc.items_csv(p["items"]), nl=False)
    elif fmt == "geojson":
        echo_json(svc.items_geojson(store, p["items"]))
    else:
        _show_plan(p, top if team is None else len(p["items"]))


@plan.command("accept")
@click.argument("plan_id")
@pass_ctx
def accept_cmd(ctx: Context, plan_id: str) -> None:
    """Accept a draft plan: create its planned tasks (once) and supersede the previous plan."""
    r = svc.accept_plan(ctx.store(), plan_id, actor="cli")
    click.echo(
        f"plan {plan_id} accepted: {r['tasks_created']} tasks created, "
        f"{r['kept_in_progress']} in progress kept, {r['tasks_cancelled']} planned tasks of "
        f"earlier plans cancelled"
    )


def _when(day: Any) -> str:
    """A completion date, or why there is none."""
    return "no date (not taken up at the pace)" if day is None else str(day)


def _forecast_table(d: dict[str, Any]) -> None:
    if d.get("scenario_label"):
        click.echo(f"scenario: {d['scenario_label']}")
    other = d.get("compare")
    headers = ["region", "P10", "P50", "P90"]
    if d.get("deadline"):
        headers.append(f"P(by {d['deadline']})")
    if other:
        headers.append(f"P50, {svc.SCENARIOS[other['scenario']]}")
        click.echo(f"compared with: {other['scenario_label']}")
    p50_other = {r["region"]: r["p50"] for r in other["regions"]} if other else {}
    echo_table(
        [
            [r["region"], _when(r["p10"]), _when(r["p50"]), _when(r["p90"])]
            + ([f"{r['p_deadline'] * 100:.0f} %"] if d.get("deadline") else [])
            + ([_when(p50_other.get(r["region"]))] if other else [])
            for r in d["regions"]
        ],
        headers,
    )
    if d.get("packages_without_date"):
        why = [
            f"{name}: "
            + (
                "no take-up in the record's months"
                if p["source"] == "fitted"
                else "too little history to fit it"
            )
            for name, p in (("first take-ups", d.get("pace")), ("going on", d.get("pace_again")))
            if p and p["first_take_ups_per_month"] == 0
        ]
        click.echo(
            f"{d['packages_without_date']} work packages are never taken up at the observed "
            "pace, so they have no completion date"
            + (f" ({'; '.join(why)})" if why else "")
            + "; --whole-stock gives the what-if of working through the whole stock"
        )
    if d.get("marginal"):
        click.echo("one more team of each class (same samples):")
        echo_table(
            [
                [
                    m["asset"],
                    m["p50_days_saved"],
                    m["p90_days_saved"],
                    f"{m['objective_saved_share'] * 100:.1f} %",
                ]
                for m in d["marginal"]
            ],
            ["class", "P50 days earlier", "P90 days earlier", "weighted delay saved"],
        )


@plan.command("forecast")
@click.option("--samples", type=int, default=50, show_default=True, help="Monte Carlo samples.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--deadline", help="Treaty deadline YYYY-MM-DD: probability of completion by then.")
@click.option("--marginal", is_flag=True, help="Also the effect of one more team of each class.")
@click.option("--as-of", "as_of", help="Forecast from the data as it stood at YYYY-MM-DD.")
@click.option("--teams", type=click.Path(dir_okay=False), help=TEAMS_HELP)
@click.option("--calendars", type=click.Path(dir_okay=False), help=CAL_HELP)
@click.option("--scope", help="Only hazards in this region (P-code prefix) or organisation.")
@click.option(
    "--out", type=click.Path(file_okay=False), help="Write forecast.json and forecast.png."
)
@click.option(
    "--work-selection/--whole-stock",
    default=True,
    show_default=True,
    help="Take hazards up as the programme's record shows (fitted tasking curves), or let "
    "the teams work through the whole stock by the plan's priorities (what-if).",
)
@click.option(
    "--compare/--no-compare",
    default=True,
    show_default=True,
    help="Also forecast the other scenario (whole stock / observed pace) and show its P50 "
    "side by side (twice the time).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@pass_ctx
def forecast_cmd(
    ctx: Context,
    samples: int,
    seed: int,
    deadline: str | None,
    marginal: bool,
    as_of: str | None,
    teams: str | None,
    calendars: str | None,
    scope: str | None,
    out: str | None,
    fmt: str,
    work_selection: bool = True,
    compare: bool = True,
) -> None:
    """P10/P50/P90 completion per region and programme (Monte Carlo over productivity,
    survey outcomes, team losses and closures, and which hazards the programme takes up
    when, with calibrated inputs).

    Default scenario: at the programme's observed pace - hazards taken up as its record
    shows for the 12 months the record covers, then what is still waiting at the fitted
    monthly number of take-ups, in the record's order (no new contamination). --whole-stock:
    every open hazard available from the start at the reported rates (a what-if). With
    --compare (default) both P50s are shown side by side.
    """
    rows, cal = _inputs(teams, calendars)
    with _steps("forecast") as step:
        d, _, _ = svc.run_forecast(
            ctx.store(),
            samples=samples,
            seed=seed,
            deadline=_date(deadline, "--deadline"),
            marginal=marginal,
            as_of=_date(as_of, "--as-of"),
            options=svc.PlanOptions(bound=False, scope=scope),
            teams_rows=rows,
            calendars=cal,
            progress=step,
            work_selection=work_selection,
            compare=compare,
        )
    if out:
        o = Path(out)
        o.mkdir(parents=True, exist_ok=True)
        (o / "forecast.json").write_text(svc.to_json(d), encoding="utf-8")
        (o / "forecast.png").write_bytes(charts.forecast_bands(d))
        click.echo(f"wrote forecast.json and forecast.png to {out}", err=True)
    if fmt == "json":
        echo_json(d)
        return
    click.echo(f"forecast from {d['start']} ({d['samples']} samples; {d['source']})")
    _forecast_table(d)
    if d.get("deadline"):
        click.echo(
            f"probability the programme completes by {d['deadline']}: {d['p_deadline'] * 100:.0f} %"
        )


@plan.command("backtest")
@click.option("--as-of", "as_of", required=True, help="Past date YYYY-MM-DD to forecast from.")
@click.option(
    "--months", type=int, default=12, show_default=True, help="Months compared after --as-of."
)
@click.option("--period-months", type=int, default=3, show_default=True, help="Length of a period.")
@click.option("--samples", type=int, default=50, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--teams", type=click.Path(dir_okay=False), help=TEAMS_HELP)
@click.option(
    "--new-hazards",
    is_flag=True,
    help="Also resample the hazards reported in the last 12 months as new contamination "
    "competing for the teams (measured: the plan's priorities let them overtake the stock).",
)
@click.option("--calendars", type=click.Path(dir_okay=False), help=CAL_HELP)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option(
    "--work-selection/--whole-stock",
    default=True,
    show_default=True,
    help="Take hazards up as the programme's record shows (fitted tasking curves), or let "
    "the teams work through the whole stock by the plan's priorities (what-if).",
)
@pass_ctx
def backtest_cmd(
    ctx: Context,
    as_of: str,
    months: int,
    period_months: int,
    samples: int,
    seed: int,
    teams: str | None,
    calendars: str | None,
    fmt: str,
    new_hazards: bool = False,
    work_selection: bool = True,
) -> None:
    """Forecast from the ledger as of a past date and compare with what happened after it.

    Uses only reports approved by the end of --as-of and dated up to it (calibration
    included); compares m2 released and hazards completed per period with the P10-P90 range.
    """
    if months < 1 or period_months < 1:
        raise ValidationError("--months and --period-months must be >= 1")
    rows, cal = _inputs(teams, calendars)
    d0 = _date(as_of, "--as-of")
    assert d0 is not None
    with _steps("backtest") as step:
        d = svc.backtest(
            ctx.store(),
            d0,
            months=months,
            period_months=period_months,
            samples=samples,
            seed=seed,
            teams_rows=rows,
            calendars=cal,
            progress=step,
            new_hazards=new_hazards,
            work_selection=work_selection,
        )
    if fmt == "json":
        echo_json(d)
        return
    click.echo(
        f"backtest from {d['as_of']}: {d['hazards_open_then']} hazards open then, "
        f"{d['packages']} packages, {d['teams']} teams, {d['samples']} samples; history until "
        f"{d['history_until']}"
    )
    table = []
    for p in d["periods"]:
        measures = [(m, p[m]) for m in ("released_m2", "hazards_completed")]
        measures += [(f"  {k}", v) for k, v in p["by_outcome"].items()]
        for m, v in measures:
            table.append(
                [
                    p["period_end"] + ("" if p["observed"] else " (no data)"),
                    m,
                    fmt_m2(v["actual"]),
                    fmt_m2(v["p10"]),
                    fmt_m2(v["p50"]),
                    fmt_m2(v["p90"]),
                    "-" if v["error"] is None else f"{v['error'] * 100:+.0f} %",
                    "yes" if v["covered"] else "no",
                ]
            )
    echo_table(table, ["to", "measure", "actual", "P10", "P50", "P90", "P50 error", "in P10-P90"])
    if d["by_region"]:
        click.echo(f"released m² by region to {d['periods'][-1]['period_end']}:")
        echo_table(
            [
                [
                    name,
                    fmt_m2(v["actual"]),
                    fmt_m2(v["p10"]),
                    fmt_m2(v["p50"]),
                    fmt_m2(v["p90"]),
                    "yes" if v["covered"] else "no",
                ]
                for name, v in d["by_region"].items()
            ],
            ["region", "actual", "P10", "P50", "P90", "in P10-P90"],
        )
    by = d["coverage_by_measure"]
    click.echo(
        "coverage by measure: "
        + ", ".join(f"{k} {'-' if v is None else f'{v * 100:.0f} %'}" for k, v in by.items())
    )
    cov = d["coverage_p10_p90"]
    err = d["mean_abs_error_p50"]
    click.echo(
        f"coverage of the P10-P90 range: {'-' if cov is None else f'{cov * 100:.0f} %'} "
        f"(nominal 80 %); mean |P50 error|: {'-' if err is None else f'{err * 100:.0f} %'}"
    )
    for n in d["notes"]:
        click.echo(f"note: {n}")

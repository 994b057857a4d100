"""Web pages for plans: the list, one plan (Gantt, curves, annual targets, accept) and forecast."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from mineaction.core.access import Role
from mineaction.core.planning.packages import calendars_from_dict, teams_from_list
from mineaction.errors import MineActionError, PermissionDeniedError, ValidationError
from mineaction.services import plan_jobs
from mineaction.services import planning as svc
from mineaction.web.i18n import L_, gettext, translate, use_language
from mineaction.web.notes import explain_note, region_label, state_label
from mineaction.web.pages import CurrentUser, language, render

router = APIRouter(include_in_schema=False)

#: Roles that may accept a plan on the page (the route is guarded by the policy too).
ACCEPTERS = frozenset({Role.ADMIN, Role.IM_OFFICER, Role.OPERATIONS})


def _store(request: Request) -> Any:
    return request.app.state.store


def _jobs(request: Request) -> plan_jobs.PlanJobs:
    """The app's background planner (created on first use)."""
    state = request.app.state
    jobs = getattr(state, "plan_jobs", None)
    if jobs is None:
        jobs = state.plan_jobs = plan_jobs.PlanJobs(_store(request))
    return jobs


def _regions(request: Request) -> list[tuple[str, str]]:
    """Planning regions (admin level 2 P-code, name) for the scope choice."""
    from sqlalchemy import select

    from mineaction.store import schema as s

    with _store(request).read() as conn:
        rows = conn.execute(
            select(s.location.c.pcode, s.location.c.name)
            .where(s.location.c.admin_level == 2)
            .order_by(s.location.c.pcode)
        ).all()
    return [(str(p), str(n)) for p, n in rows]


def _plans_page(
    request: Request,
    user: Any,
    *,
    error: MineActionError | None = None,
    form: Any = None,
    status: int = 200,
) -> HTMLResponse:
    may_run = getattr(user, "role", None) in ACCEPTERS
    jobs = getattr(request.app.state, "plan_jobs", None)
    return render(
        request,
        "plans.html",
        user,
        plans=svc.list_plans(_store(request)),
        may_run=may_run,
        regions=_regions(request) if may_run else [],
        runs=[j.as_dict() for j in jobs.recent()] if jobs is not None else [],
        error=error,
        form=form or {},
        status_code=status,
    )


def chart_texts(request: Request, user: Any, result: dict[str, Any]) -> dict[str, str]:
    """The words of a forecast chart in the page's language."""
    scenario = str(result.get("scenario_label") or "").split(":")[0]
    with use_language(language(request, user)):
        return {
            "title": gettext("Completion forecast: P10-P90 (bar), P50 (dot)"),
            "deadline": gettext("deadline"),
            "no date": gettext("no date"),
            "programme": region_label("programme"),
            scenario: explain_note(scenario),
        }


@router.get("/plans", response_class=HTMLResponse)
def plans_page(request: Request, user: CurrentUser) -> HTMLResponse:
    """Stored plans, newest first, and the form that starts a planning run."""
    return _plans_page(request, user)


@router.post("/plans/run", response_class=HTMLResponse)
async def plan_run(request: Request, user: CurrentUser) -> Response:
    """Start a planning run in the background (scope, horizon, options, optional teams and
    calendars YAML, optional forecast); show its progress page."""
    if getattr(user, "role", None) not in ACCEPTERS:
        raise PermissionDeniedError(
            L_("only admin, IM officer and operations roles start plan runs")
        )
    raw = await request.form()
    form = {k: str(v) for k, v in raw.items() if isinstance(v, str)}
    try:
        options, fc = plan_jobs.options_from_form(form)
        teams = _yaml_field(form, "teams_yaml", "teams")
        calendars = _yaml_field(form, "calendars_yaml", None)
        if teams is not None and not isinstance(teams, list):
            raise ValidationError(
                L_("teams YAML is a list of teams (or {teams: [...]})"), where="teams"
            )
        if calendars is not None and not isinstance(calendars, dict):
            raise ValidationError(L_("calendars YAML is a mapping"), where="calendars")
        if teams is not None:  # check the file now: errors belong on the form
            teams_from_list(teams, {}, "R", where="teams")
        calendars_from_dict(calendars)
        job = _jobs(request).submit(
            options,
            created_by=getattr(user, "username", None),
            teams_rows=teams,
            calendars=calendars,
            forecast=fc,
        )
    except MineActionError as exc:
        return _plans_page(request, user, error=exc, form=form, status=exc.http_status)
    return RedirectResponse(f"/plans/runs/{quote(job.job_id)}", status_code=303)


def _yaml_field(form: dict[str, str], name: str, key: str | None) -> Any:
    text = (form.get(name) or "").strip()
    if not text:
        return None
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        from mineaction.io.gis import yaml_error_text

        raise ValidationError(yaml_error_text(exc), where=name) from None
    if key is not None and isinstance(data, dict) and key in data:
        data = data[key]
    return data


@router.get("/plans/runs/{job_id}.json")
def plan_run_state(request: Request, user: CurrentUser, job_id: str) -> JSONResponse:
    """A planning run's state (polled by its page), with its state and step in the user's language."""
    state = _jobs(request).get(job_id).as_dict()
    with use_language(language(request, user)):
        state["status_text"] = state_label(state["status"])
        state["message_text"] = explain_note(translate(state.get("error") or state["message"]))
    return JSONResponse(state)


@router.get("/plans/runs/{job_id}", response_class=HTMLResponse)
def plan_run_page(request: Request, user: CurrentUser, job_id: str) -> Response:
    """A planning run's progress; once the plan is stored, the plan itself."""
    job = _jobs(request).get(job_id)
    if job.status == "done" and job.plan_id:
        return RedirectResponse(f"/plans/{quote(job.plan_id)}?run={quote(job_id)}", status_code=303)
    return render(request, "plan_run.html", user, job=job.as_dict(), qjob=quote(job_id))


@router.get("/plans/{plan_id}", response_class=HTMLResponse)
def plan_page(request: Request, user: CurrentUser, plan_id: str) -> HTMLResponse:
    """One plan: figures, Gantt chart, curves, annual targets, calibration, accept button."""
    p = svc.get_plan(_store(request), plan_id)
    by_team: dict[str, int] = {}
    for r in p["items"]:
        by_team[r["team"]] = by_team.get(r["team"], 0) + 1
    years: dict[int, dict[str, float]] = {}
    for t in p["summary"]["annual_targets"]:
        y = years.setdefault(
            int(t["year"]), {"cancelled": 0.0, "reduced": 0.0, "cleared": 0.0, "packages": 0}
        )
        y["cancelled"] += t["cancelled_m2"]
        y["reduced"] += t["reduced_m2"]
        y["cleared"] += t["cleared_m2"]
        y["packages"] += t["packages_completed"]
    forecast_chart = None
    if p["summary"].get("forecast"):
        from mineaction.services import plan_charts

        fc = p["summary"]["forecast"]
        svg = plan_charts.forecast_bands(fc, "svg", chart_texts(request, user, fc)).decode("utf-8")
        forecast_chart = svg[svg.find("<svg") :]
    return render(
        request,
        "plan.html",
        user,
        plan=p,
        forecast_chart=forecast_chart,
        teams=by_team,
        years=sorted(years.items()),
        accepted=request.query_params.get("accepted"),
        can_accept=getattr(user, "role", None) in ACCEPTERS and p["status"] == "draft",
        qid=quote(p["plan_id"]),
    )


ChartFormat = Literal["png", "svg"]
_CHART_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
_PRIVATE = {"Cache-Control": "private, max-age=60"}


@router.get("/plans/{plan_id}/gantt.png")
def plan_gantt_image(
    request: Request, user: CurrentUser, plan_id: str, format: ChartFormat = "png"
) -> Response:
    """The plan's Gantt chart with its words in the page's language (PNG, or SVG)."""
    from mineaction.services import plan_charts

    p = svc.get_plan(_store(request), plan_id)
    with use_language(language(request, user)):
        title = gettext("Plan %(id)s (%(method)s)") % {"id": p["plan_id"], "method": p["method"]}
        texts = {
            "NTS": gettext("NTS"),
            "TS": gettext("TS"),
            "clearance": gettext("clearance"),
            "in progress (kept)": gettext("in progress (kept)"),
            "more": gettext(" (first %(n)s of %(m)s teams)") % {"n": "{n}", "m": "{m}"},
        }
    chart = plan_charts.gantt(p["items"], format, title=title, texts=texts)
    return Response(chart, media_type=_CHART_TYPES[format], headers=_PRIVATE)


@router.get("/plans/{plan_id}/curves.png")
def plan_curves_image(
    request: Request, user: CurrentUser, plan_id: str, format: ChartFormat = "png"
) -> Response:
    """The plan's cumulative curves with their titles in the page's language (PNG, or SVG)."""
    from mineaction.services import plan_charts

    p = svc.get_plan(_store(request), plan_id, items=False)
    with use_language(language(request, user)):
        texts = {
            "benefit": gettext("Cumulative priority-weighted benefit"),
            "released": gettext("Expected land released (km²)"),
        }
    chart = plan_charts.curves(p["summary"], format, texts=texts)
    return Response(chart, media_type=_CHART_TYPES[format], headers=_PRIVATE)


@router.post("/plans/{plan_id}/accept")
def plan_accept(request: Request, user: CurrentUser, plan_id: str) -> Response:
    """Accept a draft plan (creates its tasks once) and show it again."""
    r = svc.accept_plan(_store(request), plan_id, actor=getattr(user, "username", None))
    return RedirectResponse(
        f"/plans/{quote(plan_id)}?accepted={r['tasks_created']}", status_code=303
    )


@router.get("/forecast", response_class=HTMLResponse)
def forecast_page(request: Request, user: CurrentUser) -> HTMLResponse:
    """Completion forecast (P10/P50/P90 by region, probability of meeting a deadline)."""
    q = request.query_params
    result = None
    chart = None
    deadline = q.get("deadline") or ""
    samples = q.get("samples") or "20"
    if q.get("run"):
        try:
            n = int(samples)
            d = date.fromisoformat(deadline) if deadline else None
        except ValueError:
            raise ValidationError(
                L_("samples is a number and deadline a date YYYY-MM-DD")
            ) from None
        if not 1 <= n <= 200:
            raise ValidationError(L_("samples must be between 1 and 200"), where="samples")
        result, _, _ = svc.run_forecast(
            _store(request),
            samples=n,
            deadline=d,
            marginal=bool(q.get("marginal")),
            compare=bool(q.get("compare")),
            max_work=svc.HTTP_FORECAST_WORK,
        )
        from mineaction.services import plan_charts

        texts = chart_texts(request, user, result)
        chart = plan_charts.forecast_bands(result, "svg", texts).decode("utf-8")
        chart = chart[chart.find("<svg") :]
    return render(
        request,
        "forecast.html",
        user,
        result=result,
        chart=chart,
        deadline=deadline,
        samples=samples,
        marginal=bool(q.get("marginal")),
        compare=bool(q.get("compare")),
    )

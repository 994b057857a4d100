"""Web pages for plans: the list, one plan (Gantt, curves, annual targets, accept) and forecast."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mineaction.core.access import Role
from mineaction.errors import ValidationError
from mineaction.services import planning as svc
from mineaction.web.pages import CurrentUser, render

router = APIRouter(include_in_schema=False)

#: Roles that may accept a plan on the page (the route is guarded by the policy too).
ACCEPTERS = frozenset({Role.ADMIN, Role.IM_OFFICER, Role.OPERATIONS})


def _store(request: Request) -> Any:
    return request.app.state.store


@router.get("/plans", response_class=HTMLResponse)
def plans_page(request: Request, user: CurrentUser) -> HTMLResponse:
    """Stored plans, newest first."""
    return render(request, "plans.html", user, plans=svc.list_plans(_store(request)))


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
    return render(
        request,
        "plan.html",
        user,
        plan=p,
        teams=by_team,
        years=sorted(years.items()),
        accepted=request.query_params.get("accepted"),
        can_accept=getattr(user, "role", None) in ACCEPTERS and p["status"] == "draft",
        qid=quote(p["plan_id"]),
    )


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
            raise ValidationError("samples is a number and deadline a date YYYY-MM-DD") from None
        if not 1 <= n <= 200:
            raise ValidationError("samples must be between 1 and 200", where="samples")
        result, _, _ = svc.run_forecast(
            _store(request), samples=n, deadline=d, marginal=bool(q.get("marginal"))
        )
        from mineaction.services import plan_charts

        chart = plan_charts.forecast_bands(result, "svg").decode("utf-8")
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
    )

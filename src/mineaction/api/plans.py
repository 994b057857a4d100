"""``/api/v1/plans``, ``/api/v1/forecast``, ``/api/v1/calibration``: planning over HTTP.

Runs are synchronous and bounded (at most 10 s of search and 10 s for the bound; the CLI
allows longer runs). Plans cover the whole programme, so they are for national roles.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from mineaction.api.common import COMMON, errors
from mineaction.services import plan_charts as charts
from mineaction.services import planning as svc
from mineaction.web.auth import CurrentUser

router = APIRouter(prefix="/api/v1", tags=["planning"])


class TeamIn(BaseModel):
    """A team: id, asset class, home region (P-code), optional rates by terrain and own
    availability calendar (leave, rotation, stand-downs; the calendar keys of docs)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=100)
    asset: Literal["manual", "dogs", "mdd", "mechanical", "ts", "nts"]
    home: str | None = Field(default=None, max_length=100)
    rates: dict[str, Annotated[float, Field(ge=0, le=1_000_000)]] | None = None
    availability: dict[str, Any] | None = None


class PlanIn(BaseModel):
    """Options of a planning run (teams and calendars default to the database / demo)."""

    model_config = ConfigDict(extra="forbid")

    start: date | None = None
    max_team_days: float = Field(default=svc.DEFAULT_MAX_TEAM_DAYS, gt=0, le=1000)
    time_limit: float = Field(default=5.0, ge=0, le=10)
    seed: int = Field(default=0, ge=0, le=2**31)
    bound: bool = True
    bound_time: float = Field(default=5.0, ge=0.1, le=10)
    weights: Literal["priority", "equal"] = "priority"
    scope: str | None = Field(default=None, max_length=100)
    teams: list[TeamIn] | None = Field(default=None, max_length=5000)
    calendars: dict[str, Any] | None = None


class PlanMeta(BaseModel):
    """A stored plan's metadata."""

    plan_id: str
    status: str
    created_at: str
    created_by: str | None = None
    start_date: str
    data_cutoff: str
    config_hash: str
    objective_kind: str
    objective: float
    bound: float | None = None
    bound_method: str | None = None
    gap: float | None = None
    method: str
    package_count: int
    team_count: int
    duration_s: float | None = None
    accepted_at: str | None = None
    accepted_by: str | None = None
    version: int
    completion: str | None = None


class PlanOut(PlanMeta):
    """A stored plan with its summary (curves, annual targets, calibration) and items."""

    summary: dict[str, Any]
    items: list[dict[str, Any]] | None = None


class AcceptOut(BaseModel):
    """What accepting a plan did."""

    plan_id: str
    tasks_created: int
    kept_in_progress: int
    tasks_cancelled: int
    superseded: list[str]


def _store(request: Request) -> Any:
    return request.app.state.store


@router.get("/plans", response_model=list[PlanMeta], responses=errors(*COMMON))
def list_plans(
    request: Request, user: CurrentUser, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> Any:
    """Stored plans, newest first."""
    return svc.list_plans(_store(request), limit=limit)


@router.post("/plans", status_code=201, response_model=PlanMeta, responses=errors(*COMMON))
def run_plan(body: PlanIn, request: Request, response: Response, user: CurrentUser) -> Any:
    """Plan the open hazards on the teams (calibrated inputs) and store the plan as a draft."""
    opts = svc.PlanOptions(
        start=body.start,
        max_team_days=body.max_team_days,
        time_limit=body.time_limit,
        seed=body.seed,
        bound=body.bound,
        bound_time=body.bound_time,
        weights=body.weights,
        scope=body.scope,
    )
    teams = [t.model_dump(exclude_none=True) for t in body.teams] if body.teams else None
    result = svc.run_plan(
        _store(request), opts, teams_rows=teams, calendars=body.calendars, created_by=user.username
    )
    response.headers["Location"] = f"/api/v1/plans/{result.plan_id}"
    out = svc.get_plan(_store(request), result.plan_id, items=False)
    return out | {"completion": out["summary"].get("completion")}


@router.get("/plans/{plan_id}", response_model=PlanOut, responses=errors(*COMMON, 404))
def show_plan(
    plan_id: str,
    request: Request,
    user: CurrentUser,
    items: bool = False,
) -> Any:
    """A stored plan ('latest' for the newest); ``items=true`` adds its assignments."""
    out = svc.get_plan(_store(request), plan_id, items=items)
    return out | {"completion": out["summary"].get("completion")}


@router.get(
    "/plans/{plan_id}/tasks.geojson",
    response_class=Response,
    responses={
        200: {
            "content": {"application/geo+json": {"schema": {"type": "object"}}},
            "description": "Plan items as GeoJSON (a point on each hazard)",
        },
        **errors(*COMMON, 404),
    },
)
def plan_geojson(plan_id: str, request: Request, user: CurrentUser) -> Response:
    """The plan's assignments as GeoJSON points (hazard centres; no mine positions)."""
    import orjson

    p = svc.get_plan(_store(request), plan_id)
    body = orjson.dumps(svc.items_geojson(_store(request), p["items"]))
    return Response(body, media_type="application/geo+json")


@router.get(
    "/plans/{plan_id}/tasks.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"},
        **errors(*COMMON, 404),
    },
)
def plan_csv(plan_id: str, request: Request, user: CurrentUser) -> Response:
    """The plan's assignments as CSV (team, order, package, hazard, stage, dates)."""
    p = svc.get_plan(_store(request), plan_id)
    return Response(
        svc.items_csv(p["items"]),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{p["plan_id"]}.csv"'},
    )


def _image(data: bytes, fmt: str) -> Response:
    return Response(data, media_type="image/svg+xml" if fmt == "svg" else "image/png")


IMAGE = {
    200: {
        "content": {
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/svg+xml": {"schema": {"type": "string"}},
        },
        "description": "Chart",
    },
    **errors(*COMMON, 404),
}


@router.get("/plans/{plan_id}/gantt", response_class=Response, responses=IMAGE)
def plan_gantt(
    plan_id: str,
    request: Request,
    user: CurrentUser,
    format: Literal["png", "svg"] = "png",
    teams: Annotated[int, Query(ge=1, le=500)] = 80,
) -> Response:
    """Gantt chart of the plan (one row per team, bars by stage; work in progress hatched)."""
    p = svc.get_plan(_store(request), plan_id)
    title = f"Plan {p['plan_id']} ({p['method']})"
    return _image(charts.gantt(p["items"], format, max_teams=teams, title=title), format)


@router.get("/plans/{plan_id}/curves", response_class=Response, responses=IMAGE)
def plan_curves(
    plan_id: str, request: Request, user: CurrentUser, format: Literal["png", "svg"] = "png"
) -> Response:
    """Cumulative benefit and expected released area of the plan."""
    p = svc.get_plan(_store(request), plan_id, items=False)
    return _image(charts.curves(p["summary"], format), format)


@router.post(
    "/plans/{plan_id}/accept", response_model=AcceptOut, responses=errors(*COMMON, 404, 409)
)
def accept_plan(plan_id: str, request: Request, user: CurrentUser) -> Any:
    """Accept a draft plan: create its tasks (exactly once); earlier plans are superseded."""
    return svc.accept_plan(_store(request), plan_id, actor=user.username)


@router.get("/forecast", response_model=dict[str, Any], responses=errors(*COMMON))
def forecast(
    request: Request,
    user: CurrentUser,
    samples: Annotated[int, Query(ge=1, le=200)] = 30,
    seed: Annotated[int, Query(ge=0, le=2**31)] = 0,
    deadline: date | None = None,
    marginal: bool = False,
    as_of: date | None = None,
    scope: Annotated[str | None, Query(max_length=100)] = None,
    whole_stock: bool = False,
    compare: bool = False,
) -> Any:
    """P10/P50/P90 completion by region and programme from calibrated inputs; probability of
    meeting ``deadline``; with ``marginal=true`` the effect of one more team per class.

    ``scenario`` / ``scenario_label`` in the answer say what the dates assume: at the
    programme's observed pace (default) or, with ``whole_stock=true``, the whole stock at
    reported rates; ``compare=true`` adds the other scenario's dates (``compare``)."""
    out, _, _ = svc.run_forecast(
        _store(request),
        samples=samples,
        seed=seed,
        deadline=deadline,
        marginal=marginal,
        as_of=as_of,
        options=svc.PlanOptions(bound=False, scope=scope or None),
        work_selection=not whole_stock,
        compare=compare,
        max_work=svc.HTTP_FORECAST_WORK,
    )
    return out


@router.get("/calibration", response_model=dict[str, Any], responses=errors(*COMMON))
def calibration(request: Request, user: CurrentUser, as_of: date | None = None) -> Any:
    """Release ratios and productivity fitted from approved reports (defaults where too few)."""
    return svc.calibrate_store(_store(request), as_of).as_dict()

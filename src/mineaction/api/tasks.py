"""``/api/v1/tasks``: planned work on hazards; changes need ``If-Match`` (optimistic concurrency)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from mineaction.api.common import COMMON, errors, etag, expected_version
from mineaction.api.query import (
    Resource,
    get_record,
    item_model,
    list_records,
    page_model,
    parse_sort,
)
from mineaction.core.access import Scope
from mineaction.services import tasks as svc
from mineaction.store import schema as s
from mineaction.web.auth import CurrentUser

router = APIRouter(prefix="/api/v1", tags=["tasks"])

TASKS = Resource(
    "tasks",
    s.task,
    "task_id",
    via_hazard=True,
    date_col="planned_start",
    filters=("hazard_id", "status", "plan_id"),
)
SORTABLE = ["task_id", "hazard_id", "planned_start", "planned_end", "status", "updated_at"]
TaskItem = item_model(TASKS)
TaskPage = page_model(TaskItem)
Status = Literal["planned", "in_progress", "done", "cancelled"]
ActivityType = Literal["NTS", "TS", "CLEARANCE", "BAC", "EOD"]


class TaskIn(BaseModel):
    """A new task on a hazard."""

    model_config = ConfigDict(extra="forbid")

    hazard_id: str = Field(min_length=1, max_length=100)
    task_id: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[\w.:/\-]+$")
    activity_type: ActivityType
    organisation: str | None = Field(default=None, max_length=100)
    team: str | None = Field(default=None, max_length=100)
    planned_start: date | None = None
    planned_end: date | None = None
    status: Status = "planned"
    notes: str | None = Field(default=None, max_length=2000)


class TaskPatch(BaseModel):
    """Changes to a task."""

    model_config = ConfigDict(extra="forbid")

    activity_type: ActivityType | None = None
    organisation: str | None = Field(default=None, max_length=100)
    team: str | None = Field(default=None, max_length=100)
    planned_start: date | None = None
    planned_end: date | None = None
    status: Status | None = None
    notes: str | None = Field(default=None, max_length=2000)


def _get(request: Request, scope: Scope, task_id: str) -> dict[str, Any]:
    with request.app.state.store.read() as conn:
        return get_record(conn, TASKS, scope, task_id)


@router.get("/tasks", response_model=TaskPage, responses=errors(*COMMON))
def list_tasks(
    request: Request,
    user: CurrentUser,
    hazard_id: Annotated[str | None, Query(max_length=100)] = None,
    status: Status | None = None,
    organisation: Annotated[str | None, Query(max_length=100)] = None,
    admin_area: Annotated[str | None, Query(max_length=50)] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    sort: Annotated[str | None, Query(description=f"'-' for descending: {SORTABLE}")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:
    """Planned and ongoing tasks."""
    store = request.app.state.store
    with store.read() as conn:
        listing = list_records(
            conn,
            TASKS,
            user.scope,
            within=Scope(organisation or None, admin_area or None),
            equals={"hazard_id": hazard_id, "status": status},
            date_from=date_from,
            date_to=date_to,
            sort=parse_sort(sort, SORTABLE),
            limit=limit,
            offset=offset,
            dialect=store.dialect,
        )
    return {
        "items": listing.records,
        "total": listing.total,
        "limit": listing.limit,
        "offset": listing.offset,
    }


@router.post(
    "/tasks", status_code=201, response_model=TaskItem, responses=errors(*COMMON, 404, 409)
)
def create_task(body: TaskIn, request: Request, response: Response, user: CurrentUser) -> Any:
    """Plan work on a hazard."""
    with request.app.state.store.read() as conn:
        get_record(conn, _HAZARD, user.scope, body.hazard_id)
    out = svc.create_task(request.app.state.store, body.model_dump(), actor=user.username)
    response.headers["ETag"] = etag(out["version"])
    response.headers["Location"] = f"/api/v1/tasks/{out['task_id']}"
    return out


@router.get("/tasks/{task_id}", response_model=TaskItem, responses=errors(*COMMON, 404))
def show_task(task_id: str, request: Request, response: Response, user: CurrentUser) -> Any:
    """One task; its ETag is needed to change it."""
    out = _get(request, user.scope, task_id)
    response.headers["ETag"] = etag(out["version"])
    return out


@router.patch("/tasks/{task_id}", response_model=TaskItem, responses=errors(*COMMON, 404, 412, 428))
def change_task(
    task_id: str,
    body: TaskPatch,
    request: Request,
    response: Response,
    user: CurrentUser,
    if_match: Annotated[str | None, Header()] = None,
) -> Any:
    """Change a task (needs If-Match; 412 if someone changed it since you read it)."""
    version = expected_version(if_match)
    _get(request, user.scope, task_id)
    out = svc.update_task(
        request.app.state.store,
        task_id,
        body.model_dump(exclude_unset=True),
        expected_version=version,
        actor=user.username,
    )
    response.headers["ETag"] = etag(out["version"])
    return out


from mineaction.api.hazards import HAZARDS as _HAZARD  # noqa: E402

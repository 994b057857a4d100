"""``/api/v1/hazards``: current state, history and explanation of each hazard."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from mineaction.api.common import COMMON, errors, etag
from mineaction.api.query import (
    FeatureCollection,
    Resource,
    get_record,
    item_model,
    list_records,
    page_model,
    parse_bbox,
    parse_sort,
    to_feature,
)
from mineaction.core.access import Scope
from mineaction.services import ledger
from mineaction.store import reports as repo
from mineaction.store import schema as s
from mineaction.web.auth import CurrentUser

router = APIRouter(prefix="/api/v1", tags=["hazards"])
GEOJSON = "application/geo+json"

HAZARDS = Resource(
    "hazards",
    s.hazard,
    "hazard_id",
    location_col="location",
    date_col="last_date",
    geom_col="geom",
    hidden=("minx", "miny", "maxx", "maxy"),
    filters=("status", "classification"),
    default_sort=None,
    bbox_columns=True,
)
SORTABLE = [
    "hazard_id",
    "name",
    "organisation",
    "classification",
    "status",
    "location",
    "area_m2",
    "remaining_m2",
    "cleared_m2",
    "last_date",
    "first_date",
]
HazardItem = item_model(HAZARDS)
HazardPage = page_model(HazardItem)


class Step(BaseModel):
    """What one approved report did to the hazard."""

    report_id: str
    type: str
    date_of_information: str
    approval_seq: int
    organisation: str
    status_before: str | None
    status_after: str
    classification_after: str
    cancelled_m2: float
    reduced_m2: float
    cleared_m2: float
    remaining_m2: float
    area_m2: float
    expansion_m2: float
    notes: list[str]


class Explanation(BaseModel):
    """The hazard's state replayed from its approved reports, and every step."""

    hazard_id: str
    as_of: str | None
    state: dict[str, Any]
    steps: list[Step]


class HistoryEntry(BaseModel):
    """A report about the hazard (any workflow state)."""

    report_id: str
    type: str
    organisation: str
    date_of_information: str
    state: str
    approval_seq: int | None = None
    submitted_at: str | None = None
    approved_at: str | None = None


def _hazard_response(access: Scope, request: Request, hazard_id: str) -> dict[str, Any]:
    with request.app.state.store.read() as conn:
        return get_record(conn, HAZARDS, access, hazard_id)


@router.get(
    "/hazards",
    response_model=HazardPage,
    responses={
        **errors(*COMMON),
        200: {
            "content": {GEOJSON: {"schema": FeatureCollection.model_json_schema()}},
            "description": "A page of hazards (JSON) or a GeoJSON FeatureCollection",
        },
    },
)
def list_hazards(
    request: Request,
    user: CurrentUser,
    status: Literal["open", "worked_on", "closed", "handed_over"] | None = None,
    classification: Annotated[
        Literal["SHA", "CHA", "EOD_SPOT"] | None, Query(alias="class")
    ] = None,
    organisation: Annotated[str | None, Query(max_length=100)] = None,
    admin_area: Annotated[
        str | None, Query(max_length=50, description="Location P-code prefix")
    ] = None,
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy (WGS84)")] = None,
    date_from: Annotated[date | None, Query(description="Last report on or after")] = None,
    date_to: Annotated[date | None, Query(description="Last report on or before")] = None,
    sort: Annotated[
        str | None, Query(description=f"Comma-separated, '-' descending: {SORTABLE}")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    format: Literal["json", "geojson"] = "json",
) -> Any:
    """Hazards (SHA/CHA) with their current areas in m², filtered and paged."""
    store = request.app.state.store
    with store.read() as conn:
        listing = list_records(
            conn,
            HAZARDS,
            user.scope,
            within=Scope(organisation or None, admin_area or None),
            equals={"status": status, "classification": classification},
            bbox=parse_bbox(bbox),
            date_from=date_from,
            date_to=date_to,
            sort=parse_sort(sort, SORTABLE),
            limit=limit,
            offset=offset,
            dialect=store.dialect,
        )
    if format == "geojson":
        feats = [to_feature(HAZARDS, r) for r in listing.records]
        return JSONResponse(
            {
                "type": "FeatureCollection",
                "features": feats,
                "numberMatched": listing.total,
                "numberReturned": len(feats),
            },
            media_type=GEOJSON,
        )
    return {
        "items": listing.records,
        "total": listing.total,
        "limit": listing.limit,
        "offset": listing.offset,
    }


@router.get("/hazards/{hazard_id}", response_model=HazardItem, responses=errors(*COMMON, 404))
def show_hazard(hazard_id: str, request: Request, response: Response, user: CurrentUser) -> Any:
    """A hazard's current state (derived from its approved reports) with its polygon."""
    rec = _hazard_response(user.scope, request, hazard_id)
    response.headers["ETag"] = etag(int(rec["version"]))
    return rec


@router.get(
    "/hazards/{hazard_id}/history",
    response_model=list[HistoryEntry],
    responses=errors(*COMMON, 404),
)
def hazard_history(hazard_id: str, request: Request, user: CurrentUser) -> Any:
    """Every report about the hazard, in any workflow state, oldest first."""
    _hazard_response(user.scope, request, hazard_id)
    with request.app.state.store.read() as conn:
        rows = repo.list_reports(conn, hazard_id=hazard_id, limit=100_000)
    rows = sorted(rows, key=lambda r: (r["date_of_information"], r["seq"]))
    return [
        {
            "report_id": r["report_id"],
            "type": r["type"],
            "organisation": r["organisation"],
            "date_of_information": r["date_of_information"].isoformat(),
            "state": r["state"],
            "approval_seq": r["approval_seq"],
            "submitted_at": r["submitted_at"].isoformat() if r["submitted_at"] else None,
            "approved_at": r["approved_at"].isoformat() if r["approved_at"] else None,
        }
        for r in rows
    ]


@router.get(
    "/hazards/{hazard_id}/explanation",
    response_model=Explanation,
    responses=errors(*COMMON, 404),
)
def explain_hazard(
    hazard_id: str, request: Request, user: CurrentUser, as_of: date | None = None
) -> Any:
    """How the current state (or the state on ``as_of``) follows from the approved reports."""
    _hazard_response(user.scope, request, hazard_id)
    state, steps = ledger.explain(request.app.state.store, hazard_id, as_of=as_of)
    return {
        "hazard_id": hazard_id,
        "as_of": as_of.isoformat() if as_of else None,
        "state": state.summary(),
        "steps": [st.as_dict() for st in steps],
    }

"""``/api/v1/organisations`` and ``/api/v1/locations``: reference data."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from mineaction.api.common import COMMON, MAX_OFFSET, errors
from mineaction.api.query import (
    Resource,
    get_record,
    item_model,
    list_records,
    page_model,
    parse_sort,
)
from mineaction.core.access import Scope
from mineaction.services.users import record
from mineaction.store import schema as s
from mineaction.store.reference import upsert_organisation
from mineaction.web.auth import CurrentUser

router = APIRouter(prefix="/api/v1", tags=["reference"])

ORGANISATIONS = Resource("organisations", s.organisation, "code", org_cols=())
LOCATIONS = Resource("locations", s.location, "pcode", org_cols=(), geom_col="geom")
OrganisationItem = item_model(ORGANISATIONS)
LocationItem = item_model(LOCATIONS)
OrganisationPage = page_model(OrganisationItem)
LocationPage = page_model(LocationItem)


class OrganisationIn(BaseModel):
    """An organisation to register (or update)."""

    code: str = Field(min_length=1, max_length=100, pattern=r"^[\w.:/\-]+$")
    name: str = Field(min_length=1, max_length=300)
    kind: Literal["authority", "operator", "ngo", "commercial", "military", "qa"] = "operator"
    country: str | None = Field(default=None, max_length=100)


def _page(listing: Any) -> dict[str, Any]:
    return {
        "items": listing.records,
        "total": listing.total,
        "limit": listing.limit,
        "offset": listing.offset,
    }


@router.get("/organisations", response_model=OrganisationPage, responses=errors(*COMMON))
def list_organisations(
    request: Request,
    user: CurrentUser,
    kind: Annotated[str | None, Query(max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Any:
    """Registered organisations (operators, the authority, QA bodies)."""
    with request.app.state.store.read() as conn:
        return _page(
            list_records(
                conn, ORGANISATIONS, Scope(), equals={"kind": kind}, limit=limit, offset=offset
            )
        )


@router.post(
    "/organisations", status_code=201, response_model=OrganisationItem, responses=errors(*COMMON)
)
def add_organisation(body: OrganisationIn, request: Request, user: CurrentUser) -> Any:
    """Register an organisation or update its name and kind (IM officers)."""
    with request.app.state.store.write() as conn:
        upsert_organisation(conn, body.code, body.name, kind=body.kind, country=body.country)
        record(conn, user, "upsert", "organisation", body.code, body.model_dump())
        return get_record(conn, ORGANISATIONS, Scope(), body.code)


@router.get("/locations", response_model=LocationPage, responses=errors(*COMMON))
def list_locations(
    request: Request,
    user: CurrentUser,
    admin_level: Annotated[int | None, Query(ge=0, le=10)] = None,
    parent_pcode: Annotated[str | None, Query(max_length=50)] = None,
    pcode_prefix: Annotated[str | None, Query(max_length=50)] = None,
    sort: Annotated[str | None, Query(description="pcode, name or admin_level")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Any:
    """Admin areas (P-codes) with their parent and level."""
    with request.app.state.store.read() as conn:
        return _page(
            list_records(
                conn,
                LOCATIONS,
                Scope(),
                equals={"admin_level": admin_level, "parent_pcode": parent_pcode},
                prefix={"pcode": pcode_prefix} if pcode_prefix else None,
                sort=parse_sort(sort, ["pcode", "name", "admin_level"]),
                limit=limit,
                offset=offset,
            )
        )


@router.get("/locations/{pcode}", response_model=LocationItem, responses=errors(*COMMON, 404))
def show_location(pcode: str, request: Request, user: CurrentUser) -> Any:
    """One admin area with its boundary."""
    with request.app.state.store.read() as conn:
        return get_record(conn, LOCATIONS, Scope(), pcode)

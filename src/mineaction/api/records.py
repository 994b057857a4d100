"""Read-only record lists: activities, EO, accidents, victims, EORE sessions, QM inspections.

Each gets ``GET /api/v1/<name>`` (paged, filtered, sorted; ``format=geojson`` for spatial
ones) and ``GET /api/v1/<name>/{record_id}``. Victims carry personal data: only roles in
:data:`mineaction.core.access.PERSONAL_DATA` may read them, and every read is audited.
"""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from mineaction.api.common import COMMON, errors
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
from mineaction.errors import NotFoundError, ValidationError
from mineaction.services.users import record_read
from mineaction.store import schema as s
from mineaction.web.auth import CurrentUser

router = APIRouter(prefix="/api/v1", tags=["records"])

GEOJSON = "application/geo+json"

RESOURCES: dict[str, Resource] = {
    "activities": Resource(
        "activities",
        s.activity,
        "report_id",
        via_hazard=True,
        date_col="date_of_information",
        filters=("hazard_id", "activity_type", "stage"),
        default_sort="-date_of_information",
    ),
    "eo": Resource(
        "eo",
        s.eo_item,
        "id",
        via_hazard=True,
        date_col="date",
        geom_col="geom",
        filters=("hazard_id", "category", "source", "report_id"),
        default_sort="-date",
    ),
    "accidents": Resource(
        "accidents",
        s.accident,
        "accident_id",
        location_col="location",
        date_col="date",
        geom_col="geom",
        filters=("hazard_id", "device_category"),
        default_sort="-date",
    ),
    "victims": Resource(
        "victims",
        s.victim,
        "victim_id",
        org_cols=(),
        org_via=(s.accident, "accident_id"),
        filters=("accident_id", "sex", "status"),
    ),
    "eore": Resource(
        "eore",
        s.eore_session,
        "session_id",
        location_col="location",
        date_col="date",
        geom_col="geom",
        filters=("method",),
        default_sort="-date",
    ),
    "qm": Resource(
        "qm",
        s.qm_inspection,
        "inspection_id",
        org_cols=("organisation", "inspected_organisation"),
        via_hazard=False,
        date_col="date",
        filters=("hazard_id", "kind", "inspected_organisation"),
        default_sort="-date",
    ),
}

SUMMARIES = {
    "activities": "Land-release activities (NTS, TS, clearance, BAC, EOD) from approved reports",
    "eo": "Explosive ordnance found (points)",
    "accidents": "EO accidents (no personal data: victims are separate)",
    "victims": "Victims of EO accidents: personal data (admin and IM officers; reads are audited)",
    "eore": "EO risk education sessions",
    "qm": "Quality management inspections (QA/QC) and their non-conformities",
}


def _int_id(res: Resource, record_id: str) -> Any:
    if res.table.c[res.id_col].type.python_type is int:
        try:
            return int(record_id)
        except ValueError:
            raise NotFoundError(f"no {res.name} record {record_id!r}") from None
    return record_id


def _register(res: Resource) -> None:
    item = item_model(res)
    page = page_model(item)
    sortable = [c for c in res.columns if c in (res.date_col, res.id_col, *res.filters)]
    filter_doc = ", ".join(res.filters)
    spatial = res.geom_col is not None
    responses: dict[int | str, dict[str, Any]] = errors(*COMMON)
    if spatial:
        responses[200] = {
            "content": {GEOJSON: {"schema": FeatureCollection.model_json_schema()}},
            "description": "A page of records (JSON) or a GeoJSON FeatureCollection",
        }

    def list_endpoint(
        request: Request,
        user: CurrentUser,
        organisation: Annotated[str | None, Query(max_length=100)] = None,
        admin_area: Annotated[
            str | None, Query(max_length=50, description="Location P-code prefix")
        ] = None,
        hazard_id: Annotated[str | None, Query(max_length=100)] = None,
        filter: Annotated[
            list[str] | None,
            Query(description=f"FIELD=VALUE equality filters on: {filter_doc}", max_length=20),
        ] = None,
        bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy (WGS84)")] = None,
        date_from: date | None = None,
        date_to: date | None = None,
        sort: Annotated[
            str | None, Query(description=f"Comma-separated, '-' for descending: {sortable}")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
        format: Literal["json", "geojson"] = "json",
    ) -> Any:
        equals: dict[str, Any] = {}
        if hazard_id and "hazard_id" in res.table.c:
            equals["hazard_id"] = hazard_id
        for f in filter or []:
            name, sep, value = f.partition("=")
            if not sep or name not in res.filters:
                raise ValidationError(
                    f"filter {f!r}: use FIELD=VALUE with FIELD one of {filter_doc}",
                    where="filter",
                )
            equals[name] = value
        store = request.app.state.store
        with store.read() as conn:
            listing = list_records(
                conn,
                res,
                user.scope,
                within=Scope(organisation or None, admin_area or None),
                equals=equals,
                bbox=parse_bbox(bbox),
                date_from=date_from,
                date_to=date_to,
                sort=parse_sort(sort or res.default_sort, sortable),
                limit=limit,
                offset=offset,
                dialect=store.dialect,
            )
        if res.name == "victims":
            record_read(
                store,
                user,
                "victim",
                None,
                {"ids": [r["victim_id"] for r in listing.records][:1000]},
            )
        if format == "geojson":
            if not spatial:
                raise ValidationError(
                    f"{res.name} have no geometry: use format=json", where="format"
                )
            feats = [to_feature(res, r) for r in listing.records]
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

    def item_endpoint(record_id: str, request: Request, user: CurrentUser) -> Any:
        store = request.app.state.store
        with store.read() as conn:
            rec = get_record(conn, res, user.scope, _int_id(res, record_id))
        if res.name == "victims":
            record_read(store, user, "victim", record_id)
        return rec

    list_endpoint.__doc__ = SUMMARIES[res.name] + "."
    item_endpoint.__doc__ = f"One record of {res.name}."
    router.add_api_route(
        f"/{res.name}",
        list_endpoint,
        methods=["GET"],
        response_model=page,
        responses=responses,
        name=f"list_{res.name}",
        summary=SUMMARIES[res.name],
    )
    router.add_api_route(
        f"/{res.name}/{{record_id}}",
        item_endpoint,
        methods=["GET"],
        response_model=item,
        responses=errors(*COMMON, 404),
        name=f"show_{res.name}",
        summary=f"One record of {res.name}",
    )


for _res in RESOURCES.values():
    _register(_res)
